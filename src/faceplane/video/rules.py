"""Rules on tracks: line crossings with direction, zone dwell. Pure geometry plus a small state.

A :class:`Line` is directed from ``a`` to ``b``; a track whose anchor point moves from the left side
of it to the right side (as seen on screen, y pointing down) crosses it ``"in"``, the other way
``"out"``. Only a move whose path actually intersects the segment counts. A :class:`Zone` is a
polygon; a track is inside when its anchor point is. Anchor points are the box centre for faces and
the bottom centre (the feet) for people.

Coordinates are pixels, or fractions of the frame when every number is within [0, 1]
(``Line.parse("0.5,0,0.5,1")`` is a vertical line through the middle of any frame).

Tracks may have an object class (``"person"``, ``"car"``... or None for a face track). A rule applies to
every track unless it names classes: ``"mid=0,0.5,1,0.5;classes=car,bus"``. A zone may also set a dwell
threshold in seconds, ``"lot=0,0,1,0,1,1,0,1;classes=car;dwell=600"``: a track inside it for that long
fires ``zone.dwell`` once (a car parked for more than 10 minutes).

Example:
    >>> line = Line.parse("door=0,0,0,10")
    >>> crossing_directions(line, np.array([[-1.0, 5]]), np.array([[1.0, 5]])).tolist()
    [-1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ..objects import COCO_CLASSES

__all__ = ["CameraRules", "Line", "RuleHit", "Zone", "anchor_points", "crossing_directions", "inside_zone"]

_F = npt.NDArray[np.float64]


def _parse_numbers(text: str, what: str) -> tuple[str, list[float]]:
    name, _, coords = text.partition(";")[0].rpartition("=")
    try:
        values = [float(v) for v in coords.replace(" ", "").split(",") if v]
    except ValueError:
        raise InvalidArgumentError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not all(np.isfinite(values)):
        raise InvalidArgumentError(f"{what} has a non-finite number: {text!r}")
    return name.strip(), values


def _parse_options(text: str, what: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The ``;key=value`` options after a rule's coordinates (``classes``, ``dwell``)."""
    options: dict[str, str] = {}
    for part in text.split(";")[1:]:
        key, eq, value = (p.strip() for p in part.partition("="))
        if not eq or key not in allowed or key in options:
            raise InvalidArgumentError(
                f"{what} takes the options {', '.join(allowed)} (each once), got {part!r} in {text!r}"
            )
        options[key] = value
    return options


def _parse_classes(value: str | None, text: str) -> tuple[str, ...]:
    """``"car,bus"`` -> ``("car", "bus")``, each a COCO class name (see :data:`faceplane.objects.COCO_CLASSES`)."""
    if value is None:
        return ()
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",")))
    bad = [n for n in names if n not in COCO_CLASSES]
    if not names or bad:
        raise InvalidArgumentError(
            f"classes must be COCO class names (person, car, bus...), got {bad or value!r} in {text!r}"
        )
    return names


def _parse_dwell(value: str | None, text: str) -> float | None:
    if value is None:
        return None
    try:
        dwell_s = float(value)
    except ValueError:
        dwell_s = float("nan")
    if not (np.isfinite(dwell_s) and dwell_s > 0):
        raise InvalidArgumentError(f"dwell must be a number of seconds > 0, got {value!r} in {text!r}")
    return dwell_s


def _scale(points: _F, width: int, height: int) -> _F:
    if points.size and float(np.abs(points).max()) <= 1.0:
        return points * np.array([width, height], np.float64)
    return points


def _applies(classes: tuple[str, ...], object_class: str | None) -> bool:
    """A rule naming no classes applies to every track; one naming classes, to object tracks of those."""
    return not classes or object_class in classes


@dataclass(frozen=True)
class Line:
    """A directed counting line from ``a`` to ``b`` (pixels or frame fractions), for tracks of ``classes``
    (empty: every track)."""

    name: str
    a: tuple[float, float]
    b: tuple[float, float]
    classes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, default_name: str = "line") -> Line:
        """``"x1,y1,x2,y2"`` or ``"name=x1,y1,x2,y2"``, optionally followed by ``";classes=car,bus"``."""
        name, v = _parse_numbers(text, "a line")
        if len(v) != 4:
            raise InvalidArgumentError(f"a line needs 4 numbers x1,y1,x2,y2, got {len(v)} in {text!r}")
        if (v[0], v[1]) == (v[2], v[3]):
            raise InvalidArgumentError(f"a line needs two different end points, got {text!r}")
        classes = _parse_classes(_parse_options(text, "a line", ("classes",)).get("classes"), text)
        return cls(name or default_name, (v[0], v[1]), (v[2], v[3]), classes)

    def in_pixels(self, width: int, height: int) -> Line:
        pts = _scale(np.array([self.a, self.b], np.float64), width, height)
        a, b = (float(pts[0, 0]), float(pts[0, 1])), (float(pts[1, 0]), float(pts[1, 1]))
        return replace(self, a=a, b=b)


