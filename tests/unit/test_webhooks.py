"""Webhooks against a real HTTP receiver on loopback: signature, retries, dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event
from faceplane.events.webhooks import WebhookSink, sign


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
        else:
            cls.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.fail_first = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver
    server.shutdown()
    server.server_close()


def _event(kind="watchlist.start"):
    return Event.new(kind, camera="door", t_s=1.0, track_id=3, person_name="Ada")


def _wait(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_signed_delivery_after_retries(receiver, tmp_path):
    url, rx = receiver
    rx.fail_first = 2  # two 503s, then success
    sink = WebhookSink(url, secret="s3cret-key", backoff_s=0.05, dead_letters=tmp_path / "dl.sqlite")
    event = _event()
    sink.emit(event)
    assert _wait(lambda: rx.received)
    headers, body = rx.received[0]
    expected = "sha256=" + hmac.new(b"s3cret-key", body, hashlib.sha256).hexdigest()
    assert headers["X-Faceplane-Signature"] == expected == sign("s3cret-key", body)
    assert headers["X-Faceplane-Event"] == "watchlist.start" and json.loads(body)["id"] == event.id
    assert sink.failures() == []
    sink.close()


def test_kinds_filter(receiver):
    url, rx = receiver
    sink = WebhookSink(url, secret="s3cret-key", kinds=["line.crossed"])
    sink.emit(_event("watchlist.start"))
    sink.emit(_event("line.crossed"))
    sink.close()
    assert [h["X-Faceplane-Event"] for h, _ in rx.received] == ["line.crossed"]


def test_unreachable_receiver_is_dead_lettered(tmp_path):
    sink = WebhookSink(
        "http://127.0.0.1:9/nothing",
        secret="s3cret-key",
        attempts=2,
        backoff_s=0.01,
        dead_letters=tmp_path / "dl.sqlite",
    )
    event = _event()
    sink.emit(event)
    assert _wait(lambda: sink.failures())
    ((event_id, kind, error, attempts),) = sink.failures()
    assert (event_id, kind, attempts) == (event.id, "watchlist.start", 2) and error
    sink.close()


@pytest.mark.parametrize(("url", "secret"), [("ftp://x/y", "s3cret-key"), ("http://x/y", "short")])
def test_bad_configuration(url, secret):
    with pytest.raises(InvalidArgumentError):
        WebhookSink(url, secret=secret)


def test_closing_keeps_undelivered_events_as_dead_letters(tmp_path):
    """Closing while the receiver is down and retries wait: no event is lost and nothing crashes the thread
    (the dead-letter table was closed under the delivery thread, which then raised)."""
    sink = WebhookSink(
        "http://127.0.0.1:9/nothing", secret="s3cret-key", attempts=3, backoff_s=5.0, dead_letters=tmp_path / "dl.db"
    )
    events = [_event() for _ in range(3)]
    for event in events:
        sink.emit(event)
    started = time.monotonic()
    sink.close(timeout_s=0.3)
    assert time.monotonic() - started < 5.0
    assert sink.failed == 3
    db = sqlite3.connect(tmp_path / "dl.db")
    try:
        kept = {row[0] for row in db.execute("SELECT event_id FROM webhook_failures")}
    finally:
        db.close()
    assert kept == {e.id for e in events}


def test_a_watchlist_routed_to_one_webhook_skips_the_others(receiver):
    """[collections.vip] webhooks = ["desk"]: vip's alerts go to "desk" only; other events to every webhook."""
    from faceplane.events.routing import AlertRoute, RoutedWebhook

    url, rx = receiver
    routes = {"vip": AlertRoute(webhooks=("desk",))}
    desk = RoutedWebhook(WebhookSink(url, secret="desk-secret"), "desk", routes)
    crm = RoutedWebhook(WebhookSink(url, secret="crm-secret"), "crm", routes)
    events = [
        Event.new("watchlist.start", camera="door", t_s=1.0, track_id=1, collection="vip", person_name="Ada"),
        Event.new("watchlist.start", camera="door", t_s=2.0, track_id=2, collection="staff", person_name="Bob"),
        _event("line.crossed"),
    ]
    for event in events:
        desk.emit(event)
        crm.emit(event)
    desk.close()
    crm.close()
    got: dict[str, set[str]] = {"desk-secret": set(), "crm-secret": set()}
    for headers, body in rx.received:
        secret = next(s for s in got if headers["X-Faceplane-Signature"] == sign(s, body))
        got[secret].add(json.loads(body)["id"])
    assert got["desk-secret"] == {e.id for e in events}
    assert got["crm-secret"] == {events[1].id, events[2].id}
