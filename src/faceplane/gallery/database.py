"""The SQLite connection under a gallery store: shared by threads, with write transactions that count changes.

One connection per store file, used by every thread under one lock. SQLite runs in WAL mode with foreign
keys on and ``secure_delete`` (an erased row is overwritten, not left in free pages). Every committed write
transaction bumps the ``generation`` value in ``meta`` unless told not to, so a persisted vector index
saved at another generation is known to be stale (:mod:`.index_sync`).

Example:
    >>> database = Database(":memory:")
    >>> _ = database.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    >>> with database.transaction(bump=False) as db:
    ...     _ = db.execute("INSERT INTO meta VALUES ('generation', '0')")
    >>> database.meta("generation")
    '0'
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["Database"]


class Database:
    """A SQLite connection for a store (``path``: the file, or ``":memory:"``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self.db.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA secure_delete = ON")  # erased rows are overwritten, not left in free pages
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; bumps the generation counter when it commits (unless ``bump`` is False)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                if bump:
                    self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                self.db.execute("COMMIT")
            except BaseException:
                # a signal (SIGTERM's SystemExit) may land once COMMIT is done: there is nothing to roll back
                # then, and a failing ROLLBACK would hide the real exception
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one read (no transaction)."""
        with self.lock:
            return self.db.execute(sql, tuple(args)).fetchall()

    def meta(self, key: str) -> str:
        """A value of the ``meta`` table."""
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def close(self) -> None:
        with self.lock:
            self.db.close()
