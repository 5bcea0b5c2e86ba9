"""Events from the video engine, where they go, and where they are kept.

The package, bottom to top (each module imports only those above it):

- :mod:`~faceplane.events.event`: :class:`Event`, :data:`EVENT_KINDS`, :func:`safe_name`;
- :mod:`~faceplane.events.store`: :class:`EventStore` (SQLite rows + JPEG snapshots);
- :mod:`~faceplane.events.analytics`: counts per hour over the store, per event kind and per object class;
- :mod:`~faceplane.events.bus`: :class:`EventBus` (store first, then every sink) and the in-process sinks
  :class:`MemorySink`, :class:`JsonlSink`, :class:`Broadcaster` (live feeds: SSE, WebSockets);
- sinks that leave the process, imported from their modules: :mod:`~faceplane.events.webhooks`
  (``WebhookSink``: signed POSTs, retries, dead letters), :mod:`~faceplane.events.mqtt` (``MqttSink``,
  paho-mqtt imported only when one is made), and :mod:`~faceplane.events.routing` (per-watchlist alert
  routes wrapping those two).

Importing this package opens no network client, database or heavy library.

Example:
    >>> bus = EventBus([MemorySink()])
    >>> bus.publish(Event.new("line.crossed", camera="door", t_s=1.0, track_id=3, rule="in", direction="in")).kind
    'line.crossed'
"""

from .bus import Broadcaster, EventBus, EventSink, JsonlSink, MemorySink
from .event import EVENT_KINDS, Event, safe_name
from .store import EventStore

__all__ = [
    "EVENT_KINDS",
    "Broadcaster",
    "Event",
    "EventBus",
    "EventSink",
    "EventStore",
    "JsonlSink",
    "MemorySink",
    "safe_name",
]
