"""Template protection at rest in a gallery store: sealed cells, the key check, encrypting a clear store.

Opened with a key, a store encrypts every embedding and thumbnail of templates, unknown faces and
"not this person" corrections (AES-256-GCM, see :mod:`faceplane.gallery.crypto`): :func:`seal` binds a
cell to its table, column and row (a blob copied elsewhere does not decrypt), :func:`reveal` opens it.
A key-check value in ``meta`` tells "no key" and "wrong key" apart from the right key when the store
opens (:func:`unlock`). A clear store opened with a key is encrypted in place, once, in one transaction,
then VACUUMed so no plaintext stays in free pages; there is no way back short of an export and an
import into a clear gallery.
"""

from __future__ import annotations

import logging
import sqlite3

from ..errors import InvalidArgumentError
from .crypto import TemplateCipher
from .database import Database

__all__ = ["KEY_CHECK", "reveal", "seal", "unlock"]

logger = logging.getLogger(__name__)

KEY_CHECK = "template_key_check"  # meta key: present iff embeddings and thumbnails are encrypted
_SEALED_TABLES = ("templates", "unknown_faces", "negatives")  # their embedding and thumbnail columns


def seal(cipher: TemplateCipher | None, column: str, row_id: int, value: bytes | None) -> bytes | None:
    """``value`` encrypted for the cell ``column`` ("table/column") of row ``row_id``; as is without a key."""
    if cipher is None or value is None:
        return value
    return cipher.seal(bytes(value), f"faceplane/{column}/{int(row_id)}".encode())


def reveal(cipher: TemplateCipher | None, column: str, row_id: int, value: bytes) -> bytes:
    """The plaintext of a cell written by :func:`seal` (InvalidArgumentError if it was moved or altered)."""
    if cipher is None:
        return bytes(value)
    return cipher.reveal(value, f"faceplane/{column}/{int(row_id)}".encode())


def _wrong_key(path: str) -> str:
    return f"{path}: wrong template key: this gallery's templates were encrypted with another key"


def unlock(database: Database, key: bytes | None) -> TemplateCipher | None:
    """Check ``key`` against the key-check value in ``meta``; a clear store given a key is encrypted.

    Returns:
        The cipher of the store's cells; None for a clear store opened without a key.

    Raises:
        InvalidArgumentError: an encrypted store and no key, or another key.
    """
    rows = database.query("SELECT value FROM meta WHERE key = ?", (KEY_CHECK,))
    if key is None:
        if rows:
            raise InvalidArgumentError(
                f"{database.path}: the face templates are encrypted; open it with its template key "
                "(setting template_key, FACEPLANE_TEMPLATE_KEY)"
            )
        return None
    cipher = TemplateCipher(key)
    if not rows:
        _encrypt_existing(database, cipher)
    elif not cipher.matches(str(rows[0][0])):
        raise InvalidArgumentError(_wrong_key(database.path))
    return cipher


def _encrypt_existing(database: Database, cipher: TemplateCipher) -> None:
    """Encrypt a clear store's embeddings and thumbnails in one transaction, then drop the plaintext pages."""
    rows_done = 0
    with database.transaction() as db:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (KEY_CHECK,)).fetchone()
        if row is not None:  # another process encrypted it since we looked
            if not cipher.matches(str(row[0])):
                raise InvalidArgumentError(_wrong_key(database.path))
            return
        for table in _SEALED_TABLES:
            last = 0
            sql = f"SELECT id, embedding, thumbnail FROM {table} WHERE id > ? ORDER BY id LIMIT 1000"
            while batch := db.execute(sql, (last,)).fetchall():
                db.executemany(
                    f"UPDATE {table} SET embedding = ?, thumbnail = ? WHERE id = ?",
                    [
                        (
                            seal(cipher, f"{table}/embedding", r[0], r[1]),
                            seal(cipher, f"{table}/thumbnail", r[0], r[2]),
                            r[0],
                        )
                        for r in batch
                    ],
                )
                last, rows_done = int(batch[-1][0]), rows_done + len(batch)
        db.execute("INSERT INTO meta VALUES (?, ?)", (KEY_CHECK, cipher.check_value()))
    if not rows_done:
        logger.info("%s: templates will be encrypted at rest with the template key", database.path)
        return
    logger.warning("%s: encrypted embeddings and thumbnails of %d rows with the template key", database.path, rows_done)
    if database.path != ":memory:":
        _drop_free_pages(database)


def _drop_free_pages(database: Database) -> None:
    """VACUUM and empty the WAL, so the plaintext just overwritten stays in no free page or log frame."""
    with database.lock:
        try:
            database.db.execute("VACUUM")
            busy = database.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError as exc:
            busy, reason = 1, str(exc)
        else:
            reason = "another connection is reading"
    if busy:
        logger.warning("%s: could not VACUUM (%s); plaintext may remain in free pages", database.path, reason)
