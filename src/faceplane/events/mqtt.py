"""MQTT publishing of events, for home-automation and NVR users (the convention Frigate uses).

Each event is published as JSON to ``<prefix>/events/<camera>/<kind>`` (QoS 1, not retained), and
the number of people seen by a camera to ``<prefix>/<camera>/visitors`` is left to subscribers.
Needs the ``faceplane[mqtt]`` extra (paho-mqtt). The client reconnects on its own; events published
while the broker is away are queued by paho (bounded) and sent when it is back.

Example:
    >>> sink = MqttSink("localhost", 1883, prefix="faceplane")     # doctest: +SKIP
    >>> EventBus([sink])                                            # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import InvalidArgumentError
from .event import Event, safe_name

__all__ = ["MqttSink"]

log = logging.getLogger(__name__)


class MqttSink:
    """An :class:`~faceplane.events.EventSink` that publishes events to an MQTT broker.

    Args:
        host, port: the broker.
        prefix: topic prefix.
        username, password: broker credentials, if it wants them.
        client_id: MQTT client id.
    """

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        prefix: str = "faceplane",
        username: str | None = None,
        password: str | None = None,
        client_id: str = "faceplane",
    ) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise InvalidArgumentError("MQTT needs the faceplane[mqtt] extra (paho-mqtt)") from None
        if not prefix or any(c in prefix for c in "#+"):
            raise InvalidArgumentError(f"an MQTT topic prefix cannot be empty or contain # or +, got {prefix!r}")
        self.prefix = prefix.rstrip("/")
        self._client: Any = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.max_queued_messages_set(10_000)
        if username:
            self._client.username_pw_set(username, password)
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()

    def topic(self, event: Event) -> str:
        return f"{self.prefix}/events/{safe_name(event.camera)}/{event.kind}"

    def emit(self, event: Event) -> None:
        self.publish(self.topic(event), event)

    def publish(self, topic: str, event: Event) -> None:
        """Publish one event to ``topic`` (a watchlist's own topic: :mod:`faceplane.events.routing`)."""
        info = self._client.publish(topic, event.to_json(), qos=1)
        if info.rc not in (0, 4):  # 4 = MQTT_ERR_NO_CONN: queued until the broker is back
            log.warning("MQTT publish of %s failed with code %s", event.id, info.rc)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