@dataclass(frozen=True)
class Zone:
    """A polygon; tracks of ``classes`` (empty: every track) inside it accumulate dwell time, and fire
    ``zone.dwell`` once when inside for ``dwell_s`` seconds (None: never)."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    classes: tuple[str, ...] = ()
    dwell_s: float | None = None

    @classmethod
    def parse(cls, text: str, default_name: str = "zone") -> Zone:
        """``"x1,y1,x2,y2,x3,y3[,...]"`` or ``"name=..."``: at least three corners; then optionally
        ``";classes=car"`` and ``";dwell=600"`` (seconds)."""
        name, v = _parse_numbers(text, "a zone")
        if len(v) < 6 or len(v) % 2:
            raise InvalidArgumentError(f"a zone needs at least 3 x,y corners (an even count >= 6), got {text!r}")
        options = _parse_options(text, "a zone", ("classes", "dwell"))
        polygon = tuple((v[i], v[i + 1]) for i in range(0, len(v), 2))
        classes = _parse_classes(options.get("classes"), text)
        return cls(name or default_name, polygon, classes, _parse_dwell(options.get("dwell"), text))

    def in_pixels(self, width: int, height: int) -> Zone:
        pts = _scale(np.array(self.polygon, np.float64), width, height)
        return replace(self, polygon=tuple((float(x), float(y)) for x, y in pts))


def anchor_points(xyxy: npt.ArrayLike, anchor: str = "centre") -> _F:
    """(N, 4) boxes -> (N, 2) points: ``"centre"`` of the box or ``"bottom"`` centre (feet)."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    if anchor == "centre":
        y = (boxes[:, 1] + boxes[:, 3]) / 2
    elif anchor == "bottom":
        y = boxes[:, 3]
    else:
        raise InvalidArgumentError(f"anchor must be 'centre' or 'bottom', got {anchor!r}")
    return np.stack([x, y], axis=1)


def _cross(o: _F, a: _F, b: _F) -> _F:
    """z of (a - o) x (b - o), row-wise; positive = b is to the right of o->a on screen (y down)."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def crossing_directions(line: Line, prev: npt.ArrayLike, cur: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """For N moves ``prev[i] -> cur[i]``: +1 crossed ``in`` (left to right of a->b), -1 ``out``, 0 not crossed."""
    p, q = np.asarray(prev, np.float64).reshape(-1, 2), np.asarray(cur, np.float64).reshape(-1, 2)
    a = np.broadcast_to(np.array(line.a, np.float64), p.shape)
    b = np.broadcast_to(np.array(line.b, np.float64), p.shape)
    side_p, side_q = np.sign(_cross(a, b, p)), np.sign(_cross(a, b, q))
    # the move must also straddle the line's own segment (not just its infinite extension)
    straddle = np.sign(_cross(p, q, a)) * np.sign(_cross(p, q, b)) <= 0
    crossed = (side_p != side_q) & (side_p != 0) & straddle
    # side > 0 means "right of a->b" on screen: moving from left (<0) to right (>0) is "in"
    return np.where(crossed, np.where(side_q > 0, 1, -1), 0).astype(np.int8)


def inside_zone(zone: Zone, points: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """(N, 2) points -> (N,) bool, inside the polygon (even-odd rule)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    poly = np.asarray(zone.polygon, np.float64)
    x, y = pts[:, :1], pts[:, 1:]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    spans = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.asarray((spans & (x < x_at)).sum(axis=1) % 2 == 1)


@dataclass(frozen=True)
class RuleHit:
    """One thing a rule saw: ``kind`` is ``line.crossed``, ``zone.enter``, ``zone.exit`` or ``zone.dwell``."""

    kind: str
    rule: str
    track_id: int
    t_s: float
    direction: str | None = None  # "in" | "out" for line crossings
    dwell_s: float | None = None  # time spent inside, on zone.exit and zone.dwell
    object_class: str | None = None  # the track's class ("person", "car"...), None for a face track


