"""The audit log: every search and every change to people, watchlists, cameras and accounts.

Append-only: SQLite triggers refuse UPDATE and DELETE on the table, so neither a bug nor a caller
of this module can rewrite history (someone with the file can, which is what file permissions and
off-site copies are for).

Example:
    >>> log = AuditLog(":memory:")
    >>> log.record(actor="ops-key", role="operator", action="identify", target="", ip="127.0.0.1", status=200)
    >>> [e.action for e in log.query()]
    ['identify']
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArgumentError

__all__ = ["AuditEntry", "AuditLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, ip TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    """One audited action: who (actor, role), when (ts, Unix s), what (action, target), from where (ip),
    the outcome (HTTP-style status) and a short JSON detail (e.g. how many faces, who matched)."""

    id: int
    ts: float
    actor: str
    role: str
    action: str
    target: str
    ip: str
    status: int
    detail: str


class AuditLog:
    """Append-only audit entries in SQLite (``audit.sqlite`` in the data directory)."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def record(
        self, *, actor: str, role: str, action: str, target: str, ip: str, status: int, detail: object = None
    ) -> None:
        text = json.dumps(detail, separators=(",", ":"), default=str)[:2000] if detail is not None else ""
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (ts, actor, role, action, target, ip, status, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), actor, role, action, target, ip, int(status), text),
            )

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since_s: float | None = None,
        until_s: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries newest first."""
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidArgumentError(f"limit must be in 1..10000 and offset >= 0, got {limit}, {offset}")
        clauses, args = [], []
        for clause, value in (("actor = ?", actor), ("action = ?", action), ("ts >= ?", since_s), ("ts < ?", until_s)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, ts, actor, role, action, target, ip, status, detail FROM audit {where} "
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [AuditEntry(*r) for r in rows]
