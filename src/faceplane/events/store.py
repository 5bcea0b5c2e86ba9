"""Where events are kept: :class:`EventStore`, one SQLite file and a folder of JPEG snapshots.

Rows are written after their snapshot file, deleted before theirs, and queried newest first with the
filters the REST API, analytics, retention and erasure need. The webhook dead letters
(:mod:`faceplane.events.webhooks`) share the file, so deleting an event deletes its dead letters too.

Example:
    >>> import tempfile
    >>> store = EventStore(tempfile.mkdtemp())
    >>> store.add(Event.new("visitor.new", camera="door", t_s=0.0, track_id=1)).kind
    'visitor.new'
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from ..errors import InvalidArgumentError, NotFoundError
from .event import Event, safe_name

__all__ = ["EventStore"]

log = logging.getLogger(__name__)

_COLUMNS = [f for f in Event.__dataclass_fields__ if f != "box"] + ["x1", "y1", "x2", "y2"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, camera TEXT NOT NULL, t_s REAL NOT NULL, wall_s REAL NOT NULL,
    track_id INTEGER NOT NULL, rule TEXT NOT NULL DEFAULT '', person_id INTEGER, person_name TEXT,
    collection TEXT, distance REAL, direction TEXT, dwell_s REAL, snapshot TEXT,
    x1 REAL, y1 REAL, x2 REAL, y2 REAL, object_class TEXT
);
CREATE INDEX IF NOT EXISTS events_wall ON events (wall_s);
CREATE INDEX IF NOT EXISTS events_camera_wall ON events (camera, wall_s);
CREATE INDEX IF NOT EXISTS events_person ON events (person_id);
"""
# columns added after the first release: (name, SQL type); an older events.sqlite gets them on open
_ADDED_COLUMNS = (("object_class", "TEXT"),)


