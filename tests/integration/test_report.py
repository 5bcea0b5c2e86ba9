"""The compliance report on a real data directory: its numbers are the stores' numbers, its HTML shows
them escaped, it changes nothing it reads, and ``faceplane report`` writes HTML (and PDF with Chromium).

The data directory holds real faces from face_recognition's examples (Obama, Biden, Lin-Manuel
Miranda, Alex Lacamoire; Kit Harington as an unknown face seen by the lobby camera), events of several
kinds and ages with snapshots, liveness evidence, audit entries and accounts.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import io
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

import faceplane.governance.audit
from faceplane.cli import main
from faceplane.config import Settings
from faceplane.events import Event, EventStore
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.records import Consent
from faceplane.governance.accounts import AccountStore
from faceplane.governance.audit import AuditLog
from faceplane.governance.report import SEARCH_ACTIONS, ComplianceReport, build_report, render_html

DAY_S = 86400.0
SCRIPT = "<script>alert(1)</script>"
RETENTION = {
    "events_days": 30,
    "cameras": {"lobby": {"events_days": 7}},
    "collections": {"watchlist": {"events_days": 90}},
}
CONFIG_TOML = """
redact_video = false
[retention]
events_days = 30
[retention.cameras.lobby]
events_days = 7
[retention.collections.watchlist]
events_days = 90
"""


@dataclass(frozen=True)
class Built:
    root: Path
    now_s: float
    secret_key: str  # an API key's secret: must never appear in the report


def _enroll(gallery: Gallery, collection: str, photo: Path, name: str, basis: str | None) -> int:
    report = gallery.enroll(collection, [photo], name=name, consent=Consent(basis) if basis else None)
    assert report.person is not None and report.template_ids, report
    return report.person.id


def _gallery(root: Path, examples: Path, engine, now_s: float) -> None:
    with Gallery.open(root, engine=engine) as gallery:
        for name in ("staff", "visitors", "watchlist"):
            gallery.create_collection(name)
        _enroll(gallery, "staff", examples / "obama.jpg", "Barack Obama", "consent")
        _enroll(gallery, "staff", examples / "biden.jpg", "Joe Biden", "contract")
        _enroll(gallery, "staff", examples / "lin-manuel-miranda.png", "Lin-Manuel Miranda", None)
        _enroll(gallery, "visitors", examples / "alex-lacamoire.png", "Alex Lacamoire", None)
        store = gallery.store
        soon = store.add_person(
            "watchlist", SCRIPT, consent=Consent("legitimate_interest"), expires_at=now_s + 5 * DAY_S
        )
        gallery.enroll("watchlist", [examples / "obama_small.jpg"], person_id=soon.id)
        store.add_person("watchlist", "Long Gone", consent=Consent("legitimate_interest"), expires_at=now_s - DAY_S)
        store.add_person("watchlist", "Far Off", expires_at=now_s + 60 * DAY_S)  # beyond the 30-day window
        stranger = examples / "knn_examples" / "test" / "johnsnow_test1.jpg"
        assert len(gallery.add_unknown_faces(stranger, source="lobby")) == 1


def _events(root: Path, jpeg: bytes, now_s: float) -> None:
    store = EventStore(root / "events")
    made = [  # (kind, camera, age in days, snapshot, extra fields)
        ("line.crossed", "door", 1, True, {"rule": "in", "direction": "in"}),
        ("line.crossed", "door", 40, True, {"rule": "in", "direction": "out"}),  # past the global 30 days
        ("zone.enter", "lobby", 10, False, {"rule": "desk"}),  # past the lobby's 7 days
        # the watchlist's own 90 days apply, not the global 30: kept
        ("watchlist.start", "door", 40, False, {"collection": "watchlist", "person_name": SCRIPT}),
        ("watchlist.start", "door", 20, False, {"collection": "watchlist", "person_name": SCRIPT}),
        ("visitor.new", "lobby", 3, False, {}),
    ]
    for kind, camera, age_days, snapshot, fields in made:
        event = Event.new(kind, camera=camera, t_s=1.0, track_id=1, **fields)
        store.add(dataclasses.replace(event, wall_s=now_s - age_days * DAY_S), jpeg if snapshot else None)
    store.close()
    orphan = root / "events" / "snapshots" / "door" / "orphan.jpg"  # left by a crash: the sweep deletes it
    orphan.write_bytes(jpeg)
    for session, age_days in (("old-session", 40), ("new-session", 1)):
        folder = root / "evidence" / session
        folder.mkdir(parents=True)
        (folder / "challenge-1.jpg").write_bytes(jpeg)
        os.utime(folder, (now_s - age_days * DAY_S,) * 2)


def _audit_and_accounts(root: Path, now_s: float) -> str:
    log = AuditLog(root / "audit.sqlite")
    with pytest.MonkeyPatch.context() as mp:  # one search before the 30-day window
        mp.setattr(faceplane.governance.audit, "time", SimpleNamespace(time=lambda: now_s - 40 * DAY_S))
        log.record(actor="alice", role="operator", action="identify", target="", ip="", status=200)
    calls = [("alice", "identify")] * 3 + [("alice", "verify"), ("kiosk", "identify-live")]
    calls += [("kiosk", "verify-live")] * 2 + [("admin", "person.enroll"), ("admin", "login")]
    for actor, action in calls:
        role = "admin" if actor == "admin" else "operator"
        log.record(actor=actor, role=role, action=action, target="", ip="127.0.0.1", status=200)
    log.close()
    accounts = AccountStore(root / "accounts.sqlite")
    secret = accounts.create_key("ci-viewer", "viewer")
    accounts.set_user("alice", "a-password", "operator")
    accounts.close()
    return secret


@pytest.fixture(scope="module")
def built(tmp_path_factory, examples, engine) -> Built:
    root = tmp_path_factory.mktemp("report") / "data"
    now_s = time.time()
    _gallery(root, examples, engine, now_s)
    _events(root, (examples / "obama_small.jpg").read_bytes(), now_s)
    secret = _audit_and_accounts(root, now_s)
    (root / "server-state.json").write_text('{"watchlists": ["watchlist"], "cameras": []}')  # switched on at run time
    return Built(root, now_s, secret)


def _settings(root: Path, **overrides: object) -> Settings:
    key = base64.b64encode(bytes(range(32))).decode()
    return Settings(data_dir=root, retention=RETENTION, template_key=key, redact_video=False, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report(built) -> ComplianceReport:
    return build_report(_settings(built.root), now_s=built.now_s)


def test_collections_match_the_gallery(built, report):
    with Gallery.open(built.root) as gallery:
        stored = {c.name: c for c in gallery.list_collections()}
        people = {name: gallery.list_people(name) for name in stored}
    assert [c.name for c in report.gallery.collections] == sorted(stored)
    for summary in report.gallery.collections:
        assert (summary.people, summary.templates) == (stored[summary.name].people, stored[summary.name].templates)
        bases = [p.consent.basis for p in people[summary.name] if p.consent and p.consent.basis]
        assert dict(summary.consent) == {b: bases.count(b) for b in set(bases)}
        assert summary.without_basis == len(people[summary.name]) - len(bases)
        assert summary.oldest_enrollment_s == min(p.created_at for p in people[summary.name])
        assert summary.watchlist == (summary.name == "watchlist")
    staff = next(c for c in report.gallery.collections if c.name == "staff")
    assert (staff.people, staff.templates, staff.consent, staff.without_basis) == (
        3,
        3,
        (("consent", 1), ("contract", 1)),
        1,
    )


def test_watchlist_expiries(report, built):
    assert [(e.name, e.collection) for e in report.gallery.expiring] == [(SCRIPT, "watchlist")]
    assert report.gallery.expiring[0].expires_at_s == pytest.approx(built.now_s + 5 * DAY_S)
    assert [e.name for e in report.gallery.expired] == ["Long Gone"]  # "Far Off" is 60 days away


def test_events_files_and_unknown_faces_match_the_stores(report, built):
    store = EventStore(built.root / "events")
    try:
        stored = {k: store.query(kinds=[k], limit=10_000) for k in {e.kind for e in store.query(limit=10_000)}}
    finally:
        store.close()
    assert {k.kind: (k.count, k.oldest_s) for k in report.events.kinds} == {
        kind: (len(events), min(e.wall_s for e in events)) for kind, events in stored.items()
    }
    jpeg_bytes = (built.root / "events" / "snapshots" / "door" / "orphan.jpg").stat().st_size
    assert (report.events.snapshots.files, report.events.snapshots.bytes) == (3, 3 * jpeg_bytes)
    assert report.events.evidence.files == 2
    assert report.gallery.unknown_faces == 1 and report.gallery.oldest_unknown_s is not None


def test_retention_due_is_what_the_retention_job_deletes(report, built, tmp_path):
    due = report.retention.due
    assert (due.events, due.unknown_faces, due.expired_people, due.evidence_sessions, due.orphan_snapshots) == (
        2,
        0,
        1,
        1,
        1,
    )
    from faceplane.governance.retention import RetentionJob

    copy = tmp_path / "copy"
    shutil.copytree(built.root, copy)
    with Gallery.open(copy) as gallery:
        events = EventStore(copy / "events")
        job = RetentionJob(
            gallery=gallery, events=events, config=_settings(copy).retention, evidence_dir=copy / "evidence"
        )
        done = job.run(now_s=built.now_s)
        events.close()
    assert (done.events, done.unknown_faces, done.expired_people, done.evidence_sessions, done.orphan_files) == (
        due.events,
        due.unknown_faces,
        due.expired_people,
        due.evidence_sessions,
        due.orphan_snapshots,
    )


def test_unknown_faces_fall_due_after_the_global_limit(built):
    later = build_report(_settings(built.root), now_s=time.time() + 25 * 3600)  # the default limit is 24 h
    assert later.retention.due.unknown_faces == 1


def test_searches_per_user_over_30_days(report, built):
    log = AuditLog(built.root / "audit.sqlite")
    try:
        recent = log.query(since_s=built.now_s - 30 * DAY_S, limit=10_000)
        total = len(log.query(limit=10_000))
    finally:
        log.close()
    expected: dict[str, dict[str, int]] = {}
    for entry in recent:
        if entry.action in SEARCH_ACTIONS:
            expected.setdefault(entry.actor, {}).setdefault(entry.action, 0)
            expected[entry.actor][entry.action] += 1
    assert {s.actor: dict(s.by_action) for s in report.audit.searches} == expected
    assert [(s.actor, s.total) for s in report.audit.searches] == [("alice", 4), ("kiosk", 3)]
    assert report.audit.entries == total == 10


def test_accounts_and_protection(report):
    assert {(a.name, a.kind, a.role, a.active) for a in report.accounts} == {
        ("alice", "user", "operator", True),
        ("ci-viewer", "key", "viewer", True),
    }
    p = report.protection
    assert (p.redact_snapshots, p.redact_video, p.require_consent) == (True, False, False)
    assert (p.templates_encrypted, p.gallery_encrypted) == (True, False)  # the key is set, the gallery opened without


def test_html_shows_the_numbers_escaped_and_no_secret(report, built):
    page = render_html(report)
    assert page.startswith("<!doctype html>") and "<script" not in page and "<link" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>staff</td><td>3</td><td>3</td><td>no</td><td>consent: 1, contract: 1</td><td>1</td>" in page
    assert "<td>watchlist</td><td>3</td><td>1</td><td>yes</td><td>legitimate_interest: 2</td><td>1</td>" in page
    assert "<td>alice</td><td>operator</td><td>identify: 3, verify: 1</td><td>4</td>" in page
    assert "<td>line.crossed</td><td>2</td>" in page and "<td>Long Gone</td>" in page
    assert "90 days" in page and "The most specific limit applies" in page
    assert "<td>Events (with their snapshots)</td><td>2</td>" in page
    assert "<td>Face templates encrypted at rest (template_key set)</td><td>yes</td>" in page
    assert "template_key is set, but the gallery still holds clear templates" in page
    assert built.secret_key not in page and "scrypt$" not in page
    assert html.escape(str(built.root.resolve())) in page


def _fingerprint(root: Path) -> dict[str, str]:
    """Every file's SHA-256, except SQLite's shared-memory and write-ahead sidecars."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_the_report_changes_nothing(built, tmp_path):
    before = _fingerprint(built.root)
    build_report(_settings(built.root), now_s=built.now_s)
    assert main(["report", "--data-dir", str(built.root), "--out", str(tmp_path / "r.html")], out=io.StringIO()) == 0
    assert _fingerprint(built.root) == before


