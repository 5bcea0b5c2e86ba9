"""API keys, users, sessions and the append-only audit log."""

from __future__ import annotations

import sqlite3
import time

import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.governance.accounts import AccountStore, role_at_least
from faceplane.governance.audit import AuditLog


@pytest.mark.parametrize(
    ("role", "needed", "ok"),
    [
        ("admin", "viewer", True),
        ("operator", "operator", True),
        ("viewer", "operator", False),
        ("operator", "admin", False),
    ],
)
def test_role_order(role, needed, ok):
    assert role_at_least(role, needed) is ok


def test_keys_are_hashed_and_revocable(tmp_path):
    store = AccountStore(tmp_path / "a.sqlite")
    key = store.create_key("ci", "operator")
    assert store.authenticate_key(key).role == "operator"
    assert store.authenticate_key(key + "x") is None
    raw = sqlite3.connect(tmp_path / "a.sqlite").execute("SELECT key_hash, prefix FROM api_keys").fetchall()
    assert key not in str(raw) and raw[0][1] == key[:7]  # only a hash and a short prefix are stored
    (listed,) = store.list_keys()
    store.revoke_key(listed.id)
    assert store.authenticate_key(key) is None
    with pytest.raises(NotFoundError):
        store.revoke_key(listed.id)
    with pytest.raises(InvalidArgumentError):
        store.create_key("x", "superuser")


def test_ensure_key_rotates_the_configured_admin_key(tmp_path):
    store = AccountStore(tmp_path / "a.sqlite")
    store.ensure_key("admin", "admin", "first-key-0123456789abcdef")
    store.ensure_key("admin", "admin", "first-key-0123456789abcdef")  # idempotent
    store.ensure_key("admin", "admin", "second-key-0123456789abcdef")
    assert store.authenticate_key("first-key-0123456789abcdef") is None
    assert store.authenticate_key("second-key-0123456789abcdef").role == "admin"


def test_login_sessions_expire_and_log_out(tmp_path):
    store = AccountStore(tmp_path / "a.sqlite")
    store.set_user("ana", "correct horse", "viewer")
    assert store.login("ana", "wrong horse", lifetime_s=60) is None
    assert store.login("bob", "correct horse", lifetime_s=60) is None
    token = store.login("ana", "correct horse", lifetime_s=60)
    assert token and store.session(token).name == "ana"
    store.logout(token)
    assert store.session(token) is None
    short = store.login("ana", "correct horse", lifetime_s=0.05)
    time.sleep(0.1)
    assert store.session(short) is None
    with pytest.raises(InvalidArgumentError):
        store.set_user("ana", "short", "viewer")


def test_audit_log_is_append_only(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite")
    log.record(actor="k1", role="operator", action="identify", target="", ip="10.0.0.1", status=200, detail={"n": 1})
    log.record(actor="k2", role="admin", action="key.create", target="ci", ip="10.0.0.2", status=201)
    assert [e.action for e in log.query()] == ["key.create", "identify"]
    assert [e.actor for e in log.query(action="identify")] == ["k1"]
    for sql in ("DELETE FROM audit", "UPDATE audit SET actor = 'nobody'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            log._db.execute(sql)
    assert len(log.query()) == 2
