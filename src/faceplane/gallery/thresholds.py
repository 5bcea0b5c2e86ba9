"""Match thresholds where they matter: per watchlist (collection) and per camera.

A threshold is set either as a **target FPIR** (false-positive identification rate: the share of
strangers, people enrolled nowhere, that a search would name as someone) or as an **explicit
distance**. A target becomes a distance with the embedder's calibrated 1:1 false-accept curve
(``far_curve`` in ``models/calibration.json``, measured by ``bench/calibrate_open_set.py`` on the
LFW DevTrain people only) and the number of people searched: a stranger compared with ``N``
people is named with probability about ``N x FAR``, so the distance is the 1:1 threshold at
``FAR = FPIR / N`` (:meth:`~faceplane.verify.Calibration.threshold_for_fpir`, the rule the
gallery's default already follows). :func:`expected_fpir` is the reverse: what an explicit
distance means for the people it searches. Nothing here is tuned on data: the only numbers are
the calibration's.

Which distance holds for a face seen on camera ``C`` whose nearest person is in collection ``W``
(:func:`effective_distance`):

- ``W`` and ``C`` both set one: the smaller (stricter) distance, so each promise holds;
- only one of them: that one;
- neither: the gallery's default (FPIR 1 % over everyone searched).

Collection settings live in the gallery's store (table ``collection_thresholds``, one row per
collection, deleted with it), so every process that opens the gallery (a Ray camera worker too)
decides alike. A row comes from the settings file (``source = "settings"``: refreshed at each
server start and not changeable through the API) or from the API (``"api"``).

Example:
    >>> from faceplane.verify import load_calibration
    >>> cal = load_calibration("mobilefacenet")
    >>> d = MatchThreshold(fpir=0.01).distance_for(cal, people=100)    # FAR 1e-4 per comparison
    >>> round(d, 3), round(expected_fpir(cal, d, people=100), 4)
    (0.973, 0.01)
    >>> describe_fpir(0.01)
    'about 1 in 100 strangers would be named'
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, NotFoundError
from ..verify import Calibration
from .store import SqliteStore

__all__ = [
    "CollectionThresholds",
    "MatchThreshold",
    "ThresholdInfo",
    "describe_fpir",
    "effective_distance",
    "expected_fpir",
    "explain",
]

#: Largest distance between two unit-length embeddings: an explicit threshold above it names everyone.
MAX_DISTANCE = 2.0


@dataclass(frozen=True)
class MatchThreshold:
    """How strict matching is for one collection or camera: a target FPIR or an explicit distance.

    Attributes:
        fpir: share of strangers that may be named, in (0, 1) (e.g. 0.01: 1 in 100).
        distance: an explicit embedding distance, in (0, 2].

    Raises:
        InvalidArgumentError: both or neither given, or a value out of range.
    """

    fpir: float | None = None
    distance: float | None = None

    def __post_init__(self) -> None:
        if (self.fpir is None) == (self.distance is None):
            raise InvalidArgumentError("a match threshold is a target fpir or an explicit distance: give exactly one")
        if self.fpir is not None and not 0 < self.fpir < 1:
            raise InvalidArgumentError(f"fpir must be in (0, 1), got {self.fpir}")
        if self.distance is not None and not 0 < self.distance <= MAX_DISTANCE:
            raise InvalidArgumentError(f"distance must be in (0, {MAX_DISTANCE:g}], got {self.distance}")

    def distance_for(self, calibration: Calibration, people: int) -> float:
        """The distance this setting means when ``people`` people are searched."""
        if self.distance is not None:
            return float(self.distance)
        return calibration.threshold_for_fpir(float(self.fpir or 0.0), people)


def _far_at(calibration: Calibration, distance: float) -> tuple[float, str]:
    """(1:1 false-accept rate at ``distance``, log-interpolated on the calibrated curve; ``""`` inside the
    curve, ``"below"`` / ``"above"`` when the rate lies beyond it and the nearest calibrated rate is given)."""
    if not calibration.far_curve:
        raise InvalidArgumentError(f"no FAR curve calibrated for {calibration.model}")
    fars = np.array(sorted(calibration.far_curve), np.float64)
    dists = np.array([calibration.far_curve[f] for f in sorted(calibration.far_curve)], np.float64)
    beyond = "below" if distance < dists[0] else "above" if distance > dists[-1] else ""
    return float(10 ** np.interp(distance, dists, np.log10(fars))), beyond


def expected_fpir(calibration: Calibration, distance: float, people: int) -> float:
    """Share of strangers a search of ``people`` people at ``distance`` would name (``people x FAR``, at most 1).

    Outside the calibrated curve the nearest calibrated rate is used (see :func:`explain` for the flag).
    """
    far, _ = _far_at(calibration, float(distance))
    return min(1.0, far * max(int(people), 1))


def _one_in(fpir: float) -> str:
    """``1/fpir`` with two significant digits and thousands separators: 0.0123 -> "81", 0.00037 -> "2,700"."""
    n = 1.0 / fpir
    digits = max(0, math.floor(math.log10(n)) - 1)
    return f"{round(n, -digits):,.0f}"


def describe_fpir(fpir: float, *, bound: str = "") -> str:
    """What a false-positive identification rate means to an operator.

    Args:
        fpir: the rate, in (0, 1].
        bound: ``"below"`` / ``"above"`` when the rate lies beyond the calibrated curve.

    Example:
        >>> describe_fpir(0.001)
        'about 1 in 1,000 strangers would be named'
    """
    if fpir >= 0.5 and bound != "below":
        return "most strangers would be named"
    what = {"below": "fewer than", "above": "more than"}.get(bound, "about")
    return f"{what} 1 in {_one_in(fpir)} strangers would be named"


@dataclass(frozen=True)
class ThresholdInfo:
    """A threshold and what it means for the people it searches.

    Attributes:
        distance: the embedding distance a match must be within.
        fpir: expected share of strangers named (``people x FAR`` at ``distance``, at most 1).
        people: how many people the search covers (a collection's, or everyone for a camera or the default).
        beyond: ``""`` inside the measured FAR curve; ``"below"`` / ``"above"`` when ``distance`` lies beyond
            it (``fpir`` is then the rate at the curve's end: the true rate is lower / higher).
        setting: the setting it comes from (None: the gallery's default).
        source: ``"default"``, ``"settings"`` (the settings file), ``"api"``, ``"camera"`` (a camera's own) or
            ``"preview"``.
    """

    distance: float
    fpir: float
    people: int
    beyond: str = ""
    setting: MatchThreshold | None = None
    source: str = "default"

    @property
    def meaning(self) -> str:
        """E.g. "about 1 in 100 strangers would be named"."""
        return describe_fpir(self.fpir, bound=self.beyond)


def explain(
    calibration: Calibration, people: int, setting: MatchThreshold | None, *, default_fpir: float = 0.01,
    source: str | None = None,
) -> ThresholdInfo:
    """The distance of ``setting`` (None: the default FPIR) for ``people`` people, and what it means."""
    distance = (setting or MatchThreshold(fpir=default_fpir)).distance_for(calibration, people)
    far, beyond = _far_at(calibration, distance)
    return ThresholdInfo(
        distance=distance,
        fpir=min(1.0, far * max(int(people), 1)),
        people=int(people),
        beyond=beyond,
        setting=setting,
        source=source or ("default" if setting is None else "api"),
    )


def effective_distance(default: float, collection: float | None, camera: float | None) -> float:
    """The distance that holds for a collection's people on a camera (see the module docstring).

    Example:
        >>> effective_distance(0.9, None, None), effective_distance(0.9, 1.0, None), effective_distance(0.9, 1.0, 0.95)
        (0.9, 1.0, 0.95)
    """
    set_ = [d for d in (collection, camera) if d is not None]
    return min(set_) if set_ else default


_SOURCES = ("settings", "api")


class CollectionThresholds:
    """Per-collection threshold settings kept in a gallery's store (table ``collection_thresholds``).

    Reads and writes go through the store's connection and transactions (as :mod:`.migrate` does): a
    change bumps the store's generation, so every cache keyed on it (the gallery's thresholds) is renewed.
    """

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self._cache: tuple[int, dict[str, tuple[MatchThreshold, str]]] | None = None

    def get(self, collection: str) -> tuple[MatchThreshold, str] | None:
        """The setting of one collection and its source (None: the default applies).

        Raises:
            NotFoundError: no such collection.
        """
        self.store.collection_id(collection)
        return self.all().get(collection)

    def all(self) -> dict[str, tuple[MatchThreshold, str]]:
        """collection name -> (setting, source), for the collections that have one (cached per generation)."""
        generation = self.store.generation
        if self._cache is None or self._cache[0] != generation:
            rows = self.store._query(
                "SELECT c.name, t.fpir, t.distance, t.source FROM collection_thresholds t "
                "JOIN collections c ON c.id = t.collection_id"
            )
            found = {r[0]: (MatchThreshold(fpir=r[1], distance=r[2]), str(r[3])) for r in rows}
            self._cache = (generation, found)
        return self._cache[1]

    def set(self, collection: str, setting: MatchThreshold | None, *, source: str = "api") -> None:
        """Set (or with None clear) a collection's threshold.

        Raises:
            NotFoundError: no such collection.
            InvalidArgumentError: an API change of a threshold the settings file sets, or an unknown source.
        """
        if source not in _SOURCES:
            raise InvalidArgumentError(f"source must be one of {_SOURCES}, got {source!r}")
        cid = self.store.collection_id(collection)
        with self.store._tx() as db:
            row = db.execute("SELECT source FROM collection_thresholds WHERE collection_id = ?", (cid,)).fetchone()
            if row is not None and row[0] == "settings" and source == "api":
                raise InvalidArgumentError(
                    f"the threshold of {collection!r} is set in the settings file ([collections.{collection}]); "
                    "change it there"
                )
            if setting is None:
                db.execute("DELETE FROM collection_thresholds WHERE collection_id = ?", (cid,))
                return
            db.execute(
                "INSERT OR REPLACE INTO collection_thresholds (collection_id, fpir, distance, source, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, setting.fpir, setting.distance, source, time.time()),
            )

    def apply_settings(self, settings: dict[str, MatchThreshold]) -> None:
        """Make the rows from the settings file exactly ``settings`` (collections created when missing).

        A collection that the file no longer names loses its "settings" row (its default applies again).
        Nothing is written when the rows already say so (a write moves the generation: a saved index would
        be rebuilt at the next open).
        """
        if {n: m for n, (m, src) in self.all().items() if src == "settings"} == settings:
            return
        for name in settings:
            try:
                self.store.collection_id(name)
            except NotFoundError:
                self.store.create_collection(name)
        with self.store._tx() as db:
            db.execute("DELETE FROM collection_thresholds WHERE source = 'settings'")
            for name, setting in settings.items():
                cid = int(db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()[0])
                db.execute(
                    "INSERT OR REPLACE INTO collection_thresholds (collection_id, fpir, distance, source, updated_at) "
                    "VALUES (?, ?, ?, 'settings', ?)",
                    (cid, setting.fpir, setting.distance, time.time()),
                )
