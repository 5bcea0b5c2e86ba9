"""Row ids that are never handed out twice: SQLite ``AUTOINCREMENT``, and the upgrade of tables made without it.

Without ``AUTOINCREMENT`` SQLite gives a new row the largest rowid + 1, so deleting the newest row (erasing
person 7) gives its id to the next row: an audit entry, an event or a webhook consumer that says "person 7"
then names someone else. With ``AUTOINCREMENT`` SQLite records the largest id ever used in
``sqlite_sequence`` and never hands it out again, whatever is deleted.

SQLite cannot add ``AUTOINCREMENT`` to an existing table, so :func:`upgrade_to_autoincrement` rebuilds one
following SQLite's recipe for schema changes (https://www.sqlite.org/lang_altertable.html#otheralter):
foreign keys off (or dropping a parent table would cascade-delete its children), then in one transaction:
create the new table from the stored definition plus ``AUTOINCREMENT``, copy every row with its id, drop
the old table, rename the new one, recreate the old one's indexes and triggers, check that foreign keys
are as they were, commit. A crash or an error before the commit leaves the old table as it was.

What cannot be recovered: ``sqlite_sequence`` starts at the largest id present. An id deleted *before*
the upgrade while it was the largest was recorded nowhere and may be handed out once more.

Example:
    >>> import sqlite3
    >>> db = sqlite3.connect(":memory:", isolation_level=None)
    >>> _ = db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    >>> _ = db.execute("INSERT INTO t (v) VALUES ('a'), ('b')")
    >>> upgrade_to_autoincrement(db, ["t"])
    {'t': 2}
    >>> _ = db.execute("DELETE FROM t WHERE id = 2")
    >>> next_id(db, "t")
    3
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence

from .errors import InvalidArgumentError

__all__ = ["has_autoincrement", "next_id", "upgrade_to_autoincrement"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_KEY = re.compile(r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b(?!\s+AUTOINCREMENT)", re.IGNORECASE)
_AUTOINCREMENT = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)


def _definition(db: sqlite3.Connection, table: str) -> str:
    """The stored ``CREATE TABLE`` statement of ``table`` (columns added later included)."""
    if not _NAME.match(table):
        raise InvalidArgumentError(f"not a table name: {table!r}")
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if row is None:
        raise InvalidArgumentError(f"no table {table!r} in this database")
    return str(row[0])


def has_autoincrement(db: sqlite3.Connection, table: str) -> bool:
    """Whether ``table``'s integer primary key is ``AUTOINCREMENT`` (its ids are never reused)."""
    return _AUTOINCREMENT.search(_definition(db, table)) is not None


def next_id(db: sqlite3.Connection, table: str) -> int:
    """The id SQLite would give the next row of ``table`` (an ``AUTOINCREMENT`` table): past every id ever used.

    For callers that must know a row's id before inserting it (encrypted cells are bound to their row id);
    inserting that id explicitly advances ``sqlite_sequence`` as an implicit one would. Call it inside the
    write transaction that inserts.
    """
    if not has_autoincrement(db, table):
        raise InvalidArgumentError(f"table {table!r} reuses ids: upgrade it with upgrade_to_autoincrement first")
    row = db.execute(
        f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), COALESCE(MAX(id), 0)) FROM {table}",
        (table,),
    ).fetchone()
    return int(row[0]) + 1


def upgrade_to_autoincrement(db: sqlite3.Connection, tables: Sequence[str]) -> dict[str, int]:
    """Rebuild those of ``tables`` whose ``id INTEGER PRIMARY KEY`` lacks ``AUTOINCREMENT``, in one transaction.

    Every row keeps its id and every column; the table's indexes and triggers are recreated, foreign keys
    that point at it keep working. ``db`` must be in autocommit mode (``isolation_level=None``) and not
    inside a transaction: ``PRAGMA foreign_keys`` cannot change within one.

    Returns:
        table -> rows copied, for each table rebuilt (empty when every table already had AUTOINCREMENT).

    Raises:
        InvalidArgumentError: a table has no ``id INTEGER PRIMARY KEY`` column, or the rebuild would change
            which rows break a foreign key (nothing is changed then).
    """
    if all(has_autoincrement(db, t) for t in tables):
        return {}
    if db.in_transaction:
        raise InvalidArgumentError("upgrade_to_autoincrement must run outside a transaction")
    enforced = bool(db.execute("PRAGMA foreign_keys").fetchone()[0])
    db.execute("PRAGMA foreign_keys = OFF")  # else DROP TABLE would delete the rows that refer to it
    try:
        return _rebuild_all(db, tables)
    finally:
        if enforced:
            db.execute("PRAGMA foreign_keys = ON")


def _rebuild_all(db: sqlite3.Connection, tables: Sequence[str]) -> dict[str, int]:
    db.execute("BEGIN IMMEDIATE")
    try:
        before = db.execute("PRAGMA foreign_key_check").fetchall()
        # checked again under the write lock: another process may have upgraded the store meanwhile
        copied = {t: _rebuild(db, t) for t in tables if not has_autoincrement(db, t)}
        if db.execute("PRAGMA foreign_key_check").fetchall() != before:
            raise InvalidArgumentError(f"upgrading {sorted(copied)} to AUTOINCREMENT would break foreign keys")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    for table, rows in copied.items():
        top = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        logger.warning(
            "table %s upgraded so that ids are never reused (%d rows kept; new ids start after %s)",
            table,
            rows,
            top[0] if top else 0,
        )
    return copied


def _rebuild(db: sqlite3.Connection, table: str) -> int:
    """Recreate ``table`` with AUTOINCREMENT inside the caller's transaction; returns the rows copied."""
    definition, found = _KEY.subn("id INTEGER PRIMARY KEY AUTOINCREMENT", _definition(db, table))
    if found != 1:
        raise InvalidArgumentError(f"table {table!r} has no 'id INTEGER PRIMARY KEY' column to upgrade")
    extras = [
        str(r[0])
        for r in db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            (table,),
        )
    ]
    staging = f"_{table}_autoincrement"
    db.execute(f"CREATE TABLE {staging} {definition[definition.index('(') :]}")
    rows = db.execute(f"INSERT INTO {staging} SELECT * FROM {table}").rowcount  # same columns, same order
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {staging} RENAME TO {table}")
    for statement in extras:
        db.execute(statement)
    return int(rows)
