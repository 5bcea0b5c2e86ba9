"""Enroll people, search faces 1:N with open-set rejection, remove people: store + index + engine.

Writes go to the SQLite store first and to the index second. If the process dies in between,
the index is rebuilt from the store on the next open (the store's generation counter tells a
persisted index it is stale, see :mod:`.index_sync`), and search results are re-checked against the
store, so a deleted person is never returned and an enrolled one is never lost. What enrollment
checks (the quality gate, one person per batch, duplicates) and the bulk layouts are in
:mod:`.enrollment`; unknown faces are listed and clustered by :mod:`.unknown`.

Example:
    >>> gallery = Gallery.open("data/")                              # doctest: +SKIP
    >>> gallery.create_collection("staff")                           # doctest: +SKIP
    >>> gallery.enroll("staff", ["ada1.jpg", "ada2.jpg"], name="Ada") # doctest: +SKIP
    >>> [i.person for i in gallery.identify("door-cam.jpg")]          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, NotFoundError
from ..images import ImageInput, encode_jpeg
from ..pipeline import EMBEDDERS, Engine
from ..verify import Calibration, face_distance, load_calibration
from .enrollment import (
    QualityGate,
    accepted_faces,
    duplicate_people,
    enroll_people,
    existing_person,
    folder_people,
    manifest_people,
    mixed_identities,
)
from .index import VectorIndex, make_index
from .index_sync import IndexSync
from .migrate import check_engine, embedder_for, upgrade_legacy
from .negatives import CorrectionResult, Negatives, rule_out
from .records import (
    Candidate,
    Collection,
    Consent,
    EnrollReport,
    Identification,
    Person,
    Rejection,
    UnknownCluster,
)
from .search import FaceSightings, find_face, nearest_people
from .store import SqliteStore
from .thresholds import CollectionThresholds
from .unknown import cluster_all

__all__ = ["Gallery", "QualityGate"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]


class Gallery:
    """People and their face templates, searchable 1:N.

    A gallery holds the embeddings of one model (``store.embedding_model``): the engine must make
    the same ones, so a search never compares two models' vectors. ``faceplane gallery migrate``
    (:func:`faceplane.gallery.migrate.migrate_gallery`) re-embeds a gallery for another model.

    Args:
        store: the source of truth.
        index: the vector index (default: exact numpy search, rebuilt from the store).
        engine: the face pipeline used for photos (default: an :class:`~faceplane.Engine` with the
            embedder of the store's model).
        threshold: a fixed open-set distance threshold. Default: chosen per search for a
            false-positive identification rate of ``fpir`` given how many people are searched
            (the 1:1 threshold at FAR = fpir / people, from the calibrated FAR curve).
        fpir: target rate at which a stranger is wrongly identified as someone (default 1%).
        state_dir: where a persistent index keeps its generation marker (None: always rebuild).
    """

    def __init__(
        self,
        *,
        store: SqliteStore,
        index: VectorIndex | None = None,
        engine: Engine | None = None,
        threshold: float | None = None,
        fpir: float = 0.01,
        state_dir: str | Path | None = None,
    ) -> None:
        self.store = store
        upgrade_legacy(store)  # raw dlib (dlib@1) -> unit length (dlib@2): exact, needs no photos
        self.engine = engine if engine is not None else Engine(embedder=embedder_for(store.embedding_model))  # type: ignore[arg-type]
        check_engine(self.engine, store.embedding_model)
        self.index: VectorIndex = index if index is not None else make_index("exact", dim=store.embedding_dim)
        self.fixed_threshold = float(threshold) if threshold is not None else None
        self.fpir = fpir
        self.calibration: Calibration = load_calibration(self.engine.calibration_key)
        self.calibration.threshold_for_fpir(fpir, 1)  # fail now, not at the first search
        # 1:1 "is this the same person?" for duplicate checks at enrollment
        self.duplicate_threshold = self.calibration.threshold(1e-3)
        self._threshold_cache: tuple[tuple[int, tuple[str, ...] | None], float] | None = None
        self.negatives = Negatives(store)  # "not this person" corrections, honoured by every search
        self.thresholds = CollectionThresholds(store)  # per-collection settings (a target FPIR or a distance)
        self._limits_cache: tuple[int, dict[str, float]] | None = None
        self._index_sync = IndexSync(store, self.index, state_dir)
        self._index_sync.open()

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        index: str = "exact",
        engine: Engine | None = None,
        template_key: bytes | None = None,
        embedder: str = "auto",
        detector: str = "hog",
        device: str = "cpu",
        **index_options: Any,
    ) -> Gallery:
        """Open (or create) the gallery in ``data_dir``: ``faceplane.db`` plus the index's files.

        Args:
            engine: the pipeline for photos; it must make the gallery's embeddings. Default: one
                with the gallery's embedder (``embedder``).
            embedder: without an engine: ``"auto"`` (an existing gallery's own model, MobileFaceNet
                for a new one), or an embedder name, which an existing gallery must hold.
            detector, device: the face detector and device of the engine made here (without ``engine``).
            template_key: 32 bytes (:func:`~faceplane.gallery.crypto.parse_template_key`): embeddings and
                thumbnails in ``faceplane.db`` are encrypted with it (see :class:`SqliteStore`). Not covered:
                the vectors in RAM, the files a FAISS index saves (``index.faiss/``) and Milvus's storage.

        Raises:
            InvalidArgumentError: an encrypted gallery opened without its key or with another one.
        """
        root = Path(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        if index == "faiss":
            index_options.setdefault("path", root / "index.faiss")
        if index == "milvus":
            index_options.setdefault("uri", str(root / "milvus.db"))
        if template_key is not None and index != "exact":
            logger.warning("template_key encrypts faceplane.db only: the %s index stores its vectors in clear", index)
        if engine is None and embedder != "auto":
            engine = Engine(embedder=embedder, detector=detector, device=device)  # type: ignore[arg-type]
        new_model = engine.embedding_model if engine is not None else EMBEDDERS["mobilefacenet"].tag
        store = SqliteStore(root / "faceplane.db", key=template_key, model=new_model)
        try:
            if engine is None:
                name = embedder_for(store.embedding_model)
                engine = Engine(embedder=name, detector=detector, device=device)  # type: ignore[arg-type]
            index_ = make_index(index, dim=store.embedding_dim, **index_options)
            return cls(store=store, index=index_, engine=engine, state_dir=root)
        except BaseException:
            store.close()
            raise

    # -- index consistency -------------------------------------------------------------------------

    def rebuild_index(self) -> None:
        """Rebuild the index from the store (the source of truth)."""
        self._index_sync.rebuild()

    def _after_index_change(self, *, checkpoint: bool = False) -> None:
        """Record that the index saw every committed change (saved at checkpoints only, see :mod:`.index_sync`)."""
        self._index_sync.changed(checkpoint=checkpoint)

    def close(self) -> None:
        """Persist the index (if it can be) and close the store."""
        self._after_index_change(checkpoint=True)
        self.store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections and people ----------------------------------------------------------------------

    def create_collection(self, name: str, *, description: str = "") -> Collection:
        return self.store.create_collection(name, description=description)

    def list_collections(self) -> list[Collection]:
        return self.store.list_collections()

    def delete_collection(self, name: str) -> int:
        """Delete a collection with everyone in it; returns the number of templates removed."""
        ids = self.store.delete_collection(name)
        self.index.remove(np.asarray(ids, np.int64))
        self._after_index_change()
        return len(ids)

    def list_people(self, collection: str, *, limit: int = 1000, offset: int = 0) -> list[Person]:
        return self.store.list_people(collection, limit=limit, offset=offset)

    def remove_person(self, person_id: int) -> int:
        """Remove a person and all their templates; returns the number of templates removed."""
        ids = self.store.delete_person(person_id)
        self.index.remove(np.asarray(ids, np.int64))
        self._after_index_change()
        return len(ids)

    def remove_template(self, template_id: int) -> None:
        """Remove one face template (a poor photo) and keep the person.

        Raises:
            NotFoundError: no template with that id.
        """
        if not self.store.delete_templates([template_id]):
            raise NotFoundError(f"no template with id {template_id}")
        self.index.remove(np.asarray([template_id], np.int64))
        self._after_index_change()

    def remove_unknown(self, face_ids: Sequence[int]) -> int:
        """Delete unknown faces (with their thumbnails and cluster membership); returns how many."""
        self.store.delete_unknown(face_ids)
        return len(face_ids)

    def find_face(self, embedding: npt.ArrayLike, *, threshold: float | None = None) -> FaceSightings:
        """Every stored trace of one face: templates of any person and unknown faces within ``threshold``.

        An exact scan of the store, not the index (an erasure must not depend on an approximate
        search). ``threshold`` defaults to the calibrated FAR 1e-3 distance.
        """
        probe = np.asarray(embedding, np.float32).reshape(-1)
        if probe.shape != (self.store.embedding_dim,):
            raise InvalidArgumentError(
                f"find_face needs one ({self.store.embedding_dim},) embedding, got {np.shape(embedding)}"
            )
        limit = threshold if threshold is not None else self.calibration.threshold(1e-3)
        return find_face(self.store, probe, limit)

    # -- enrollment ----------------------------------------------------------------------------------

    def enroll(
        self,
        collection: str,
        images: Sequence[ImageInput],
        *,
        name: str | None = None,
        person_id: int | None = None,
        external_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        consent: Consent | None = None,
        expires_at: float | None = None,
        gate: QualityGate | None = None,
        on_duplicate: Literal["warn", "refuse"] = "warn",
    ) -> EnrollReport:
        """Enroll photos of one person (new, or existing by ``person_id`` / ``external_id``).

        Each photo must pass the quality gate; refused photos are listed with their reasons. A
        face that already matches another enrolled person (within the FAR = 1e-3 threshold) is
        reported in ``duplicates``; with ``on_duplicate="refuse"`` nothing is stored then.

        Photos that do not all show one person (a photo farther than the best-accuracy threshold
        from every other photo of the batch) are refused together, with the reason.

        Raises:
            InvalidArgumentError: neither a name nor an existing person, or an unknown collection.
        """
        gate = gate or QualityGate()
        self.store.collection_id(collection)  # NotFoundError for an unknown collection
        person = existing_person(self.store, collection, person_id, external_id)
        if person is None and not (name and name.strip()):
            raise InvalidArgumentError("enrolling a new person needs a name")
        embeddings, qualities, hashes, thumbs, rejected = accepted_faces(
            self.engine, images, gate, self.store.embedding_dim
        )
        mixed = mixed_identities(embeddings, self.calibration.best_accuracy_threshold)
        if mixed:  # storing two people under one name would poison every later search
            return EnrollReport(person=person, rejected=[*rejected, Rejection("*", [mixed])])
        duplicates = self.duplicates(embeddings, exclude_person=person.id if person else None)
        if not len(embeddings) or (duplicates and on_duplicate == "refuse"):
            if duplicates and on_duplicate == "refuse":
                rejected = [
                    *rejected,
                    Rejection("*", [f"already enrolled as {d.display_name} (#{d.person_id})" for d in duplicates]),
                ]
            return EnrollReport(person=person, rejected=rejected, duplicates=duplicates)
        if person is None:
            person = self.store.add_person(
                collection, name or "", external_id=external_id, metadata=metadata, consent=consent,
                expires_at=expires_at,
            )
        ids = self.store.add_templates(person.id, embeddings, qualities, hashes, thumbs)
        self.index.add(np.asarray(ids, np.int64), embeddings)
        self._after_index_change()
        return EnrollReport(
            person=self.store.get_person(person.id), template_ids=ids, rejected=rejected, duplicates=duplicates
        )

    def enroll_embeddings(
        self,
        collection: str,
        embeddings: npt.ArrayLike,
        *,
        name: str | None = None,
        person_id: int | None = None,
        external_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        consent: Consent | None = None,
        qualities: Sequence[float] | None = None,
        expires_at: float | None = None,
        thumbnails: Sequence[bytes | None] | None = None,
    ) -> EnrollReport:
        """Enroll precomputed (N, D) embeddings of the gallery's model (``faceplane embed``) for one person.

        No quality gate or duplicate check runs: the caller vouches for the faces. ``thumbnails``: a JPEG chip
        of each (e.g. an unknown face's), kept with its template.
        """
        emb = np.atleast_2d(np.asarray(embeddings, np.float32))
        self.store.collection_id(collection)  # NotFoundError for an unknown collection
        person = existing_person(self.store, collection, person_id, external_id)
        if person is None:
            if not (name and name.strip()):
                raise InvalidArgumentError("enrolling a new person needs a name")
            person = self.store.add_person(
                collection, name, external_id=external_id, metadata=metadata, consent=consent, expires_at=expires_at
            )
        q = list(qualities) if qualities is not None else [float("nan")] * len(emb)
        ids = self.store.add_templates(person.id, emb, q, [None] * len(emb), thumbnails)
        self.index.add(np.asarray(ids, np.int64), emb)
        self._after_index_change()
        return EnrollReport(person=self.store.get_person(person.id), template_ids=ids)

    def duplicates(self, embeddings: _F32, *, exclude_person: int | None = None) -> list[Candidate]:
        """Other enrolled people (not ``exclude_person``) these (N, D) faces match at the enrollment duplicate
        distance (1:1, FAR 1e-3), each by their nearest match, nearest first."""
        if not len(embeddings) or not len(self.index):
            return []
        found = self.search(embeddings, k=3, threshold=self.duplicate_threshold)
        return duplicate_people(found, self.duplicate_threshold, exclude_person=exclude_person)

    # -- search --------------------------------------------------------------------------------------

    def identify(
        self, image: ImageInput, *, collections: Sequence[str] | None = None, k: int = 5, threshold: float | None = None
    ) -> list[Identification]:
        """Identify every face of a photo (largest first) among the enrolled people."""
        faces = self.engine.analyze(image)
        result = self.search(faces.embedding, collections=collections, k=k, threshold=threshold)
        return [Identification(r.candidates, r.threshold, face_index=i) for i, r in enumerate(result)]

    def search(
        self,
        embeddings: npt.ArrayLike,
        *,
        collections: Sequence[str] | None = None,
        k: int = 5,
        threshold: float | None = None,
    ) -> list[Identification]:
        """Top-``k`` people for each (D,) embedding, one template per person (its nearest).

        Args:
            embeddings: (Q, D) probe embeddings of the gallery's model.
            collections: search only these collections (default: all).
            k: people per probe.
            threshold: open-set threshold (default :meth:`open_set_threshold`, and each collection's own
                setting from :meth:`collection_limits`; an explicit value replaces both).

        "Not this person" corrections (:mod:`.negatives`) mark the candidates they rule out, always.
        """
        emb = np.atleast_2d(np.asarray(embeddings, np.float32))
        thr = self.open_set_threshold(collections) if threshold is None else float(threshold)
        limits = self.collection_limits() if threshold is None else {}
        if k < 1:
            raise InvalidArgumentError(f"k must be >= 1, got {k}")
        if emb.size == 0:
            return []
        wanted = set(collections) if collections else None
        if wanted:
            for name in wanted:
                self.store.collection_id(name)  # NotFoundError for a typo, rather than silence
        result = nearest_people(self.index, self.store, emb, wanted=wanted, k=k, thr=thr)
        result = rule_out(emb, result, self.negatives.by_person())
        return [replace(r, collection_thresholds=limits) for r in result] if limits else result

    def open_set_threshold(self, collections: Sequence[str] | None = None) -> float:
        """The distance threshold a search of these collections uses (see ``fpir``)."""
        if self.fixed_threshold is not None:
            return self.fixed_threshold
        key = (self.store.generation, tuple(sorted(collections)) if collections else None)
        if self._threshold_cache is None or self._threshold_cache[0] != key:
            # counting people (not templates) per search: list_collections() joins every template (~30 ms at 100k)
            people = self.store.count_people(collections)
            self._threshold_cache = (key, self.calibration.threshold_for_fpir(self.fpir, people))
        return self._threshold_cache[1]

    def collection_limits(self) -> dict[str, float]:
        """collection -> its own distance threshold, for the collections with a setting (:mod:`.thresholds`):
        a target FPIR becomes a distance for the people of that collection."""
        key = self.store.generation
        if self._limits_cache is None or self._limits_cache[0] != key:
            limits = {
                name: setting.distance_for(self.calibration, self.store.count_people([name]))
                for name, (setting, _) in self.thresholds.all().items()
            }
            self._limits_cache = (key, limits)
        return self._limits_cache[1]

    def not_person(
        self, person_id: int, image: ImageInput, *, face_index: int | None = None, source: str = "photo", note: str = ""
    ) -> CorrectionResult:
        """Not this person: keep a face of a photo as a negative of ``person_id`` (:mod:`.negatives`), so
        neither it nor faces nearer to it than to the person's templates are named as them again.

        Args:
            face_index: which face, largest first as :meth:`identify` numbers them; None: the face nearest to
                the person's templates (an alert's snapshot: the face that was taken for them).
            source, note: where the face came from and the operator's words, kept with the correction.

        Returns:
            The correction, and the face searched again (it no longer names the person).

        Raises:
            NotFoundError: no such person. InvalidArgumentError: no face, or no face ``face_index``.
        """
        templates, template_emb = self.store.embeddings_of(self.store.get_person(person_id).id)
        faces, chips, _ = self.engine.detect_detailed(image)
        if face_index is not None and not 0 <= face_index < len(faces):
            raise InvalidArgumentError(f"no face {face_index} in the photo: {len(faces)} face(s) found")
        if not len(faces):
            raise InvalidArgumentError("no face found in the photo")
        emb = self.engine.embed_chips(chips)
        dist = face_distance(emb, template_emb) if len(templates) else np.full((len(emb), 1), np.inf, np.float32)
        i = int(np.argmin(dist.min(axis=1))) if face_index is None else face_index
        j = int(np.argmin(dist[i]))
        correction = self.negatives.add(
            person_id,
            emb[i],
            thumbnail=encode_jpeg(chips[i]),
            template_id=templates[j].id if templates else None,
            distance=float(dist[i, j]) if templates else None,
            source=source,
            note=note,
        )
        self._after_index_change()  # the generation moved: keep a saved index's marker current
        return CorrectionResult(correction, self.search(emb[i][None], k=3)[0])

    # -- bulk ----------------------------------------------------------------------------------------

    def enroll_folder(
        self,
        collection: str,
        folder: str | Path,
        *,
        gate: QualityGate | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> list[EnrollReport]:
        """Enroll one person per sub-folder (its name, underscores as spaces) from the images in it."""
        return enroll_people(self.store, self.enroll, collection, folder_people(folder), gate, progress)

    def enroll_manifest(
        self,
        collection: str,
        manifest: str | Path,
        *,
        gate: QualityGate | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> list[EnrollReport]:
        """Enroll from a CSV with columns ``path,name`` and optional ``external_id``,
        ``consent_basis``, ``consent_source``, ``consent_date`` (paths relative to the CSV)."""
        return enroll_people(self.store, self.enroll, collection, manifest_people(manifest), gate, progress)

    # -- unknown faces: clustering into recurring strangers --------------------------------------------

    def add_unknown_faces(self, image: ImageInput, *, source: str = "") -> list[int]:
        """Keep every face of a photo that matches nobody enrolled; returns the stored face ids."""
        faces, chips, _ = self.engine.detect_detailed(image)
        if not len(faces):
            return []
        emb = self.engine.embed_chips(chips)
        unknown = [i for i, ident in enumerate(self.search(emb, k=1)) if not ident.is_known]
        if not unknown:
            return []
        label = source or (str(image) if isinstance(image, (str, os.PathLike)) else "")
        thumbs = [encode_jpeg(chips[i]) for i in unknown]
        return self.store.add_unknown(emb[unknown], [label] * len(unknown), thumbs, faces.quality[unknown].tolist())

    def add_unknown_embeddings(
        self,
        embeddings: npt.ArrayLike,
        chips: npt.NDArray[np.uint8],
        *,
        source: str = "",
        qualities: Sequence[float] | None = None,
    ) -> list[int]:
        """Keep faces already embedded elsewhere (video tracks) as unknown faces, with their chips.

        Args:
            embeddings: (N, D) float32 embeddings of the gallery's model.
            chips: (N, H, W, 3) uint8 aligned chips, kept as JPEG thumbnails.
            source: where they were seen (camera id).
            qualities: (N,) 0..1 face quality of each (the best shots of a cluster are shown first).
        """
        emb = np.atleast_2d(np.asarray(embeddings, np.float32))
        if len(emb) != len(chips):
            raise InvalidArgumentError(f"{len(emb)} embeddings but {len(chips)} chips")
        return self.store.add_unknown(emb, [source] * len(emb), [encode_jpeg(c) for c in chips], qualities)

    def cluster_unknown(self, *, threshold: float | None = None, min_size: int = 2) -> list[UnknownCluster]:
        """Re-cluster all unknown faces; returns the clusters, largest first.

        ``threshold`` defaults to the calibrated 1:1 threshold at FAR 3e-4 of the gallery's model
        (0.49 for raw dlib descriptors, the old fixed default 0.5). A cluster keeps its id while it is the
        same faces (plus new ones); an id is never reused (see :func:`~.cluster.stable_cluster_ids`).
        """
        limit = threshold if threshold is not None else self.calibration.threshold_at_far(3e-4)
        return cluster_all(self.store, threshold=limit, min_size=min_size)

    def name_cluster(self, cluster_id: int, collection: str, name: str) -> EnrollReport:
        """Enroll a cluster's faces as a (new) person and drop them from the unknown pool."""
        rows, emb = self.store.unknown_faces(cluster_id=cluster_id)
        if not rows:
            raise NotFoundError(f"no unknown-face cluster {cluster_id} (run cluster_unknown first)")
        report = self.enroll_embeddings(collection, emb, name=name)
        self.store.delete_unknown([r["id"] for r in rows])
        return report

    def dismiss_cluster(self, cluster_id: int) -> int:
        """Forget a cluster's faces; returns how many were deleted."""
        rows, _ = self.store.unknown_faces(cluster_id=cluster_id)
        if not rows:
            raise NotFoundError(f"no unknown-face cluster {cluster_id}")
        self.store.delete_unknown([r["id"] for r in rows])
        return len(rows)

    # -- export / import ---------------------------------------------------------------------------------

    def export_collection(self, collection: str, out: TextIO, *, passphrase: str | None = None) -> int:
        """Write a collection as JSON Lines (a header, then one person a line); returns people written.

        With a ``passphrase`` the export is sealed: encrypted and authenticated (see
        :mod:`faceplane.gallery.transfer`).
        """
        from .transfer import export_collection

        return export_collection(self, collection, out, passphrase=passphrase)

    def import_collection(self, collection: str, lines: Iterable[str], *, passphrase: str | None = None) -> int:
        """Read an export into ``collection`` (created if missing); returns people imported.

        A sealed export needs its ``passphrase`` and is checked whole before anything is imported.

        Raises:
            InvalidArgumentError: not a faceplane export, or a malformed line (nothing after it is read); a
                sealed export without a passphrase, with a wrong one, or modified; a plain export given a
                passphrase (it proves nothing about the file's origin).
        """
        from .transfer import import_collection

        return import_collection(self, collection, lines, passphrase=passphrase)