@dataclass
class CameraRules:
    """The lines and zones of one camera and the little state they need (last point, entry time).

    Call :meth:`update` once per analysed frame with the tracks seen in it, and :meth:`end` when a
    track ends (a track that leaves the picture while in a zone exits it then). Track ids must be unique
    across classes (the video engine's trackers of one camera share one id counter).
    """

    lines: Sequence[Line] = ()
    zones: Sequence[Zone] = ()
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # line -> {"in": n, "out": n}
    class_counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # line -> class -> {"in", "out"}
    _last: dict[int, tuple[float, float]] = field(default_factory=dict)
    _class: dict[int, str | None] = field(default_factory=dict)  # track -> its object class
    _entered: dict[tuple[str, int], float] = field(default_factory=dict)
    _dwelled: set[tuple[str, int]] = field(default_factory=set)  # (zone, track) that fired zone.dwell

    def __post_init__(self) -> None:
        for line in self.lines:
            self.counts.setdefault(line.name, {"in": 0, "out": 0})
            self.class_counts.setdefault(line.name, {})

    def update(
        self,
        t_s: float,
        track_ids: Sequence[int],
        points: npt.ArrayLike,
        classes: Sequence[str | None] | None = None,
    ) -> list[RuleHit]:
        """Tracks seen at ``t_s`` with their anchor points (N, 2) and object classes (N; None: all face
        tracks) -> the rule hits they caused."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        ids = [int(t) for t in track_ids]
        for tid, cls in zip(ids, classes if classes is not None else [None] * len(ids), strict=True):
            self._class[tid] = cls
        hits = self._crossings(t_s, ids, pts)
        for zone in self.zones:
            hits += self._zone(zone, t_s, ids, inside_zone(zone, pts).tolist())
        for tid, (x, y) in zip(ids, pts.tolist(), strict=True):
            self._last[tid] = (x, y)
        return hits

    def _crossings(self, t_s: float, ids: list[int], pts: _F) -> list[RuleHit]:
        known = [i for i, tid in enumerate(ids) if tid in self._last]
        if not known:
            return []
        prev = np.array([self._last[ids[i]] for i in known])
        hits: list[RuleHit] = []
        for line in self.lines:
            for i, d in zip(known, crossing_directions(line, prev, pts[known]).tolist(), strict=True):
                cls = self._class[ids[i]]
                if d and _applies(line.classes, cls):
                    direction = "in" if d > 0 else "out"
                    self.counts[line.name][direction] += 1
                    if cls is not None:
                        per_class = self.class_counts[line.name].setdefault(cls, {"in": 0, "out": 0})
                        per_class[direction] += 1
                    hits.append(RuleHit("line.crossed", line.name, ids[i], t_s, direction, object_class=cls))
        return hits

    def _zone(self, zone: Zone, t_s: float, ids: list[int], inside: list[bool]) -> list[RuleHit]:
        hits: list[RuleHit] = []
        for tid, now_inside in zip(ids, inside, strict=True):
            key, cls = (zone.name, tid), self._class[tid]
            if not _applies(zone.classes, cls):
                continue
            if now_inside and key not in self._entered:
                self._entered[key] = t_s
                hits.append(RuleHit("zone.enter", zone.name, tid, t_s, object_class=cls))
            elif not now_inside and key in self._entered:
                dwell_s = t_s - self._entered.pop(key)
                hits.append(RuleHit("zone.exit", zone.name, tid, t_s, dwell_s=dwell_s, object_class=cls))
            dwell_s = t_s - self._entered[key] if now_inside else 0.0
            if zone.dwell_s is not None and dwell_s >= zone.dwell_s and key not in self._dwelled:
                self._dwelled.add(key)  # once per track and zone, also if it steps out and comes back
                hits.append(RuleHit("zone.dwell", zone.name, tid, t_s, dwell_s=dwell_s, object_class=cls))
        return hits

    def end(self, track_id: int, t_s: float) -> list[RuleHit]:
        """A track ended at ``t_s``: close its zone visits."""
        self._last.pop(track_id, None)
        cls = self._class.pop(track_id, None)
        hits = []
        for zone in self.zones:
            self._dwelled.discard((zone.name, track_id))
            start = self._entered.pop((zone.name, track_id), None)
            if start is not None:
                hits.append(RuleHit("zone.exit", zone.name, track_id, t_s, dwell_s=t_s - start, object_class=cls))
        return hits

    def in_pixels(self, width: int, height: int) -> CameraRules:
        """These rules with fractional coordinates resolved for a frame size (fresh state)."""
        return CameraRules(
            [ln.in_pixels(width, height) for ln in self.lines], [z.in_pixels(width, height) for z in self.zones]
        )
