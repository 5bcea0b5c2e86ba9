"""The unknown-face library of the server: recurring strangers an operator can see, name, add to someone or dismiss.

Faces that matched nobody (from cameras, or photos sent as sightings) wait in the gallery's unknown pool until
retention deletes them (``retention.unknown_faces_hours``, 24 h by default). :class:`UnknownFaces` lists them
and their clusters, and acts on them:

- **name** a cluster: its faces become a new person's templates (with their thumbnails and quality), under the
  same consent and watchlist policy as an enrollment (:func:`~faceplane.governance.check_enrollment`);
- **add** clusters or single faces to an existing person;
- **dismiss** clusters or faces: deleted, enrolled as nobody.

Faces enrolled or dismissed leave the pool. Before enrolling, a face that matches none of the others (nor the
person's templates) at the model's best-accuracy distance is refused, and stays in the pool: one clustering
mistake must not put a second person under a name. Faces that already match another enrolled person (the
duplicate check of enrollment) are reported, not refused.

A background job (:meth:`UnknownFaces.start`) clusters faces as they arrive with bounded work
(:class:`~faceplane.gallery.unknown.IncrementalClusterer`); actions and clustering steps never interleave.
Nothing here knows HTTP or audits: the routes record who did what.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import UnknownClusteringConfig
from ..errors import InvalidArgumentError, NotFoundError
from ..gallery.gallery import Gallery
from ..gallery.records import Consent, EnrollReport, Identification, Rejection, UnknownFace, UnknownFilter
from ..gallery.unknown import ClusterStep, ClusterView, IncrementalClusterer, best_faces, list_clusters, list_faces
from ..governance import check_enrollment
from ..images import encode_jpeg
from ..types import Faces

__all__ = ["NewPerson", "Sightings", "UnknownFaces", "unknown_faces_for"]

log = logging.getLogger(__name__)

_MAX_SELECTED = 900  # faces one action takes at most (one SQLite statement's parameters)
#: Two faces are linked when closer than the model's calibrated 1:1 distance at this false-accept rate (as
#: Gallery.cluster_unknown: tighter than verification keeps clusters pure, see gallery/cluster.py).
CLUSTER_FAR = 3e-4


@dataclass(frozen=True)
class NewPerson:
    """Who a named cluster becomes: what an enrollment form asks (``expires_at``: Unix s, None: no expiry)."""

    name: str
    external_id: str | None = None
    consent: Consent | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class Sightings:
    """The faces of one photo sent as a sighting: who each is, and the id it was kept under when unknown.

    Attributes:
        faces: the faces found, largest first.
        found: the search result of each face (``person`` None: unknown).
        kept: (N,) the unknown-face id of each face, None for a recognised one.
    """

    faces: Faces
    found: list[Identification]
    kept: list[int | None]


class UnknownFaces:
    """Use cases of the unknown-face library (see the module docstring).

    Args:
        gallery: the gallery (its store holds the pool; its engine embeds photos).
        is_watchlist: whether a collection is a watchlist now (naming into one needs a purpose and expiry).
        require_consent: naming a new person needs a legal basis.
        clusterer: clusters the pool (default: one on the gallery's store at the :data:`CLUSTER_FAR` distance).
        interval_s: seconds between two clustering steps of the background job.
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        is_watchlist: Callable[[str], bool],
        require_consent: bool = False,
        clusterer: IncrementalClusterer | None = None,
        interval_s: float = 60.0,
    ) -> None:
        self.gallery = gallery
        self.is_watchlist = is_watchlist
        self.require_consent = require_consent
        self.clusterer = clusterer or IncrementalClusterer(
            gallery.store, threshold=gallery.calibration.threshold_at_far(CLUSTER_FAR)
        )
        self.interval_s = interval_s
        self._lock = threading.Lock()  # actions and clustering steps, one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- background clustering ------------------------------------------------------------------------
    def start(self) -> None:
        """Cluster in the background every ``interval_s`` until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="unknown-clustering", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def step(self) -> ClusterStep:
        """One clustering step now (what the background job does every interval)."""
        with self._lock:
            return self.clusterer.step()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.step()
                if done.new_faces or done.full_run:
                    log.info("unknown faces clustered: %s", done)
            except Exception:  # retried at the next interval; the server stays up
                log.exception("clustering unknown faces failed")
            self._stop.wait(self.interval_s)

    # -- views --------------------------------------------------------------------------------------
    def faces(self, where: UnknownFilter, *, limit: int = 100, offset: int = 0) -> list[UnknownFace]:
        return list_faces(self.gallery.store, where, limit=limit, offset=offset)

    def clusters(
        self, where: UnknownFilter, *, order: str = "size", limit: int = 100, offset: int = 0, best: int = 4
    ) -> list[ClusterView]:
        """Clusters with a face matching ``where``, each with its ``best`` shots (quality first)."""
        found = list_clusters(self.gallery.store, where, order=order, limit=limit, offset=offset)
        shots = best_faces(self.gallery.store, [c.id for c in found], best)
        return [ClusterView(c, shots.get(c.id, [])) for c in found]

    def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG chip of one unknown face (None: kept without one).

        Raises:
            NotFoundError: no unknown face with that id (enrolled, dismissed or past retention).
        """
        details = self.gallery.store.unknown_details([face_id])
        if face_id not in details:
            raise NotFoundError(f"no unknown face {face_id}")
        return details[face_id][1]

    # -- sightings ------------------------------------------------------------------------------------
    def record(self, image: bytes, source: str) -> Sightings:
        """Identify every face of a photo; keep the unknown ones in the pool as seen by ``source``."""
        faces, chips, _ = self.gallery.engine.detect_detailed(image)
        if not len(faces):
            return Sightings(faces, [], [])
        emb = self.gallery.engine.embed_chips(chips)
        found = self.gallery.search(emb, k=1)
        unknown = [i for i, ident in enumerate(found) if not ident.is_known]
        kept: list[int | None] = [None] * len(faces)
        if unknown:
            ids = self.gallery.store.add_unknown(
                emb[unknown],
                [source] * len(unknown),
                [encode_jpeg(chips[i]) for i in unknown],
                faces.quality[unknown].tolist(),
            )
            for i, fid in zip(unknown, ids, strict=True):
                kept[i] = fid
        return Sightings(faces.with_(embedding=emb), found, kept)

    # -- actions --------------------------------------------------------------------------------------
    def name_cluster(
        self, cluster_id: int, collection: str, person: NewPerson, *, face_ids: Sequence[int] | None = None
    ) -> EnrollReport:
        """Enroll a cluster's faces (or ``face_ids`` of it) as a new person of ``collection``.

        Raises:
            NotFoundError: no such cluster or collection. InvalidArgumentError: the enrollment policy refuses
            (consent, watchlist purpose and expiry), no name, a taken external id, faces not of this cluster.
        """
        store = self.gallery.store
        store.collection_id(collection)  # NotFoundError first: a typo is not a policy matter
        if not person.name.strip():
            raise InvalidArgumentError("a named cluster needs a display name")
        watchlist = self.is_watchlist(collection)
        check_enrollment(person.consent, person.expires_at, watchlist=watchlist, require_consent=self.require_consent)
        if person.external_id and store.find_person(collection, external_id=person.external_id) is not None:
            raise InvalidArgumentError(f"external id {person.external_id!r} is already used in {collection!r}")
        with self._lock:
            ids, emb = self._cluster_faces(cluster_id, face_ids)
            keep, rejected = _consistent(ids, emb, np.zeros((0, emb.shape[1]), np.float32), self._same_person)
            if not keep.any():
                return EnrollReport(person=None, rejected=rejected)
            duplicates = self.gallery.duplicates(emb[keep], exclude_person=None)
            report = self._enroll(collection, ids, emb, keep, new=person)
        return EnrollReport(report.person, report.template_ids, rejected, duplicates)

    def add_to_person(
        self, person_id: int, *, cluster_ids: Sequence[int] = (), face_ids: Sequence[int] = ()
    ) -> EnrollReport:
        """Add the faces of clusters and single faces to an existing person's templates.

        Raises:
            NotFoundError: no such person, cluster or face. InvalidArgumentError: nothing selected.
        """
        person = self.gallery.store.get_person(person_id)
        with self._lock:
            ids, emb = self._selected(cluster_ids, face_ids)
            _, anchors = self.gallery.store.embeddings_of(person_id)
            keep, rejected = _consistent(ids, emb, anchors, self._same_person)
            if not keep.any():
                return EnrollReport(person=person, rejected=rejected)
            duplicates = self.gallery.duplicates(emb[keep], exclude_person=person_id)
            report = self._enroll(person.collection, ids, emb, keep, person_id=person_id)
        return EnrollReport(report.person, report.template_ids, rejected, duplicates)

    def dismiss(self, *, cluster_ids: Sequence[int] = (), face_ids: Sequence[int] = ()) -> list[int]:
        """Delete clusters and single faces from the pool (enrolled as nobody); returns the face ids deleted.

        Raises:
            NotFoundError: no such cluster or face. InvalidArgumentError: nothing selected.
        """
        with self._lock:
            ids, _ = self._selected(cluster_ids, face_ids)
            self.gallery.remove_unknown(ids)
        return ids

    # -- internals ------------------------------------------------------------------------------------
    @property
    def _same_person(self) -> float:
        """The distance under which two faces are taken for one person when enrolling (as enrollment does)."""
        return float(self.gallery.calibration.best_accuracy_threshold)

    def _cluster_faces(
        self, cluster_id: int, face_ids: Sequence[int] | None
    ) -> tuple[list[int], npt.NDArray[np.float32]]:
        rows, emb = self.gallery.store.unknown_faces(cluster_id=cluster_id)
        if not rows:
            raise NotFoundError(f"no unknown-face cluster {cluster_id} (named, dismissed or re-clustered since)")
        ids = [int(r["id"]) for r in rows]
        if face_ids is None:
            return ids, emb
        wanted = set(face_ids)
        if stray := sorted(wanted - set(ids)):
            raise InvalidArgumentError(f"face(s) {stray} are not in cluster {cluster_id}")
        take = [i for i, fid in enumerate(ids) if fid in wanted]
        return [ids[i] for i in take], emb[take]

    def _selected(
        self, cluster_ids: Sequence[int], face_ids: Sequence[int]
    ) -> tuple[list[int], npt.NDArray[np.float32]]:
        """The faces of these clusters and these single faces, each once, by id."""
        if not cluster_ids and not face_ids:
            raise InvalidArgumentError("select at least one cluster or face")
        found: dict[int, npt.NDArray[np.float32]] = {}
        for cid in dict.fromkeys(cluster_ids):
            ids, emb = self._cluster_faces(cid, None)
            found.update(zip(ids, emb, strict=True))
        if face_ids:
            wanted = sorted(set(face_ids))
            if len(wanted) > _MAX_SELECTED:
                raise InvalidArgumentError(f"at most {_MAX_SELECTED} single faces at once, got {len(wanted)}")
            rows, emb = self.gallery.store.unknown_faces(face_ids=wanted)
            if missing := sorted(set(wanted) - {int(r["id"]) for r in rows}):
                raise NotFoundError(f"no unknown face(s) {missing} (enrolled, dismissed or past retention)")
            found.update(zip((int(r["id"]) for r in rows), emb, strict=True))
        ids = sorted(found)
        return ids, np.stack([found[i] for i in ids]).astype(np.float32)

    def _enroll(
        self,
        collection: str,
        ids: list[int],
        emb: npt.NDArray[np.float32],
        keep: npt.NDArray[np.bool_],
        *,
        person_id: int | None = None,
        new: NewPerson | None = None,
    ) -> EnrollReport:
        """Enroll the kept faces with their thumbnails and qualities, then take them out of the pool."""
        chosen = [fid for fid, k in zip(ids, keep, strict=True) if k]
        details = self.gallery.store.unknown_details(chosen)
        quality = [q if q is not None else float("nan") for q, _ in (details.get(f, (None, None)) for f in chosen)]
        thumbs = [details.get(f, (None, None))[1] for f in chosen]
        report = self.gallery.enroll_embeddings(
            collection,
            emb[keep],
            person_id=person_id,
            name=new.name if new else None,
            external_id=new.external_id if new else None,
            consent=new.consent if new else None,
            expires_at=new.expires_at if new else None,
            qualities=quality,
            thumbnails=thumbs,
        )
        self.gallery.remove_unknown(chosen)
        return report


