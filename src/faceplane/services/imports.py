"""Bulk imports: a zip of photos, one folder per person, enrolled in the background, resumable.

An import goes through the same door as a single enrollment: the ``enroll`` callable is the server's
(:meth:`faceplane.services.GalleryService.enroll`: the quality gate of the settings, the consent and watchlist policy
of :func:`~faceplane.governance.check_enrollment` for each new person). The consent fields and the expiry of
the import apply to every person it creates; the policy is checked once when the import is asked for, so a
watchlist import without a purpose is refused before anything is uploaded for good.

How it runs (:class:`ImportService`):

1. :meth:`~ImportService.create` copies the upload into ``<data>/imports/<id>.zip`` (size-capped), checks the
   archive (:mod:`faceplane.gallery.archive`: zip-slip and zip-bomb safe) and stores the job with one row per
   member (:mod:`faceplane.gallery.imports`). The same archive sent again for the same collection while its job
   is not done answers that job (a dropped upload, sent again, continues it rather than starting over).
2. A background thread enrolls one person's photos per batch, each batch committed: files marked
   ``enrolling``, the gallery's enrollment, then each file's outcome.
3. After a restart, :meth:`~ImportService.start` carries on with every queued or interrupted job. A file is
   never enrolled twice: the same bytes twice in one archive are a duplicate from the start, and before each
   batch the person's templates are looked up by the files' SHA-256 (a file whose template already exists was
   enrolled before the restart, or by an earlier import: it is not sent to the gallery again).
4. A job that fails (the collection was deleted, an internal error) waits, ``failed``, for
   :meth:`~ImportService.resume`. Done jobs lose their archive at once (photos are personal data); their
   report, and failed jobs with their archive, are forgotten ``keep_days`` after their last change.

The audit log gets one row when a job starts (the route's) and one when it ends (``import.finish`` or
``import.fail``, with the counts), never one per file.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from ..config import Settings
from ..errors import FaceplaneError, InvalidArgumentError
from ..gallery.archive import ArchiveError, ArchiveLimits, copy_archive, read_archive, read_photos
from ..gallery.gallery import Gallery
from ..gallery.imports import FileOutcome, ImportFile, ImportJob, ImportStore, Outcome, outcomes_of
from ..gallery.records import Consent, EnrollReport
from ..governance import check_enrollment
from ..governance.audit import AuditLog

__all__ = ["EnrollFn", "ImportService", "import_service_for", "report_lines"]

log = logging.getLogger(__name__)


class EnrollFn(Protocol):
    """Enroll photos of one person (the signature of :meth:`faceplane.services.GalleryService.enroll`)."""

    def __call__(
        self,
        collection: str,
        images: list[bytes],
        *,
        name: str | None,
        person_id: int | None,
        consent: Consent | None,
        expires_at: float | None = None,
    ) -> EnrollReport: ...


class ImportService:
    """Bulk imports of zipped photos (see the module docstring).

    Args:
        store: the jobs and their files.
        folder: where uploaded archives are kept until their job is done.
        gallery: the gallery imported into (people are found by name, their templates by photo hash).
        enroll: how one person's photos are enrolled (the server's enrollment: quality gate and policy).
        limits: how large an archive may be.
        is_watchlist: whether a collection is a watchlist now (its entries need a purpose and an expiry).
        require_consent: new people need a legal basis.
        audit: where each job's end is recorded (None: nowhere, e.g. the CLI); its start is the caller's.
        batch_files: photos of one person sent to the gallery at once (each batch is committed).
        keep_days: days a done or failed job's report is kept after its last change.
    """

    def __init__(
        self,
        *,
        store: ImportStore,
        folder: Path,
        gallery: Gallery,
        enroll: EnrollFn,
        limits: ArchiveLimits,
        is_watchlist: Callable[[str], bool] = lambda _: False,
        require_consent: bool = False,
        audit: AuditLog | None = None,
        batch_files: int = 32,
        keep_days: float = 30.0,
    ) -> None:
        if batch_files < 1:
            raise InvalidArgumentError(f"batch_files must be >= 1, got {batch_files}")
        self.store = store
        self.folder = Path(folder)
        self.gallery = gallery
        self.enroll = enroll
        self.limits = limits
        self.is_watchlist = is_watchlist
        self.require_consent = require_consent
        self.audit = audit
        self.batch_files = batch_files
        self.keep_days = keep_days
        self._batch_lock = threading.Lock()  # one batch at a time, whoever runs it
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Carry on with queued and interrupted jobs in a background thread until :meth:`stop`."""
        for stray in self.folder.glob("upload-*.part"):  # uploads a stop cut short: no job holds them
            stray.unlink(missing_ok=True)
        self._forget_old()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="imports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch under way (its job carries on at the next :meth:`start`)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.store.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            active = self.store.active_jobs()
            if not active:
                self._wake.wait(30.0)
                self._wake.clear()
                continue
            self._step(active[0])

    # -- use cases ------------------------------------------------------------------------------------
    def create(
        self,
        upload: BinaryIO,
        *,
        filename: str,
        collection: str,
        consent: Consent | None,
        expires_at: float | None,
        actor: str,
        role: str,
    ) -> tuple[ImportJob, bool]:
        """Keep an uploaded archive as a new job (queued); returns it and True, or the job already importing
        the same archive into the same collection and False (resumed if it had failed).

        Raises:
            NotFoundError: no such collection.
            InvalidArgumentError: the consent and watchlist policy refuses these fields.
            ArchiveError, ArchiveTooLargeError: see :mod:`faceplane.gallery.archive`.
        """
        self.gallery.store.collection_id(collection)  # NotFoundError for a typo
        check_enrollment(
            consent, expires_at, watchlist=self.is_watchlist(collection), require_consent=self.require_consent
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"upload-{uuid.uuid4().hex}.part"
        try:
            digest = copy_archive(upload, part, max_bytes=self.limits.max_archive_bytes)
            same = self.store.unfinished(collection, digest)
            if same is not None and self._archive(same.id).is_file():
                return self.resume(same.id), False
            entries = read_archive(part, self.limits)
            job_id = self.store.create_job(
                collection, filename[:200] or "upload.zip", digest, entries, actor=actor, role=role, consent=consent,
                expires_at=expires_at,
            )  # fmt: skip
            part.replace(self._archive(job_id))
        finally:
            part.unlink(missing_ok=True)
        self._forget_old()
        self._wake.set()
        return self.store.job(job_id), True

    def job(self, job_id: int) -> ImportJob:
        """Raises NotFoundError for an unknown id."""
        return self.store.job(job_id)

    def jobs(self, *, collection: str | None = None, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        return self.store.jobs(collection=collection, limit=limit, offset=offset)

    def files(
        self,
        job_id: int,
        *,
        outcomes: Iterable[Outcome] = (),
        with_reasons: bool = False,
        limit: int = 100_000,
        offset: int = 0,
    ) -> list[ImportFile]:
        """A job's files (see :meth:`ImportStore.files`); raises NotFoundError for an unknown job."""
        self.store.job(job_id)
        return self.store.files(job_id, outcomes=tuple(outcomes), with_reasons=with_reasons, limit=limit, offset=offset)

    def resume(self, job_id: int) -> ImportJob:
        """Queue a failed job again (a queued, running or done one is left as it is); returns it."""
        job = self.store.job(job_id)
        if job.status == "failed":
            self.store.set_status(job_id, "queued")
        if job.status != "done":
            self._wake.set()
        return self.store.job(job_id)

    def run(self, job_id: int, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
        """Every batch of a job now, in this thread (the CLI), calling ``progress`` after each; returns the job
        as it ends (done, or failed: see its ``error``)."""
        if self.store.job(job_id).status == "failed":
            self.store.set_status(job_id, "queued")
        while self._step(job_id):
            if progress is not None:
                progress(self.store.job(job_id))
        return self.store.job(job_id)

    def run_batch(self, job_id: int) -> bool:
        """Enroll the next batch of a job now; False when nothing was left (the job is then done).

        Raises:
            FaceplaneError: the job cannot go on (its archive is gone, its collection deleted...); the
                background thread then marks it failed.
        """
        with self._batch_lock:
            job = self.store.job(job_id)
            if job.status == "done":
                return False
            files = self.store.next_batch(job_id, self.batch_files)
            if not files:
                self._finish(job)
                return False
            if job.status != "running":
                self.store.set_status(job_id, "running")
            archive = self._archive(job_id)
            if not archive.is_file():
                raise ArchiveError("the archive of this import was not kept (the server stopped during the upload)")
            self.store.record(job_id, self._enroll(job, files, archive))
            return True

    # -- one batch ------------------------------------------------------------------------------------
    def _enroll(self, job: ImportJob, files: list[ImportFile], archive: Path) -> list[FileOutcome]:
        """Outcomes of one person's files: those already enrolled by hash, then the gallery's answer."""
        name = files[0].person
        person = self.gallery.store.find_person(job.collection, name=name)
        known = {t.image_sha256: t.id for t in self.gallery.store.templates_of(person.id)} if person else {}
        done: list[FileOutcome] = []
        todo: list[ImportFile] = []
        for f in files:
            template = known.get(f.sha256)
            if template is None or person is None:
                todo.append(f)
            elif f.outcome == "enrolling":  # enrolled just before a restart, outcome not stored yet
                done.append(FileOutcome(f.seq, "enrolled", [], person.id, template))
            else:
                reason = f"this photo is already enrolled as {person.display_name} (#{person.id})"
                done.append(FileOutcome(f.seq, "duplicate", [reason], person.id, template))
        if not todo:
            return done
        self.store.mark_enrolling(job.id, [f.seq for f in todo])
        photos = list(read_photos(archive, [f.seq for f in todo], max_bytes=self.limits.max_photo_bytes))
        readable = [(f, data) for f, data in zip(todo, photos, strict=True) if data is not None]
        done += [
            FileOutcome(f.seq, "refused", ["unreadable in the archive"])
            for f, d in zip(todo, photos, strict=True)
            if d is None
        ]
        if not readable:
            return done
        try:
            report = self.enroll(
                job.collection, [data for _, data in readable], name=name, person_id=person.id if person else None,
                consent=job.consent, expires_at=job.expires_at,
            )  # fmt: skip
        except InvalidArgumentError as exc:  # the policy, e.g. the collection became a watchlist meanwhile
            return done + [FileOutcome(f.seq, "refused", [str(exc)]) for f, _ in readable]
        return done + outcomes_of(report, [f for f, _ in readable])

    def _step(self, job_id: int) -> bool:
        try:
            return self.run_batch(job_id)
        except FaceplaneError as exc:
            self._fail(job_id, str(exc))
        except Exception as exc:  # one broken job must not stop the others: it waits, failed, for a resume
            log.exception("import %s failed", job_id)
            self._fail(job_id, f"internal error ({type(exc).__name__}); see the server log")
        return False

    def _finish(self, job: ImportJob) -> None:
        self._audit(job, "import.finish", 200)  # before the status: who sees "done" finds the row
        self.store.set_status(job.id, "done")
        self._archive(job.id).unlink(missing_ok=True)  # photos are personal data: kept no longer than needed

    def _fail(self, job_id: int, error: str) -> None:
        self._audit(self.store.job(job_id), "import.fail", 500, error=error)
        self.store.set_status(job_id, "failed", error=error)

    def _audit(self, job: ImportJob, action: str, status: int, **extra: object) -> None:
        if self.audit is None:
            return
        c = job.counts
        detail = {"import": job.id, "people": c.people, "enrolled": c.enrolled, "refused": c.refused,
                  "duplicate": c.duplicate, "skipped": c.skipped, "pending": c.pending, **extra}  # fmt: skip
        self.audit.record(
            actor=job.actor, role=job.role, action=action, target=job.collection, ip="", status=status, detail=detail
        )

    def _archive(self, job_id: int) -> Path:
        return self.folder / f"{job_id}.zip"

    def _forget_old(self) -> None:
        for job_id in self.store.delete_idle_before(time.time() - self.keep_days * 86400):
            self._archive(job_id).unlink(missing_ok=True)


def report_lines(job: ImportJob, files: list[ImportFile]) -> list[str]:
    """An import's report as text, person by person, in the words of ``faceplane gallery enroll``'s report."""
    lines: list[str] = []
    people: dict[str, list[ImportFile]] = {}
    for f in files:
        people.setdefault(f.person, []).append(f)
    for name, own in people.items():
        enrolled = [f for f in own if f.outcome == "enrolled"]
        ids = sorted({f.person_id for f in own if f.person_id is not None})
        who = f"{name} (#{', #'.join(map(str, ids))})" if ids else (name or "(no person folder)")
        lines.append(f"{who}: {len(enrolled)} template(s) enrolled")
        for f in own:
            if f.outcome in ("refused", "duplicate", "skipped"):
                lines.append(f"  {f.outcome} {f.member}: {'; '.join(f.reasons)}")
            elif f.reasons:
                lines.append(f"  warning {f.member}: {'; '.join(f.reasons)}")
    c = job.counts
    lines.append(
        f"summary: {c.people} people, {c.enrolled} templates, {c.refused} refused, {c.duplicate} duplicate, "
        f"{c.skipped} skipped" + (f", {c.pending} not done ({job.status}: {job.error})" if c.pending else "")
    )
    return lines


def import_service_for(
    gallery: Gallery,
    settings: Settings,
    *,
    enroll: EnrollFn,
    is_watchlist: Callable[[str], bool],
    audit: AuditLog | None,
) -> ImportService:
    """The server's import service: jobs in ``<data>/imports.sqlite``, archives in ``<data>/imports/``, the limits
    of ``settings.imports`` (a photo may be as large as an image upload, ``max_upload_mb``)."""
    root, config, mb = Path(settings.data_dir), settings.imports, 1 << 20
    limits = ArchiveLimits(
        max_archive_bytes=int(config.max_archive_mb * mb),
        max_uncompressed_bytes=int(config.max_uncompressed_mb * mb),
        max_files=config.max_files,
        max_photo_bytes=int(settings.max_upload_mb * mb),
    )
    return ImportService(
        store=ImportStore(root / "imports.sqlite"), folder=root / "imports", gallery=gallery, enroll=enroll,
        limits=limits, is_watchlist=is_watchlist, require_consent=settings.require_consent, audit=audit,
        batch_files=config.batch_files, keep_days=config.keep_days,
    )  # fmt: skip