class EventStore:
    """Events in SQLite (``events.sqlite``) with JPEG snapshots under ``snapshots/`` in one directory.

    The snapshot file is written (temp file + rename) before the row, so a row never names a
    missing file; a crash between the two leaves at worst an orphan JPEG.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.directory / "events.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete = ON")  # deleted events are overwritten on disk
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()
        self._lock = threading.Lock()

    def _add_missing_columns(self) -> None:
        """Upgrade an events table made by an older version (its rows get NULL in the new columns)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        for name, sql_type in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE events ADD COLUMN {name} {sql_type}")
                log.info("events.sqlite: added column %s", name)

    def close(self) -> None:
        self._db.close()

    def add(self, event: Event, snapshot_jpeg: bytes | None = None) -> Event | None:
        """Persist one event (and its snapshot); returns it with ``snapshot`` set, or None when an event
        with this id is already stored (a camera worker that restarted replays it: stored once)."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM events WHERE id = ?", (event.id,)).fetchone():
                return None
        if snapshot_jpeg:
            day = time.strftime("%Y-%m-%d", time.gmtime(event.wall_s))
            rel = Path("snapshots") / safe_name(event.camera) / day / f"{event.id}.jpg"
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(snapshot_jpeg)
            os.replace(tmp, path)
            event = replace(event, snapshot=rel.as_posix())
        row = asdict(event)
        box = row.pop("box") or (None, None, None, None)
        values = [row[c] for c in _COLUMNS[:-4]] + list(box)
        with self._lock:
            cur = self._db.execute(
                f"INSERT OR IGNORE INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                values,
            )
        return event if cur.rowcount else None

    def query(
        self,
        *,
        cameras: Sequence[str] = (),
        kinds: Sequence[str] = (),
        person_id: int | None = None,
        since_s: float | None = None,
        until_s: float | None = None,
        limit: int = 100,
        offset: int = 0,
        object_classes: Sequence[str] = (),
    ) -> list[Event]:
        """Events newest first, filtered by camera, kind, person, object class and wall-time range."""
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidArgumentError(f"limit must be in 1..10000 and offset >= 0, got {limit}, {offset}")
        where, args = _filters(cameras, kinds, person_id, since_s, until_s, object_classes=object_classes)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM events {where} ORDER BY wall_s DESC, id LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit, offset]).fetchall()
        return [_from_row(r) for r in rows]

    def get(self, event_id: str) -> Event:
        """One event by id.

        Raises:
            NotFoundError: no event with that id (never stored, or deleted by retention or an erasure).
        """
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no event {event_id!r}")
        return _from_row(row)

    def counts_per_hour(
        self, kind: str, since_s: float, until_s: float, camera: str | None = None
    ) -> list[tuple[float, int]]:
        """``(hour start in Unix s, events of kind)`` for every hour with events in ``[since_s, until_s)``."""
        where, args = _filters([camera] if camera else (), [kind], None, since_s, until_s)
        sql = f"SELECT CAST(wall_s / 3600 AS INTEGER) * 3600 AS h, COUNT(*) FROM events {where} GROUP BY h ORDER BY h"
        with self._lock:
            return [(float(h), int(n)) for h, n in self._db.execute(sql, args).fetchall()]

    def counts_per_hour_by_class(
        self,
        kinds: Sequence[str],
        since_s: float,
        until_s: float,
        camera: str | None = None,
        object_classes: Sequence[str] = (),
    ) -> list[tuple[float, str, str | None, str | None, int]]:
        """``(hour start in Unix s, kind, object class, direction, events)`` for every such group with events
        in ``[since_s, until_s)``, oldest first (:mod:`faceplane.events.analytics` shapes them)."""
        cameras = [camera] if camera else ()
        where, args = _filters(cameras, kinds, None, since_s, until_s, object_classes=object_classes)
        sql = (
            "SELECT CAST(wall_s / 3600 AS INTEGER) * 3600 AS h, kind, object_class, direction, COUNT(*) "
            f"FROM events {where} GROUP BY h, kind, object_class, direction ORDER BY h, kind, object_class, direction"
        )
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [(float(h), k, c, d, int(n)) for h, k, c, d, n in rows]

    def dwell_by_zone(
        self, since_s: float, until_s: float, camera: str | None = None
    ) -> list[tuple[str, str, int, float, float]]:
        """``(camera, zone, visits, mean dwell s, longest dwell s)`` from the zone exits in ``[since_s, until_s)``."""
        where, args = _filters([camera] if camera else (), ["zone.exit"], None, since_s, until_s)
        sql = f"SELECT camera, rule, COUNT(*), AVG(dwell_s), MAX(dwell_s) FROM events {where} GROUP BY camera, rule"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY camera, rule", args).fetchall()
        return [(c, z, int(n), float(mean or 0.0), float(top or 0.0)) for c, z, n, mean, top in rows]

    def count(self, **filters: object) -> int:
        where, args = _filters(**filters)  # type: ignore[arg-type]
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM events {where}", args).fetchone()[0])

    def delete(
        self,
        *,
        cameras: Sequence[str] = (),
        collections: Sequence[str] = (),
        person_id: int | None = None,
        until_s: float | None = None,
        except_cameras: Sequence[str] = (),
        except_collections: Sequence[str] = (),
    ) -> int:
        """Delete matching events, their snapshot files and their webhook dead letters; returns the count.

        ``except_*`` keep events of those cameras / naming people of those collections (they have limits
        of their own).

        Raises:
            InvalidArgumentError: no filter at all (deleting every event is not an accident we allow).
        """
        where, args = _filters(cameras, (), person_id, None, until_s, collections)
        for column, values in (("camera", except_cameras), ("collection", except_collections)):
            if values and where:
                where += f" AND ({column} IS NULL OR {column} NOT IN ({', '.join('?' * len(values))}))"
                args.extend(values)
        if not where:
            raise InvalidArgumentError("give a camera, collection, person or time limit to delete events")
        with self._lock:
            rows = self._db.execute(f"SELECT id, snapshot FROM events {where}", args).fetchall()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"DELETE FROM events {where}", args)
                if self._has_table("webhook_failures"):
                    self._db.executemany("DELETE FROM webhook_failures WHERE event_id = ?", [(r[0],) for r in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        for _, snapshot in rows:  # rows first, files second: a crash leaves orphan files, which sweep() removes
            if snapshot:
                (self.directory / snapshot).unlink(missing_ok=True)
        return len(rows)

    def repoint_person(self, from_id: int, to_id: int, *, name: str, collection: str) -> int:
        """Give every event naming person ``from_id`` to person ``to_id`` (called ``name``, of ``collection``)
        in one transaction: the history of a person merged into another. Returns how many events moved."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE events SET person_id = ?, person_name = ?, collection = ? WHERE person_id = ?",
                (int(to_id), name, collection, int(from_id)),
            )
        return int(cur.rowcount)

    def drop_snapshot(self, event_id: str) -> None:
        """Delete one event's snapshot file and forget it (the event stays): erasure of a bystander's face."""
        with self._lock:
            row = self._db.execute("SELECT snapshot FROM events WHERE id = ?", (event_id,)).fetchone()
            self._db.execute("UPDATE events SET snapshot = NULL WHERE id = ?", (event_id,))
        if row and row[0]:
            (self.directory / row[0]).unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete snapshot files that no event names any more (left by a crash or an old version); returns the count."""
        root = self.directory / "snapshots"
        if not root.is_dir():
            return 0
        removed = 0
        with self._lock:
            named = {r[0] for r in self._db.execute("SELECT snapshot FROM events WHERE snapshot IS NOT NULL")}
        for path in root.rglob("*"):
            if path.is_file() and path.relative_to(self.directory).as_posix() not in named:
                path.unlink(missing_ok=True)
                removed += 1
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty ones go
        return removed

    def _has_table(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self._db.execute(sql, (name,)).fetchone())


def _filters(
    cameras: Sequence[str] = (),
    kinds: Sequence[str] = (),
    person_id: int | None = None,
    since_s: float | None = None,
    until_s: float | None = None,
    collections: Sequence[str] = (),
    object_classes: Sequence[str] = (),
) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    named = (("camera", cameras), ("kind", kinds), ("collection", collections), ("object_class", object_classes))
    for column, values in named:
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)
    for clause, value in (("person_id = ?", person_id), ("wall_s >= ?", since_s), ("wall_s < ?", until_s)):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args


def _from_row(row: Iterable[object]) -> Event:
    values = dict(zip(_COLUMNS, row, strict=True))
    box = tuple(values.pop(k) for k in ("x1", "y1", "x2", "y2"))
    return Event(**values, box=None if box[0] is None else box)  # type: ignore[arg-type]
