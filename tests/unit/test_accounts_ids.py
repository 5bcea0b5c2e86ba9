"""API key ids are never handed out twice, also in an accounts file written by the previous schema."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from faceplane.governance.accounts import AccountStore, Principal

# The accounts schema before key ids were AUTOINCREMENT (git show HEAD~:src/faceplane/accounts.py)
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    expires_at REAL NOT NULL
);
"""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _drop_newest_key(path: Path) -> int:
    """Delete the newest key row (faceplane only revokes keys; an operator may still clean the table up)."""
    with sqlite3.connect(path) as db:
        newest = int(db.execute("SELECT MAX(id) FROM api_keys").fetchone()[0])
        db.execute("DELETE FROM api_keys WHERE id = ?", (newest,))
    return newest


def test_a_deleted_newest_key_id_is_not_given_to_the_next_key(tmp_path: Path):
    path = tmp_path / "accounts.sqlite"
    store = AccountStore(path)
    store.create_key("ci", "viewer")
    store.create_key("ops", "operator")
    store.close()
    newest = _drop_newest_key(path)
    store = AccountStore(path)
    store.create_key("ops-2", "operator")
    assert [(k.id, k.name) for k in store.list_keys()] == [(1, "ci"), (newest + 1, "ops-2")]
    store.close()


def test_an_old_accounts_file_is_upgraded_and_keeps_keys_users_and_sessions(tmp_path: Path):
    path = tmp_path / "accounts.sqlite"
    with sqlite3.connect(path) as db:  # as the previous faceplane wrote it: keys 1-3, user ada with a session
        db.executescript(OLD_SCHEMA)
        db.executemany(
            "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) VALUES (?, 'viewer', 'fp_', ?, 0)",
            [(f"k{i}", _sha256(f"fp_key{i}")) for i in range(3)],
        )
        db.execute("INSERT INTO users VALUES ('ada', 'admin', 'scrypt$00$00', 0)")
        db.execute("INSERT INTO sessions VALUES (?, 'ada', ?)", (_sha256("token"), time.time() + 3600))

    AccountStore(path).close()  # upgraded on open
    with sqlite3.connect(path) as db:
        assert "AUTOINCREMENT" in db.execute("SELECT sql FROM sqlite_master WHERE name = 'api_keys'").fetchone()[0]
    assert _drop_newest_key(path) == 3
    store = AccountStore(path)
    assert [k.id for k in store.list_keys()] == [1, 2]
    assert store.authenticate_key("fp_key1") is not None and store.authenticate_key("fp_key2") is None
    assert store.session("token") == Principal("ada", "admin", "user")  # users and sessions untouched
    store.create_key("k3", "viewer")
    assert [k.id for k in store.list_keys()] == [1, 2, 4]
    store.delete_user("ada")
    assert store.session("token") is None  # the sessions -> users cascade still holds
    store.close()
