"""What the compliance report holds, and how it is read from a data directory without changing it.

:func:`build_report` reads a data directory into a :class:`ComplianceReport`;
:func:`~faceplane.governance.report.render.render_html` prints it.

The stores are read through read-only SQLite connections (``mode=ro``), not through
:class:`~faceplane.gallery.store.SqliteStore` and its siblings: opening those creates missing folders,
files and tables and bumps the gallery's generation counter, and a report must change nothing it reports
on. Read-only connections also run beside a live server (WAL mode). The queries below therefore name
the stores' tables and columns; a schema change there must be mirrored here (the tests build real stores).

Example:
    >>> from faceplane.config import load_settings
    >>> report = build_report(load_settings(data_dir="/var/lib/faceplane"))  # doctest: +SKIP
    >>> report.audit.entries  # doctest: +SKIP
    12
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import RetentionConfig, Settings
from ...errors import FaceplaneError, NotFoundError

#: Audit actions that look someone up by their face (1:N and 1:1, with or without liveness).
SEARCH_ACTIONS = ("identify", "verify", "identify-live", "verify-live")
#: Watchlist entries expiring within this many days are listed.
EXPIRY_WINDOW_DAYS = 30.0
#: Searches are counted over this many days.
SEARCH_WINDOW_DAYS = 30.0
_DAY_S = 86400.0


# -- what the report holds -------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionSummary:
    """One collection: how many people and templates, on what legal basis, since when."""

    name: str
    people: int
    templates: int
    watchlist: bool
    consent: tuple[tuple[str, int], ...]  # (legal basis, people), most people first
    without_basis: int  # people recorded with no legal basis
    oldest_enrollment_s: float | None  # Unix s; None: nobody enrolled


@dataclass(frozen=True)
class WatchlistEntry:
    """A person of a watchlist collection with an expiry date."""

    person_id: int
    name: str
    collection: str
    expires_at_s: float  # Unix s


@dataclass(frozen=True)
class GallerySummary:
    """The gallery: collections, watchlist expiries and unknown faces kept for clustering."""

    collections: tuple[CollectionSummary, ...]
    expiring: tuple[WatchlistEntry, ...]  # within EXPIRY_WINDOW_DAYS, soonest first
    expired: tuple[WatchlistEntry, ...]  # expiry passed, not deleted yet
    unknown_faces: int
    oldest_unknown_s: float | None


@dataclass(frozen=True)
class KindCount:
    """Stored events of one kind."""

    kind: str
    count: int
    oldest_s: float  # wall time of the oldest, Unix s


@dataclass(frozen=True)
class FileSummary:
    """Files in one folder tree (snapshots, liveness evidence)."""

    files: int
    bytes: int
    oldest_s: float | None  # modification time of the oldest file, Unix s


@dataclass(frozen=True)
class EventSummary:
    kinds: tuple[KindCount, ...]
    snapshots: FileSummary
    evidence: FileSummary


@dataclass(frozen=True)
class RetentionRule:
    """One row of the retention settings; None: the global limit applies."""

    scope: str  # "global", "camera" or "collection"
    name: str  # camera id or collection name; "" for the global row
    events_days: float | None
    unknown_faces_hours: float | None
    evidence_days: float | None


@dataclass(frozen=True)
class RetentionDue:
    """Records past their limit now: what the retention job would delete on its next run."""

    events: int  # with their snapshot files
    unknown_faces: int
    expired_people: int  # any collection, by ``expires_at``
    evidence_sessions: int  # liveness evidence folders
    orphan_snapshots: int  # snapshot files no event names (left by a crash)


@dataclass(frozen=True)
class RetentionSummary:
    rules: tuple[RetentionRule, ...]
    interval_minutes: float
    due: RetentionDue


@dataclass(frozen=True)
class SearchCount:
    """Audited face searches of one caller over SEARCH_WINDOW_DAYS."""

    actor: str
    role: str
    by_action: tuple[tuple[str, int], ...]  # in SEARCH_ACTIONS order, only actions used
    total: int


@dataclass(frozen=True)
class AuditSummary:
    searches: tuple[SearchCount, ...]  # most searches first
    since_s: float  # start of the search window, Unix s
    entries: int  # every audit entry ever
    oldest_s: float | None


@dataclass(frozen=True)
class Account:
    """An API key or a console user: names and roles only, never a secret or a hash."""

    name: str
    role: str
    kind: str  # "key" or "user"
    active: bool  # False: a revoked key


@dataclass(frozen=True)
class Protection:
    redact_snapshots: bool
    redact_video: bool
    templates_encrypted: bool  # ``template_key`` is set
    gallery_encrypted: bool  # the gallery file says its templates are encrypted (the server encrypts at start)
    require_consent: bool


@dataclass(frozen=True)
class ComplianceReport:
    """Everything the report shows; :func:`~faceplane.governance.report.render.render_html` prints it."""

    generated_at_s: float
    data_dir: str
    gallery: GallerySummary
    events: EventSummary
    retention: RetentionSummary
    audit: AuditSummary
    accounts: tuple[Account, ...]
    protection: Protection


# -- reading the data directory ----------------------------------------------------------------------


class _ReadOnly:
    """Read-only queries on one SQLite file; a file that does not exist (yet) reads as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = None
        if path.is_file():
            self._db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30.0)

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query.

        Raises:
            FaceplaneError: the file is not a faceplane database (or not one this version reads).
        """
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FaceplaneError(f"cannot read {self.path}: {exc}") from None

    def value(self, sql: str, args: Sequence[object] = ()) -> Any:
        rows = self.rows(sql, args)
        return rows[0][0] if rows else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def build_report(settings: Settings, *, watchlists: Sequence[str] = (), now_s: float | None = None) -> ComplianceReport:
    """Read ``settings.data_dir`` (without changing anything in it) into a :class:`ComplianceReport`.

    Args:
        settings: the server settings (data dir, retention, redaction, template key, watchlists).
        watchlists: watchlist collections besides ``settings.watchlists`` and those the server
            persisted in ``server-state.json`` (a running server passes its current set).
        now_s: the report's time, Unix s (default: now).

    Raises:
        NotFoundError: ``settings.data_dir`` is not a directory (nothing is created).
        FaceplaneError: a database in it cannot be read (not SQLite, or another schema).
    """
    root = Path(settings.data_dir)
    if not root.is_dir():
        raise NotFoundError(f"no data directory {str(root)!r}: give --data-dir or data_dir in the config")
    now = time.time() if now_s is None else float(now_s)
    lists = _watchlists(root, [*settings.watchlists, *watchlists])
    files = ("faceplane.db", "events/events.sqlite", "audit.sqlite", "accounts.sqlite")
    dbs = [_ReadOnly(root / name) for name in files]
    gallery, events, audit, accounts = dbs
    try:
        evidence = _file_stats(root / "evidence")
        snapshots = _summary(_file_stats(root / "events" / "snapshots"))
        return ComplianceReport(
            generated_at_s=now,
            data_dir=str(root.resolve()),
            gallery=_gallery(gallery, lists, now),
            events=EventSummary(_event_kinds(events), snapshots, _summary(evidence)),
            retention=_retention(settings.retention, gallery, events, root, now),
            audit=_audit(audit, now - SEARCH_WINDOW_DAYS * _DAY_S),
            accounts=_accounts(accounts),
            protection=Protection(
                redact_snapshots=settings.redact_snapshots,
                redact_video=settings.redact_video,
                templates_encrypted=settings.template_key is not None,
                gallery_encrypted=_gallery_encrypted(gallery),
                require_consent=settings.require_consent,
            ),
        )
    finally:
        for db in dbs:
            db.close()


def _watchlists(root: Path, configured: Iterable[str]) -> set[str]:
    """Configured watchlists plus those switched on at run time (``server-state.json``)."""
    names = set(configured)
    try:
        state = json.loads((root / "server-state.json").read_text(encoding="utf-8"))
        names.update(str(n) for n in state.get("watchlists", []))
    except (OSError, ValueError, AttributeError, TypeError):
        pass  # no server has run here yet, or a broken file: the configured ones still count
    return names


def _gallery(db: _ReadOnly, watchlists: set[str], now_s: float) -> GallerySummary:
    rows = db.rows(
        "SELECT c.name, COUNT(p.id), MIN(p.created_at), (SELECT COUNT(*) FROM templates t JOIN people q "
        "ON t.person_id = q.id WHERE q.collection_id = c.id) FROM collections c "
        "LEFT JOIN people p ON p.collection_id = c.id GROUP BY c.id ORDER BY c.name"
    )
    bases: dict[str, list[tuple[str, int]]] = {}
    for name, basis, count in db.rows(
        "SELECT c.name, NULLIF(TRIM(p.consent_basis), ''), COUNT(*) FROM people p "
        "JOIN collections c ON p.collection_id = c.id GROUP BY 1, 2 ORDER BY 3 DESC, 2"
    ):
        bases.setdefault(name, []).append((basis, int(count)))
    collections = tuple(
        CollectionSummary(
            name=name,
            people=int(people),
            templates=int(templates),
            watchlist=name in watchlists,
            consent=tuple((b, n) for b, n in bases.get(name, []) if b is not None),
            without_basis=sum(n for b, n in bases.get(name, []) if b is None),
            oldest_enrollment_s=oldest,
        )
        for name, people, oldest, templates in rows
    )
    entries = _expiring(db, sorted(watchlists), now_s + EXPIRY_WINDOW_DAYS * _DAY_S)
    ((count, oldest_unknown),) = db.rows("SELECT COUNT(*), MIN(seen_at) FROM unknown_faces") or [(0, None)]
    return GallerySummary(
        collections=collections,
        expiring=tuple(e for e in entries if e.expires_at_s > now_s),
        expired=tuple(e for e in entries if e.expires_at_s <= now_s),
        unknown_faces=int(count),
        oldest_unknown_s=oldest_unknown,
    )


def _gallery_encrypted(db: _ReadOnly) -> bool:
    # the key-check value SqliteStore keeps in ``meta`` exactly while templates are encrypted (its _KEY_CHECK)
    return bool(db.rows("SELECT 1 FROM meta WHERE key = 'template_key_check'"))


def _expiring(db: _ReadOnly, watchlists: Sequence[str], until_s: float) -> list[WatchlistEntry]:
    """People of these collections whose expiry is before ``until_s``, soonest first."""
    if not watchlists:
        return []
    rows = db.rows(
        "SELECT p.id, p.display_name, c.name, p.expires_at FROM people p JOIN collections c "
        f"ON p.collection_id = c.id WHERE c.name IN ({','.join('?' * len(watchlists))}) "
        "AND p.expires_at IS NOT NULL AND p.expires_at <= ? ORDER BY p.expires_at, p.id",
        [*watchlists, until_s],
    )
    return [WatchlistEntry(int(pid), name, coll, float(at)) for pid, name, coll, at in rows]


def _event_kinds(db: _ReadOnly) -> tuple[KindCount, ...]:
    rows = db.rows("SELECT kind, COUNT(*), MIN(wall_s) FROM events GROUP BY kind ORDER BY kind")
    return tuple(KindCount(kind, int(count), float(oldest)) for kind, count, oldest in rows)


def _file_stats(folder: Path) -> list[tuple[float, int]]:
    """(modification time in Unix s, bytes) of every file below ``folder``."""
    stats = []
    for path in folder.rglob("*") if folder.is_dir() else ():
        try:
            if path.is_file():
                st = path.stat()
                stats.append((st.st_mtime, st.st_size))
        except FileNotFoundError:
            continue  # deleted by the retention job while we walked
    return stats


def _summary(stats: list[tuple[float, int]]) -> FileSummary:
    return FileSummary(len(stats), sum(size for _, size in stats), min((t for t, _ in stats), default=None))


# -- retention -----------------------------------------------------------------------------------------


def _event_limit_days(retention: RetentionConfig, camera: str, collection: str | None) -> float:
    """How many days an event of ``camera`` naming a person of ``collection`` is kept.

    As :class:`~faceplane.governance.retention.RetentionJob` applies them: the most specific limit, the
    collection's, then the camera's, then the global one.
    """
    for limit in (retention.collections.get(collection or ""), retention.cameras.get(camera)):
        if limit and limit.events_days:
            return limit.events_days
    return retention.events_days


def _unknown_limit_hours(retention: RetentionConfig, source: str) -> float:
    """How many hours an unknown face seen by camera ``source`` is kept (the camera's limit, else the global)."""
    limit = retention.cameras.get(source)
    return limit.unknown_faces_hours if limit and limit.unknown_faces_hours else retention.unknown_faces_hours


def _retention(
    retention: RetentionConfig, gallery: _ReadOnly, events: _ReadOnly, root: Path, now_s: float
) -> RetentionSummary:
    r = retention
    rules = [RetentionRule("global", "", r.events_days, r.unknown_faces_hours, r.evidence_days)]
    rules += [RetentionRule("camera", k, v.events_days, v.unknown_faces_hours, None) for k, v in r.cameras.items()]
    rules += [RetentionRule("collection", k, v.events_days, None, None) for k, v in r.collections.items()]
    expired = gallery.value("SELECT COUNT(*) FROM people WHERE expires_at IS NOT NULL AND expires_at <= ?", (now_s,))
    evidence = root / "evidence"
    cutoff_s = now_s - r.evidence_days * _DAY_S
    sessions = [p for p in evidence.iterdir() if p.is_dir()] if evidence.is_dir() else []
    due = RetentionDue(
        events=_events_due(events, r, now_s),
        unknown_faces=_unknown_due(gallery, r, now_s),
        expired_people=int(expired or 0),
        evidence_sessions=sum(1 for p in sessions if p.stat().st_mtime < cutoff_s),
        orphan_snapshots=_orphan_snapshots(events, root / "events"),
    )
    return RetentionSummary(tuple(rules), r.interval_minutes, due)


def _orphan_snapshots(db: _ReadOnly, folder: Path) -> int:
    """Snapshot files that no event names (the job's sweep deletes them)."""
    named = {row[0] for row in db.rows("SELECT snapshot FROM events WHERE snapshot IS NOT NULL")}
    root = folder / "snapshots"
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    return sum(1 for p in files if p.relative_to(folder).as_posix() not in named)


def _events_due(db: _ReadOnly, retention: RetentionConfig, now_s: float) -> int:
    """Events older than their limit; one count per (camera, collection), each with its own limit."""
    total = 0
    for camera, collection in db.rows("SELECT DISTINCT camera, collection FROM events"):
        cutoff_s = now_s - _event_limit_days(retention, camera, collection) * _DAY_S
        sql = "SELECT COUNT(*) FROM events WHERE camera = ? AND collection IS ? AND wall_s < ?"
        total += int(db.value(sql, (camera, collection, cutoff_s)))
    return total


def _unknown_due(db: _ReadOnly, retention: RetentionConfig, now_s: float) -> int:
    """Unknown faces older than the limit of the camera that saw them."""
    total = 0
    for (source,) in db.rows("SELECT DISTINCT source FROM unknown_faces"):
        cutoff_s = now_s - _unknown_limit_hours(retention, source) * 3600.0
        total += int(
            db.value("SELECT COUNT(*) FROM unknown_faces WHERE source = ? AND seen_at < ?", (source, cutoff_s))
        )
    return total


# -- audit and accounts --------------------------------------------------------------------------------


def _audit(db: _ReadOnly, since_s: float) -> AuditSummary:
    marks = ",".join("?" * len(SEARCH_ACTIONS))
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for actor, role, action, count in db.rows(
        f"SELECT actor, role, action, COUNT(*) FROM audit WHERE ts >= ? AND action IN ({marks}) "
        "GROUP BY actor, role, action",
        [since_s, *SEARCH_ACTIONS],
    ):
        counts.setdefault((actor, role), {})[action] = int(count)
    searches = sorted(
        (
            SearchCount(actor, role, tuple((a, by[a]) for a in SEARCH_ACTIONS if a in by), sum(by.values()))
            for (actor, role), by in counts.items()
        ),
        key=lambda s: (-s.total, s.actor, s.role),
    )
    ((entries, oldest),) = db.rows("SELECT COUNT(*), MIN(ts) FROM audit") or [(0, None)]
    return AuditSummary(tuple(searches), since_s, int(entries), oldest)


def _accounts(db: _ReadOnly) -> tuple[Account, ...]:
    keys = db.rows("SELECT name, role, revoked_at IS NULL FROM api_keys ORDER BY revoked_at IS NOT NULL, name, id")
    users = db.rows("SELECT username, role FROM users ORDER BY username")
    return (
        *(Account(name, role, "user", True) for name, role in users),
        *(Account(name, role, "key", bool(active)) for name, role, active in keys),
    )
