"""Stored events as the server offers them: the event list, counts per hour and per object class, dwell per
zone and event snapshots (``routes/events.py``). Live events (SSE, WebSocket) come from the broadcaster."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidArgumentError
from ..events import Event, EventStore, analytics
from ._files import file_below

__all__ = ["EventsService"]


class EventsService:
    """Queries over the :class:`~faceplane.events.EventStore`."""

    def __init__(self, *, events: EventStore) -> None:
        self.events = events

    def query(self, **filters: object) -> list[Event]:
        return self.events.query(**filters)  # type: ignore[arg-type]

    def counts_per_hour(
        self, kind: str, since_s: float, until_s: float, camera: str | None, object_classes: Sequence[str] = ()
    ) -> list[analytics.HourCount]:
        """Events of ``kind`` per hour, oldest first, each split per object class (:func:`analytics.hourly`)."""
        return analytics.hourly(self.events, kind, since_s, until_s, camera=camera, object_classes=object_classes)

    def counts_per_class(
        self, since_s: float, until_s: float, camera: str | None, object_classes: Sequence[str] = ()
    ) -> list[analytics.ClassHour]:
        """Line crossings in/out, zone entries, exits and dwell alerts per object class per hour."""
        return analytics.per_class(self.events, since_s, until_s, camera=camera, object_classes=object_classes)

    def dwell(self, since_s: float, until_s: float, camera: str | None) -> list[tuple[str, str, int, float, float]]:
        if until_s <= since_s:
            raise InvalidArgumentError("the time range must be positive")
        return self.events.dwell_by_zone(since_s, until_s, camera)

    def snapshot(self, relative: str) -> Path:
        """The file of an event snapshot (path below ``snapshots/``); refuses paths outside that folder."""
        return file_below(self.events.directory / "snapshots", relative, "snapshot")