def _consistent(
    ids: list[int], emb: npt.NDArray[np.float32], anchors: npt.NDArray[np.float32], threshold: float
) -> tuple[npt.NDArray[np.bool_], list[Rejection]]:
    """Which faces to enroll together: each must be within ``threshold`` of another face or of an anchor (the
    person's templates); a lone face with nothing to compare with is kept. Refused faces get a reason."""
    if len(emb) + len(anchors) < 2:
        return np.ones(len(emb), bool), []
    others = np.concatenate([emb, anchors]) if len(anchors) else emb
    dist = np.linalg.norm(emb[:, None, :] - others[None, :, :], axis=2)
    dist[np.arange(len(emb)), np.arange(len(emb))] = np.inf  # not itself
    nearest = dist.min(axis=1)
    keep = nearest <= threshold
    rejected = [
        Rejection(
            f"unknown face {fid}",
            [f"matches none of the other faces (nearest distance {d:.2f} > {threshold:.2f}): left in the pool"],
        )
        for fid, d, k in zip(ids, nearest.tolist(), keep.tolist(), strict=True)
        if not k
    ]
    return keep, rejected


def unknown_faces_for(
    gallery: Gallery, config: UnknownClusteringConfig, *, is_watchlist: Callable[[str], bool], require_consent: bool
) -> UnknownFaces:
    """The library of a server (composition: the settings' ``unknown_clustering`` turned into arguments)."""
    threshold = config.threshold or gallery.calibration.threshold_at_far(CLUSTER_FAR)
    clusterer = IncrementalClusterer(
        gallery.store,
        threshold=threshold,
        min_size=config.min_size,
        faces_per_run=config.faces_per_run,
        full_every_s=config.full_every_minutes * 60.0,
        max_faces=config.max_faces,
    )
    return UnknownFaces(
        gallery=gallery,
        is_watchlist=is_watchlist,
        require_consent=require_consent,
        clusterer=clusterer,
        interval_s=config.interval_s,
    )
