"""Events: the SQLite store with snapshots, JSON Lines, the bus."""

from __future__ import annotations

import io
import json

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event, EventBus, EventStore, JsonlSink, MemorySink


def _event(kind="watchlist.start", camera="door", **fields):
    return Event.new(kind, camera=camera, t_s=1.5, track_id=7, **fields)


def test_unknown_kind_is_refused():
    with pytest.raises(InvalidArgumentError, match="suspicion"):
        Event.new("suspicion", camera="c", t_s=0, track_id=1)


def test_store_keeps_events_and_snapshots(tmp_path):
    store = EventStore(tmp_path)
    jpeg = b"\xff\xd8fake-jpeg\xff\xd9"
    saved = store.add(_event(person_id=3, person_name="Ann", box=(1.0, 2.0, 3.0, 4.0)), jpeg)
    assert saved.snapshot is not None and (tmp_path / saved.snapshot).read_bytes() == jpeg
    store.add(_event("line.crossed", camera="hall", rule="gate", direction="in"))
    store.add(_event("zone.exit", camera="hall", rule="shelf", dwell_s=12.5))
    store.close()

    reopened = EventStore(tmp_path)  # persisted, not in memory
    assert reopened.count() == 3
    (got,) = reopened.query(person_id=3)
    assert got == saved  # every field round-trips, box included
    assert [e.kind for e in reopened.query(cameras=["hall"], kinds=["zone.exit"])] == ["zone.exit"]
    assert len(reopened.query(limit=2)) == 2 and len(reopened.query(limit=2, offset=2)) == 1
    assert reopened.query(since_s=saved.wall_s + 3600) == []
    with pytest.raises(InvalidArgumentError):
        reopened.query(limit=0)


def test_jsonl_sink_writes_one_object_per_line():
    out = io.StringIO()
    sink = JsonlSink(out)
    sink.emit(_event())
    sink.emit(_event("visitor.new"))
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["kind"] for x in lines] == ["watchlist.start", "visitor.new"] and lines[0]["camera"] == "door"


def test_bus_stores_first_and_survives_a_failing_sink(tmp_path):
    class Broken:
        def emit(self, event):
            raise RuntimeError("webhook down")

    memory = MemorySink()
    bus = EventBus([Broken(), memory], store=EventStore(tmp_path))
    published = bus.publish(_event(), b"jpeg")
    assert memory.events == [published] and published.snapshot is not None  # sinks see the stored snapshot path


def test_dwell_and_hourly_counts(tmp_path):
    store = EventStore(tmp_path)
    for dwell in (2.0, 4.0, 9.0):
        store.add(_event("zone.exit", camera="shop", rule="till", dwell_s=dwell))
    store.add(_event("zone.exit", camera="shop", rule="door", dwell_s=1.0))
    store.add(_event("line.crossed", camera="shop", rule="door", direction="in"))
    now = store.query(limit=1)[0].wall_s
    rows = store.dwell_by_zone(now - 60, now + 60)
    assert rows == [("shop", "door", 1, 1.0, 1.0), ("shop", "till", 3, 5.0, 9.0)]
    assert store.dwell_by_zone(now - 60, now + 60, camera="elsewhere") == []
    ((hour, count),) = store.counts_per_hour("zone.exit", now - 60, now + 60)
    assert count == 4 and hour <= now < hour + 3600 and hour % 3600 == 0


def test_delete_removes_rows_files_and_dead_letters(tmp_path):
    import sqlite3

    store = EventStore(tmp_path)
    jpeg = b"\xff\xd8fake-jpeg\xff\xd9"
    ann = store.add(_event(person_id=3, person_name="Ann", collection="staff"), jpeg)
    bob = store.add(_event(camera="hall", person_id=4, person_name="Bob", collection="vip"), jpeg)
    other = store.add(_event("line.crossed", camera="hall", rule="gate", direction="in"), jpeg)
    db = sqlite3.connect(tmp_path / "events.sqlite")  # what the webhook sink keeps for failed deliveries
    db.execute("CREATE TABLE webhook_failures (event_id TEXT, url TEXT, kind TEXT, body TEXT, error TEXT)")
    db.execute("INSERT INTO webhook_failures VALUES (?, 'u', 'k', 'Ann ...', 'e')", (ann.id,))
    db.commit()
    with pytest.raises(InvalidArgumentError, match="give a camera"):
        store.delete()
    assert store.delete(person_id=3) == 1
    assert not (tmp_path / ann.snapshot).exists() and (tmp_path / bob.snapshot).exists()
    assert db.execute("SELECT COUNT(*) FROM webhook_failures").fetchone()[0] == 0
    assert store.delete(collections=["vip"], until_s=bob.wall_s) == 0  # not older than the limit yet
    assert store.delete(collections=["vip"], until_s=bob.wall_s + 1) == 1
    store.drop_snapshot(other.id)  # the event stays, its picture goes
    (kept,) = store.query()
    assert kept.id == other.id and kept.snapshot is None and not (tmp_path / other.snapshot).exists()
    orphan = tmp_path / "snapshots" / "hall" / "2020-01-01" / "x.jpg"  # left by a crash between file and row
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(jpeg)
    assert store.sweep() == 1 and not orphan.exists() and not orphan.parent.exists()


def test_an_event_is_stored_and_sent_once(tmp_path):
    """A restarted camera worker replays events under the same ids: stored and fanned out once."""
    sink = MemorySink()
    bus = EventBus([sink], store=EventStore(tmp_path))
    event = _event(person_id=3)
    jpeg = b"\xff\xd8first\xff\xd9"
    first = bus.publish(event, jpeg)
    again = bus.publish(event, b"\xff\xd8second\xff\xd9")
    assert again.id == first.id and bus.store is not None and bus.store.count() == 1
    assert len(sink.events) == 1 and (tmp_path / first.snapshot).read_bytes() == jpeg
