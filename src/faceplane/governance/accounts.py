"""Who may do what: API keys and console users with roles, and console sessions.

Roles are ordered: ``viewer`` (watch cameras, events, people) < ``operator`` (recognise, enroll,
manage cameras and watchlists) < ``admin`` (keys, users, the audit log, erasure). Secrets are never
stored: API keys as SHA-256 (they are 190-bit random strings), passwords with scrypt and a salt,
session tokens as SHA-256.

Example:
    >>> store = AccountStore(":memory:")
    >>> key = store.create_key("ci", "viewer")
    >>> store.authenticate_key(key).role
    'viewer'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .._sqlite_ids import upgrade_to_autoincrement
from ..errors import InvalidArgumentError, NotFoundError

__all__ = ["ROLES", "AccountStore", "ApiKey", "Principal", "role_at_least"]

ROLES = ("viewer", "operator", "admin")


def role_at_least(role: str, needed: str) -> bool:
    """True when ``role`` includes the rights of ``needed``."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Principal:
    """The caller of a request: an API key or a logged-in console user."""

    name: str
    role: str
    kind: str  # "key" | "user"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: str
    prefix: str  # first characters of the key, to recognise it in lists
    created_at: float
    revoked_at: float | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL, prefix TEXT NOT NULL,
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


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, _ = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt_hex)), stored)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidArgumentError(f"role must be one of {ROLES}, got {role!r}")


class AccountStore:
    """API keys, users and sessions in SQLite (``accounts.sqlite`` in the data directory)."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        upgrade_to_autoincrement(self._db, ["api_keys"])  # stores made when key ids could be reused: rebuilt once
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # -- API keys ------------------------------------------------------------------------------
    def create_key(self, name: str, role: str, *, key: str | None = None) -> str:
        """A new API key for ``role``; the only time the key itself is seen."""
        _check_role(role)
        if not name.strip():
            raise InvalidArgumentError("an API key needs a name")
        key = key or "fp_" + secrets.token_urlsafe(24)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (name.strip(), role, key[:7], _sha256(key), time.time()),
            )
        return key

    def ensure_key(self, name: str, role: str, key: str) -> None:
        """Make ``key`` the one valid key called ``name`` (bootstrap of the configured admin key)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (_sha256(key),)
            ).fetchone()
            if row:
                return
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
        self.create_key(name, role, key=key)

    def authenticate_key(self, key: str) -> Principal | None:
        with self._lock:
            row = self._db.execute(
                "SELECT name, role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (_sha256(key),)
            ).fetchone()
        return Principal(row[0], row[1], "key") if row else None

    def list_keys(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id"
            ).fetchall()
        return [ApiKey(*r) for r in rows]

    def revoke_key(self, key_id: int) -> None:
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), key_id)
            )
        if cur.rowcount == 0:
            raise NotFoundError(f"no active API key with id {key_id}")

    # -- users and sessions ----------------------------------------------------------------------
    def set_user(self, username: str, password: str, role: str) -> None:
        """Create a console user or reset their password and role."""
        _check_role(role)
        if len(password) < 8:
            raise InvalidArgumentError("a password needs at least 8 characters")
        with self._lock:
            self._db.execute(
                "INSERT INTO users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
                (username, role, _hash_password(password), time.time()),
            )

    def list_users(self) -> list[tuple[str, str, float]]:
        """``(username, role, created_at)`` of every console user."""
        with self._lock:
            return self._db.execute("SELECT username, role, created_at FROM users ORDER BY username").fetchall()

    def delete_user(self, username: str) -> None:
        """Remove a console user and end their sessions."""
        with self._lock:
            cur = self._db.execute("DELETE FROM users WHERE username = ?", (username,))
        if cur.rowcount == 0:
            raise NotFoundError(f"no user {username!r}")

    def login(self, username: str, password: str, *, lifetime_s: float) -> str | None:
        """A new session token for good credentials, else None (same time either way)."""
        with self._lock:
            row = self._db.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        stored = row[0] if row else _hash_password("not a user")
        if not _check_password(password, stored) or row is None:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            self._db.execute(
                "INSERT INTO sessions (token_hash, username, expires_at) VALUES (?, ?, ?)",
                (_sha256(token), username, time.time() + lifetime_s),
            )
        return token

    def session(self, token: str) -> Principal | None:
        with self._lock:
            row = self._db.execute(
                "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.token_hash = ? AND s.expires_at > ?",
                (_sha256(token), time.time()),
            ).fetchone()
        return Principal(row[0], row[1], "user") if row else None

    def logout(self, token: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_sha256(token),))
