"""Use cases of matching decisions: "not this person" corrections, and thresholds per watchlist and camera.

Routes call these methods (``services.matching``) and return a schema; nothing here knows HTTP.

- Corrections (:mod:`faceplane.gallery.negatives`): an operator says an alert (a ``watchlist.*`` event)
  or an identification named the wrong person. The face is taken again from the alert's snapshot
  (the face nearest to the person named: the one taken for them; the other faces of a snapshot are
  blurred) or from the uploaded photo, kept as a negative of that person, and the answer shows the
  template that made the match, so a bad enrollment photo can be removed.
- Thresholds (:mod:`faceplane.gallery.thresholds`): the default, each collection's and each camera's,
  as a distance and what it means for the people searched ("about 1 in 100 strangers would be named").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..config import CameraConfig
from ..errors import InvalidArgumentError, NotFoundError
from ..events import Event, EventStore
from ..gallery.gallery import Gallery
from ..gallery.negatives import Correction
from ..gallery.records import Identification, Person, Template
from ..gallery.thresholds import MatchThreshold, ThresholdInfo, explain

__all__ = ["CorrectionView", "MatchingService", "ThresholdView"]

_ALERTS = ("watchlist.start", "watchlist.update", "watchlist.end")


@dataclass(frozen=True)
class CorrectionView:
    """A correction with what an operator needs to act on it.

    Attributes:
        correction: the stored correction.
        person: who the face is not.
        template: the person's template that made the false match (None: removed since, or none).
        after: the face searched again right after the correction (None when listing).
    """

    correction: Correction
    person: Person
    template: Template | None
    after: Identification | None = None


@dataclass(frozen=True)
class ThresholdView:
    """One threshold in force: ``scope`` "default", "collection" or "camera", ``name`` of that collection or camera."""

    scope: str
    name: str | None
    info: ThresholdInfo


class MatchingService:
    """Corrections and thresholds (see the module docstring).

    Args:
        gallery: the gallery searched by every camera and by identify.
        events: where alerts and their snapshots are kept.
        cameras: the configurations of the cameras running now.
        collection_settings: collection -> the threshold the settings file gives it (applied by :meth:`start`).
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        events: EventStore,
        cameras: Callable[[], Sequence[CameraConfig]],
        collection_settings: Mapping[str, MatchThreshold] | None = None,
    ) -> None:
        self.gallery = gallery
        self.events = events
        self._cameras = cameras
        self._settings = dict(collection_settings or {})

    def start(self) -> None:
        """Make the collection thresholds of the settings file the ones in force (created collections included)."""
        self.gallery.thresholds.apply_settings(self._settings)

    # -- corrections --------------------------------------------------------------------------------

    def correct_alert(self, event_id: str, *, note: str = "") -> list[CorrectionView]:
        """Not this person, on an alert: the face of every snapshot of the alert (its ``watchlist.start`` and
        ``watchlist.update`` events: the visit's best shots, over all its tracks) is not the person named.

        One correction per snapshot: the shots of one visit differ (pose, light), and each covers the faces
        nearer to it than to the person's templates, so the whole visit stays corrected.

        Raises:
            NotFoundError: no such event, or its person was erased.
            InvalidArgumentError: not a watchlist alert, already corrected, or no snapshot of the face kept.
        """
        event = self.events.get(event_id)
        if event.kind not in _ALERTS or event.person_id is None:
            raise InvalidArgumentError(f"event {event_id} is a {event.kind}, not a watchlist alert naming someone")
        done = {c.source for c in self.gallery.negatives.of_person(event.person_id)}
        shots = [e for e in self._visit(event) if f"event:{e.id}" not in done]
        if not shots:
            raise InvalidArgumentError(
                f"alert {event_id} was already corrected" if done & {f"event:{e.id}" for e in self._visit(event)}
                else f"alert {event_id} keeps no snapshot of the face to correct"
            )
        out = []
        for shot in shots:
            path = self.events.directory / str(shot.snapshot)
            result = self.gallery.not_person(event.person_id, path, source=f"event:{shot.id}", note=note)
            out.append(self._view(result.correction, result.after))
        return out

    def _visit(self, event: Event) -> list[Event]:
        """The alert events with a snapshot of ``event``'s visit: from the ``watchlist.start`` before it to the
        ``watchlist.end`` after it, on its camera, naming its person."""
        same = self.events.query(cameras=[event.camera], kinds=_ALERTS, person_id=event.person_id, limit=10_000)
        same.sort(key=lambda e: (e.wall_s, e.t_s))
        at = next(i for i, e in enumerate(same) if e.id == event.id)
        first = max((i for i in range(at + 1) if same[i].kind == "watchlist.start"), default=0)
        last = min((i for i in range(at, len(same)) if same[i].kind == "watchlist.end"), default=len(same) - 1)
        return [e for e in same[first : last + 1] if e.snapshot]

    def correct_photo(self, person_id: int, image: bytes, *, face_index: int = 0, note: str = "") -> CorrectionView:
        """Not this person, on an identification: face ``face_index`` of the photo is not ``person_id``.

        Raises:
            NotFoundError: no such person. InvalidArgumentError: no face ``face_index`` in the photo.
        """
        done = self.gallery.not_person(person_id, image, face_index=face_index, source="photo", note=note)
        return self._view(done.correction, done.after)

    def corrections(self, person_id: int) -> list[CorrectionView]:
        """A person's corrections, oldest first (NotFoundError for an unknown person)."""
        self.gallery.store.get_person(person_id)
        return [self._view(c) for c in self.gallery.negatives.of_person(person_id)]

    def remove_correction(self, correction_id: int) -> Correction:
        """Undo a correction (NotFoundError for an unknown id)."""
        correction = self.gallery.negatives.get(correction_id)
        self.gallery.negatives.remove([correction_id])
        return correction

    def correction_thumbnail(self, correction_id: int) -> bytes | None:
        return self.gallery.negatives.thumbnail(correction_id)

    def _view(self, correction: Correction, after: Identification | None = None) -> CorrectionView:
        person = self.gallery.store.get_person(correction.person_id)
        templates = {t.id: t for t in self.gallery.store.templates_of(person.id)}
        template = templates.get(correction.template_id) if correction.template_id is not None else None
        return CorrectionView(correction, person, template, after)

    # -- thresholds ---------------------------------------------------------------------------------

    def thresholds(self) -> list[ThresholdView]:
        """The default, then every collection's, then every camera's threshold, with what each means."""
        out = [ThresholdView("default", None, self._default())]
        names = [c.name for c in self.gallery.list_collections()]
        out += [ThresholdView("collection", name, self.collection_threshold(name)) for name in names]
        out += [ThresholdView("camera", c.id, self._camera(c)) for c in self._cameras()]
        return out

    def _default(self, people: int | None = None) -> ThresholdInfo:
        """The gallery's default over everyone (or, for ``people``, what its distance means for that many)."""
        g = self.gallery
        everyone = g.store.count_people()
        fixed = None if g.fixed_threshold is None else MatchThreshold(distance=g.fixed_threshold)
        info = explain(g.calibration, everyone, fixed, default_fpir=g.fpir, source="default")
        if people is None:
            return replace(info, setting=None)
        return replace(explain(g.calibration, people, MatchThreshold(distance=info.distance)), setting=None,
                       source="default")

    def collection_threshold(self, name: str) -> ThresholdInfo:
        """A collection's threshold and what it means for its people (NotFoundError: no such collection)."""
        found = self.gallery.thresholds.get(name)
        people = self.gallery.store.count_people([name])
        if found is None:  # the default distance, judged for this collection's people
            return self._default(people)
        setting, source = found
        return explain(self.gallery.calibration, people, setting, source=source)

    def _camera(self, config: CameraConfig) -> ThresholdInfo:
        setting = config.match_threshold()
        if setting is None:
            return self._default()
        return explain(self.gallery.calibration, self.gallery.store.count_people(), setting, source="camera")

    def preview(
        self, setting: MatchThreshold, *, collection: str | None = None, camera: str | None = None
    ) -> ThresholdInfo:
        """What a setting would mean for a collection's people or, for a camera or nobody named, for everyone.

        Raises:
            NotFoundError: no such collection or camera. InvalidArgumentError: both named.
        """
        if collection is not None and camera is not None:
            raise InvalidArgumentError("preview a collection's threshold or a camera's, not both")
        if camera is not None and camera not in {c.id for c in self._cameras()}:
            raise NotFoundError(f"no camera {camera!r}")
        if collection is not None:
            self.gallery.store.collection_id(collection)
        people = self.gallery.store.count_people([collection] if collection is not None else None)
        return explain(self.gallery.calibration, people, setting, source="preview")

    def set_collection_threshold(self, name: str, setting: MatchThreshold | None) -> ThresholdInfo:
        """Set (None: clear) a collection's own threshold through the API.

        Raises:
            NotFoundError: no such collection. InvalidArgumentError: the settings file sets this one.
        """
        self.gallery.thresholds.set(name, setting, source="api")
        return self.collection_threshold(name)
