"""Counts per hour from the event store: per event kind (with a breakdown per object class), and per object class.

The hours are wall-clock hours (Unix seconds, a multiple of 3600 at their start); only hours with events
are listed, oldest first. Object events (line crossings, zone entries, exits and dwell alerts) carry the
class of their track (``"person"``, ``"car"``...); face events carry none and appear in the totals only.

Example:
    >>> store = EventStore(tmp)  # doctest: +SKIP
    >>> [(c.object_class, c.line_in, c.line_out) for c in per_class(store, since_s, until_s)]  # doctest: +SKIP
    [('car', 2, 2), ('person', 5, 3)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import InvalidArgumentError
from .event import EVENT_KINDS

__all__ = ["OBJECT_EVENT_KINDS", "ClassHour", "HourCount", "check_classes", "hourly", "per_class"]

#: the event kinds that carry an object class, in the order of :class:`ClassHour`'s counts
OBJECT_EVENT_KINDS = ("line.crossed", "zone.enter", "zone.exit", "zone.dwell")
MAX_RANGE_S = 31 * 86400  # one query reads at most a month of events

# (hour start in Unix s, kind, object class or None, direction or None, events)
_Group = tuple[float, str, str | None, str | None, int]


class _GroupedCounts(Protocol):
    """What the counts read from the store (:meth:`faceplane.events.EventStore.counts_per_hour_by_class`)."""

    def counts_per_hour_by_class(
        self,
        kinds: Sequence[str],
        since_s: float,
        until_s: float,
        camera: str | None = None,
        object_classes: Sequence[str] = (),
    ) -> list[_Group]: ...


@dataclass(frozen=True)
class HourCount:
    """Events of one kind in one hour.

    Attributes:
        hour_s: start of the hour, Unix seconds.
        count: every event of the kind in the hour, with or without a class.
        by_class: the events of object tracks per class (``{"car": 3, "person": 1}``); face events are
            in ``count`` only.
    """

    hour_s: float
    count: int
    by_class: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassHour:
    """The object events of one class in one hour.

    Attributes:
        hour_s: start of the hour, Unix seconds.
        object_class: COCO class name of the tracks.
        line_in, line_out: line crossings in each direction (all lines).
        zone_enter, zone_exit: zone entries and exits (all zones).
        zone_dwell: dwell alerts ("car in zone for longer than N s").
    """

    hour_s: float
    object_class: str
    line_in: int = 0
    line_out: int = 0
    zone_enter: int = 0
    zone_exit: int = 0
    zone_dwell: int = 0


def check_classes(names: Sequence[str]) -> tuple[str, ...]:
    """The class names, checked against the COCO classes the object detectors know.

    Raises:
        InvalidArgumentError: a name that is not a COCO class (``"cars"``, ``"Person"``).
    """
    from ..objects import COCO_CLASSES  # lazy: the detector module is not needed to count

    unknown = [n for n in names if n not in COCO_CLASSES]
    if unknown:
        raise InvalidArgumentError(
            f"unknown object class {unknown[0]!r}; expected a COCO class name such as person, bicycle, car, "
            "motorcycle, bus or truck"
        )
    return tuple(names)


def _check_range(since_s: float, until_s: float) -> None:
    if until_s <= since_s or until_s - since_s > MAX_RANGE_S:
        raise InvalidArgumentError("the time range must be positive and at most 31 days")


def hourly(
    store: _GroupedCounts,
    kind: str,
    since_s: float,
    until_s: float,
    *,
    camera: str | None = None,
    object_classes: Sequence[str] = (),
) -> list[HourCount]:
    """Events of ``kind`` per hour in ``[since_s, until_s)`` with their split per object class.

    ``object_classes`` keeps only the events of those classes (then face events are left out too).

    Raises:
        InvalidArgumentError: an unknown kind or class, or a range that is empty or longer than 31 days.
    """
    if kind not in EVENT_KINDS:
        raise InvalidArgumentError(f"unknown event kind {kind!r}; expected one of {', '.join(EVENT_KINDS)}")
    _check_range(since_s, until_s)
    groups = store.counts_per_hour_by_class([kind], since_s, until_s, camera, check_classes(object_classes))
    totals: dict[float, int] = {}
    split: dict[float, dict[str, int]] = {}
    for hour_s, _, object_class, _, n in groups:
        totals[hour_s] = totals.get(hour_s, 0) + n
        classes = split.setdefault(hour_s, {})
        if object_class is not None:
            classes[object_class] = classes.get(object_class, 0) + n
    return [HourCount(h, totals[h], dict(sorted(split[h].items()))) for h in sorted(totals)]


def per_class(
    store: _GroupedCounts,
    since_s: float,
    until_s: float,
    *,
    camera: str | None = None,
    object_classes: Sequence[str] = (),
) -> list[ClassHour]:
    """Line crossings (in, out), zone entries, exits and dwell alerts per object class per hour.

    Rows are sorted by hour, then class; a (hour, class) without object events is not listed.

    Raises:
        InvalidArgumentError: an unknown class, or a range that is empty or longer than 31 days.
    """
    _check_range(since_s, until_s)
    groups = store.counts_per_hour_by_class(OBJECT_EVENT_KINDS, since_s, until_s, camera, check_classes(object_classes))
    rows: dict[tuple[float, str], dict[str, int]] = {}
    for hour_s, kind, object_class, direction, n in groups:
        if object_class is None:
            continue  # face tracks crossing a line: counted in /analytics/hourly, not per class
        column = _column(kind, direction)
        if column:
            counts = rows.setdefault((hour_s, object_class), {})
            counts[column] = counts.get(column, 0) + n
    return [ClassHour(h, c, **counts) for (h, c), counts in sorted(rows.items())]


def _column(kind: str, direction: str | None) -> str | None:
    """The :class:`ClassHour` count an event adds to (None: a crossing without a direction, not counted)."""
    if kind == "line.crossed":
        return {"in": "line_in", "out": "line_out"}.get(direction or "")
    return kind.replace(".", "_")
