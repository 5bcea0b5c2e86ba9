"""The governance use cases of the server: erasure, the retention job and the compliance report.

:class:`GovernanceService` owns the :class:`~faceplane.governance.retention.RetentionJob` (audited after every run
that deleted something) and the :class:`~faceplane.governance.Eraser`, and renders the compliance report
(:mod:`faceplane.governance.report`). :class:`faceplane.services.Services` builds one and exposes it as
``services.governance``; ``server/routes/governance.py``, the gallery's ``DELETE /people/{id}`` and the
admin report route call it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import Settings
from ..errors import InvalidArgumentError
from ..events import EventStore
from ..gallery.gallery import Gallery
from ..governance import Eraser, ErasureReport
from ..governance.audit import AuditLog
from ..governance.retention import RetentionJob, RetentionReport

__all__ = ["GovernanceService"]


class GovernanceService:
    """Erase people, apply the retention limits, report on the data directory (see the module docstring).

    Args:
        gallery: people, templates and unknown faces; its engine finds the face of an erasure probe photo.
        events: events and snapshots.
        audit: where retention runs are recorded (erasure writes its own entries).
        settings: the retention limits at start, and what the report describes.
        evidence_dir: the liveness evidence folder, cleaned by erasure and retention.
        watchlists: the collections that are watchlists now (the report lists them).
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        events: EventStore,
        audit: AuditLog,
        settings: Settings,
        evidence_dir: Path,
        watchlists: Callable[[], list[str]],
    ) -> None:
        self.gallery = gallery
        self.audit = audit
        self.settings = settings
        self._watchlists = watchlists
        self.retention = RetentionJob(
            gallery=gallery,
            events=events,
            config=settings.retention,
            evidence_dir=evidence_dir,
            on_run=self._audit_retention,
        )
        self.eraser = Eraser(gallery=gallery, events=events, audit=audit, evidence_dir=evidence_dir)

    def erase_person(self, person_id: int) -> ErasureReport:
        """Delete this person everywhere: templates, index, unknown faces, events, snapshots, evidence."""
        return self.eraser.erase_person(person_id)

    def erase_face(self, image: bytes, *, dry_run: bool = False) -> ErasureReport:
        """Erase everyone whose face matches the largest face of a probe photo (``dry_run``: only count)."""
        faces = self.gallery.engine.analyze(image)
        if not len(faces):
            raise InvalidArgumentError("no face found in the probe photo")
        return self.eraser.erase_face(faces.embedding[0], dry_run=dry_run)

    def run_retention(self, now_s: float | None = None) -> RetentionReport:
        """Delete everything past its retention limit at ``now_s`` (default: now)."""
        return self.retention.run(now_s)

    def _audit_retention(self, report: RetentionReport) -> None:
        counts = {k: v for k, v in vars(report).items() if k != "ran_at" and v}
        if counts:  # an hourly "nothing to do" would bury the entries that matter
            self.audit.record(
                actor="retention", role="system", action="retention", target="", ip="", status=200, detail=counts
            )

    def report(self) -> str:
        """The compliance report of the data directory as one HTML page (see :mod:`faceplane.governance.report`)."""
        from ..governance.report import build_report, render_html

        return render_html(build_report(self.settings, watchlists=self._watchlists()))
