"""Where each watchlist's alerts go: per collection, which webhooks and which MQTT topics.

The settings name the routes (``[collections.<name>]``, :class:`~faceplane.config.CollectionConfig`)::

    [[webhooks]]
    name = "security-desk"
    url = "https://desk.example.org/hook"
    secret = "..."

    [collections.watchlist]
    webhooks = ["security-desk"]        # its alerts go to this webhook only
    mqtt_topics = ["alarm/watchlist"]   # and to this MQTT topic instead of <prefix>/events/<camera>/<kind>

A route applies to the alerts of that collection, ``watchlist.start`` / ``update`` / ``end``. Every other
event, and the alerts of a collection without a route (or whose route leaves a list unset), goes where it
went before: to every webhook (each still filtered by its own ``kinds``) and to the MQTT topic
``<prefix>/events/<camera>/<kind>``. An empty list sends a collection's alerts nowhere on that channel.

Example:
    >>> route = AlertRoute(webhooks=("desk",))
    >>> route.webhook_gets("desk"), route.webhook_gets("crm")
    (True, False)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .event import Event

__all__ = ["AlertRoute", "RoutedMqtt", "RoutedWebhook", "alert_route"]

log = logging.getLogger(__name__)


class _Sink(Protocol):
    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


class _TopicSink(_Sink, Protocol):
    def publish(self, topic: str, event: Event) -> None: ...


@dataclass(frozen=True)
class AlertRoute:
    """Where one collection's alerts go.

    Attributes:
        webhooks: names of the webhooks that get them (None: every webhook).
        mqtt_topics: MQTT topics they are published to (None: the sink's default topic).
    """

    webhooks: tuple[str, ...] | None = None
    mqtt_topics: tuple[str, ...] | None = None

    def webhook_gets(self, name: str | None) -> bool:
        """Whether the webhook called ``name`` gets these alerts."""
        return self.webhooks is None or (name is not None and name in self.webhooks)


def alert_route(event: Event, routes: Mapping[str, AlertRoute]) -> AlertRoute | None:
    """The route of a watchlist alert of a routed collection; None for anything else (sent as before)."""
    if not event.kind.startswith("watchlist.") or event.collection is None:
        return None
    return routes.get(event.collection)


class RoutedWebhook:
    """A webhook sink that gets a routed collection's alerts only when the route names it.

    Args:
        sink: the webhook (:class:`~faceplane.events.webhooks.WebhookSink`).
        name: its name in the settings (None: unnamed, so it gets only unrouted alerts).
        routes: collection -> route.
    """

    def __init__(self, sink: _Sink, name: str | None, routes: Mapping[str, AlertRoute]) -> None:
        self.sink, self.name, self.routes = sink, name, dict(routes)

    def emit(self, event: Event) -> None:
        route = alert_route(event, self.routes)
        if route is None or route.webhook_gets(self.name):
            self.sink.emit(event)

    def close(self) -> None:
        self.sink.close()


class RoutedMqtt:
    """An MQTT sink that publishes a routed collection's alerts to the route's topics instead of the default.

    Args:
        sink: the MQTT sink (:class:`~faceplane.events.mqtt.MqttSink`: ``emit`` and ``publish(topic, event)``).
        routes: collection -> route.
    """

    def __init__(self, sink: _TopicSink, routes: Mapping[str, AlertRoute]) -> None:
        self.sink, self.routes = sink, dict(routes)

    def emit(self, event: Event) -> None:
        route = alert_route(event, self.routes)
        if route is None or route.mqtt_topics is None:
            self.sink.emit(event)
            return
        for topic in route.mqtt_topics:
            self.sink.publish(topic, event)

    def close(self) -> None:
        self.sink.close()
