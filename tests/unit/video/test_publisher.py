"""EventPublisher: events out in order, snapshots made off the caller's thread, drain waits, errors contained."""

from __future__ import annotations

import threading
import time

from faceplane.events import Event, EventBus, MemorySink
from faceplane.video.publisher import EventPublisher


def _event(i: int) -> Event:
    return Event.new("line.crossed", camera="cam", t_s=float(i), track_id=i)


def test_events_out_in_order_with_slow_snapshots_made_off_the_callers_thread():
    sink = MemorySink()
    publisher = EventPublisher(EventBus([sink]))
    caller, makers = threading.get_ident(), []

    def slow_snapshot() -> bytes:
        makers.append(threading.get_ident())
        time.sleep(0.05)
        return b"\xff\xd8jpeg"

    start = time.perf_counter()
    for i in range(6):
        publisher.publish(_event(i), slow_snapshot if i % 2 == 0 else None)
    queued_s = time.perf_counter() - start
    assert queued_s < 0.05, "publish() must not wait for the snapshot"
    assert publisher.drain(5.0)
    assert [e.track_id for e in sink.events] == list(range(6))
    assert len(makers) == 3 and caller not in makers


def test_a_failing_snapshot_loses_only_its_event_and_then_runs_after_publishing():
    sink = MemorySink()
    publisher = EventPublisher(EventBus([sink]))
    done: list[int] = []

    def broken() -> bytes:
        raise RuntimeError("no picture")

    publisher.publish(_event(1), broken, then=lambda: done.append(1))
    publisher.publish(_event(2), None, then=lambda: done.append(len(sink.events)))
    assert publisher.drain(5.0)
    assert [e.track_id for e in sink.events] == [2] and done == [1]


def test_drain_without_events_returns_at_once():
    assert EventPublisher(EventBus()).drain(0.1)