def test_cli_writes_the_html(built, tmp_path):
    config = tmp_path / "faceplane.toml"
    config.write_text(CONFIG_TOML)
    out, text = tmp_path / "report.html", io.StringIO()
    code = main(["report", "--config", str(config), "--data-dir", str(built.root), "--out", str(out)], out=text)
    assert code == 0 and text.getvalue() == f"wrote {out}\n"
    page = out.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<td>lobby</td><td>7 days</td>" in page
    assert "<td>Faces blurred in annotated video (except watchlist matches)</td><td>no</td>" in page


def test_a_missing_data_dir_exits_2_and_creates_nothing(tmp_path, capsys):
    missing, out = tmp_path / "nowhere", tmp_path / "report.html"
    assert main(["report", "--data-dir", str(missing), "--out", str(out)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no data directory" in err and str(missing) in err
    assert not missing.exists() and not out.exists()


def test_an_unreadable_database_exits_2(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "audit.sqlite").write_bytes(b"not a database, " * 100)
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(tmp_path / "data"), "--out", str(out)], out=io.StringIO()) == 2
    assert "cannot read" in capsys.readouterr().err and not out.exists()


def test_pdf_without_chromium_exits_2_and_says_html_works(built, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FACEPLANE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser here
    pdf = tmp_path / "report.pdf"
    assert main(["report", "--data-dir", str(built.root), "--pdf", str(pdf)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Chromium" in err and "HTML report works" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
@pytest.mark.slow
def test_pdf_is_printed_with_chromium(built, tmp_path):
    if not any(shutil.which(n) for n in (os.environ.get("FACEPLANE_CHROMIUM", ""), "chromium", "google-chrome") if n):
        pytest.fail("no Chromium (scripts/test apt-installs it; or set FACEPLANE_CHROMIUM)")
    pdf, text = tmp_path / "report.pdf", io.StringIO()
    assert main(["report", "--data-dir", str(built.root), "--pdf", str(pdf)], out=text) == 0
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 1000
    assert text.getvalue() == f"wrote {pdf}\n" and sorted(tmp_path.iterdir()) == [pdf]
