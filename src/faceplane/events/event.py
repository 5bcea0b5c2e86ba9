"""The event itself: what one :class:`Event` says, the kinds there are, and a camera id safe for paths.

An :class:`Event` is one thing worth telling: a watchlist person appeared (``watchlist.start``), was
seen better (``watchlist.update``) or left (``watchlist.end``); a track crossed a line
(``line.crossed``, with ``direction``); entered or left a zone (``zone.enter``, ``zone.exit`` with
``dwell_s``) or stayed in one longer than its threshold (``zone.dwell``, once per track); a new
unique visitor (``visitor.new``); an unknown face kept for clustering (``face.unknown``). Events of
object tracks (people, cars...) name the track's class (``object_class``, ``"class"`` in JSON).

This module is the bottom of :mod:`faceplane.events`: the bus, the store and every sink import it,
and it imports none of them.

Example:
    >>> Event.new("line.crossed", camera="door", t_s=1.0, track_id=3, rule="in", direction="in").kind
    'line.crossed'
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass

from ..errors import InvalidArgumentError

__all__ = ["EVENT_KINDS", "Event", "safe_name"]

EVENT_KINDS = (
    "watchlist.start",
    "watchlist.update",
    "watchlist.end",
    "line.crossed",
    "zone.enter",
    "zone.exit",
    "zone.dwell",
    "visitor.new",
    "face.unknown",
)


@dataclass(frozen=True)
class Event:
    """One event. Fields that do not apply to a kind are None.

    Attributes:
        id: unique id (32 hex digits).
        kind: one of :data:`EVENT_KINDS`.
        camera: camera id.
        t_s: seconds on the camera's timeline (media time for files).
        wall_s: Unix time the event was made.
        track_id: the track it concerns (per camera).
        rule: the line, zone or watchlist collection that fired.
        person_id, person_name, collection, distance: the recognised person (watchlist events).
        direction: ``"in"`` or ``"out"`` (line crossings).
        dwell_s: time inside (zone exits, watchlist ends: time on camera).
        box: ``x1, y1, x2, y2`` pixels of the face or person when the event fired.
        snapshot: snapshot path relative to the store's directory, when one was kept.
        object_class: what the track is, a COCO class name (``"person"``, ``"car"``...) for the
            object tracks of line, zone and dwell events; None for face tracks. ``"class"`` in JSON.
    """

    id: str
    kind: str
    camera: str
    t_s: float
    wall_s: float
    track_id: int
    rule: str = ""
    person_id: int | None = None
    person_name: str | None = None
    collection: str | None = None
    distance: float | None = None
    direction: str | None = None
    dwell_s: float | None = None
    box: tuple[float, float, float, float] | None = None
    snapshot: str | None = None
    object_class: str | None = None

    @classmethod
    def new(cls, kind: str, *, camera: str, t_s: float, track_id: int, **fields: object) -> Event:
        """A new event with a fresh id and the current wall time."""
        if kind not in EVENT_KINDS:
            raise InvalidArgumentError(f"unknown event kind {kind!r}; expected one of {EVENT_KINDS}")
        return cls(uuid.uuid4().hex, kind, camera, float(t_s), time.time(), int(track_id), **fields)  # type: ignore[arg-type]

    def to_json(self) -> str:
        """The event as compact JSON, ``object_class`` named ``"class"`` (webhooks, MQTT, ``--events``)."""
        fields = asdict(self)
        fields["class"] = fields.pop("object_class")
        return json.dumps(fields, separators=(",", ":"))


def safe_name(name: str) -> str:
    """A camera id made safe for a file name or an MQTT topic level (letters, digits, ``-_.``; <= 80 chars)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "camera"
