"""Through the API: an erased person's id is never given to the next person, in a gallery made before the fix too.

The data folder starts with a gallery file written by the previous schema (people 1 and 2, ids that SQLite
would hand out again); the server upgrades it when it opens it. Erasing the newest person and enrolling
someone else must give a new id, and the audit log must never name two people with one id.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from faceplane.config import DEV_ADMIN_KEY
from faceplane.server.app import create_app

API = "/api/v1"

# collections and people as the previous faceplane created them (no AUTOINCREMENT); other tables: created on open
_OLD_GALLERY = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    external_id TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    consent_basis TEXT, consent_source TEXT, consent_date TEXT,
    expires_at REAL,
    created_at REAL NOT NULL,
    UNIQUE (collection_id, external_id)
);
ALTER TABLE people ADD COLUMN purpose TEXT;
INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '3'), ('embedding_model', 'mobilefacenet@1');
INSERT INTO collections (id, name, created_at) VALUES (1, 'staff', 0);
INSERT INTO people (id, collection_id, display_name, created_at) VALUES (1, 1, 'Ada', 0), (2, 1, 'Bob', 0);
"""


def _enroll(client: TestClient, headers: dict[str, str], photo: Path, name: str) -> dict:
    files = {"images": (photo.name, photo.read_bytes(), "image/jpeg")}
    enrolled = client.post(f"{API}/collections/staff/people", files=files, data={"display_name": name}, headers=headers)
    assert enrolled.status_code == 201, enrolled.text
    return enrolled.json()


def _targets(client: TestClient, action: str) -> list[str]:
    entries = client.get(f"{API}/audit", params={"action": action}, headers={"X-API-Key": DEV_ADMIN_KEY})
    assert entries.status_code == 200, entries.text
    return [e["target"] for e in entries.json()]


def test_an_erased_persons_id_is_not_given_to_the_next_one(tmp_path: Path, make_services, examples: Path):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "faceplane.db") as db:
        db.executescript(_OLD_GALLERY)
    with make_services(data) as services, TestClient(create_app(services), raise_server_exceptions=False) as client:
        operator = {"X-API-Key": services.accounts.create_key("ops", "operator")}
        assert client.delete(f"{API}/people/2", headers=operator).status_code == 200  # Bob, the newest, erased
        biden = _enroll(client, operator, examples / "biden.jpg", "Joe Biden")
        assert biden["person"]["id"] == 3  # not Bob's 2
        assert client.delete(f"{API}/people/3", headers=operator).status_code == 200
        obama = _enroll(client, operator, examples / "obama.jpg", "Barack Obama")
        assert obama["person"]["id"] == 4
        assert set(obama["template_ids"]).isdisjoint(biden["template_ids"])
        assert client.get(f"{API}/people/2", headers=operator).status_code == 404
        assert client.get(f"{API}/people/3", headers=operator).status_code == 404
        assert client.get(f"{API}/people/4", headers=operator).json()["name"] == "Barack Obama"
        assert [p["id"] for p in client.get(f"{API}/collections/staff/people", headers=operator).json()] == [1, 4]
        # newest first: every enrolled id is one no erased person had
        assert _targets(client, "person.enroll") == ["staff/4", "staff/3"]
        assert _targets(client, "person.erase") == ["3", "2"]
