"""Webhooks: events POSTed as JSON to other systems, signed, retried, and dead-lettered.

Each delivery carries ``X-Faceplane-Event`` (the kind), ``X-Faceplane-Delivery`` (the event id)
and ``X-Faceplane-Signature: sha256=<hex>``, an HMAC-SHA256 of the raw body with the hook's secret
(as GitHub's webhooks), so the receiver can check it came from this server. A failed delivery
(connection error or non-2xx) is retried with exponential back-off; after the last attempt it is
written to a dead-letter table (``webhook_failures`` in ``events.sqlite``) for an operator to see.
Deliveries run in a background thread: a slow receiver never slows the cameras; when its queue is
full, new events for it go straight to the dead letters.

Example:
    >>> sink = WebhookSink("https://example.org/hook", secret="s3cret", kinds=["watchlist.start"])  # doctest: +SKIP
    >>> bus = EventBus([sink])                                                                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidArgumentError
from .event import Event

__all__ = ["WebhookSink", "sign"]

log = logging.getLogger(__name__)

_STOP = object()


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC of ``body`` with ``secret`` (what a receiver recomputes and compares)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSink:
    """An :class:`~faceplane.events.EventSink` that POSTs events to one URL.

    Args:
        url: ``http://`` or ``https://`` receiver.
        secret: the HMAC key (share it with the receiver).
        kinds: only these event kinds (default: all).
        attempts: deliveries tried per event before it is dead-lettered.
        backoff_s: first retry delay; doubled each time.
        timeout_s: per request.
        dead_letters: SQLite file for failed deliveries (None: only logged).
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str,
        kinds: Sequence[str] = (),
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        dead_letters: str | Path | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidArgumentError(f"a webhook URL must be http:// or https://, got {url!r}")
        if len(secret) < 8:
            raise InvalidArgumentError("a webhook secret needs at least 8 characters")
        if attempts < 1:
            raise InvalidArgumentError(f"attempts must be >= 1, got {attempts}")
        self.url, self.secret, self.kinds = url, secret, set(kinds)
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self.delivered = 0
        self.failed = 0  # events given up on (dead-lettered), since this sink started
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1000)
        self._stop = threading.Event()
        self._db: sqlite3.Connection | None = None
        self._db_lock = threading.Lock()
        if dead_letters is not None:
            self._db = sqlite3.connect(str(dead_letters), check_same_thread=False, isolation_level=None)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS webhook_failures (event_id TEXT, url TEXT, kind TEXT, body TEXT, "
                "error TEXT, attempts INTEGER, failed_at REAL)"
            )
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def emit(self, event: Event) -> None:
        if self.kinds and event.kind not in self.kinds:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._dead(event, event.to_json().encode(), "queue full: the receiver is too slow", 0)

    @property
    def queued(self) -> int:
        """Events waiting for delivery."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (within ``timeout_s``), then stop; what is left goes to the dead letters."""
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        self._stop.set()  # ends a back-off wait; events still queued are dead-lettered without another try
        self._thread.join(self.timeout_s + 1.0)  # at most the request in flight
        with self._db_lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def failures(self) -> list[tuple[str, str, str, int]]:
        """Dead letters: ``(event_id, kind, error, attempts)``, oldest first."""
        with self._db_lock:
            if self._db is None:
                return []
            return self._db.execute(
                "SELECT event_id, kind, error, attempts FROM webhook_failures ORDER BY failed_at"
            ).fetchall()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Event)
            if self._stop.is_set():  # closing, and the receiver did not keep up: keep it for the operator
                self._dead(item, item.to_json().encode(), "not delivered before the server stopped", 0)
                continue
            self._deliver(item)

    def _deliver(self, event: Event) -> None:
        body = event.to_json().encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "faceplane-webhook",
            "X-Faceplane-Event": event.kind,
            "X-Faceplane-Delivery": event.id,
            "X-Faceplane-Signature": sign(self.secret, body),
        }
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        self.delivered += 1
                        return
                    error = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
                exc.close()
            except (urllib.error.URLError, OSError) as exc:
                error = str(getattr(exc, "reason", exc))
            if attempt < self.attempts and self._stop.wait(self.backoff_s * 2 ** (attempt - 1)):
                break
        self._dead(event, body, error, self.attempts)

    def _dead(self, event: Event, body: bytes, error: str, attempts: int) -> None:
        log.warning("webhook %s: giving up on event %s (%s)", self.url, event.id, error)
        self.failed += 1
        with self._db_lock:  # close() may run at the same time
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO webhook_failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.id, self.url, event.kind, body.decode(), error, attempts, time.time()),
                )
