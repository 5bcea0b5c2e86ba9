"""Liveness sessions and trusted verification: face-pay (1:1) and door access (1:N) a photo cannot fool.

:class:`LivenessService` owns what the liveness routes need and nothing else: the session checker and
its 68-point engine (both loaded on first use: the 68-point model is non-commercial and slow to load),
the access rules of the settings, and the evidence frames kept for each decision. Every decision is
audited with its evidence. :class:`faceplane.services.Services` builds one and exposes it as
``services.liveness``; ``server/routes/liveness.py`` calls it.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..gallery.gallery import Gallery
from ..governance.accounts import Principal
from ..governance.audit import AuditLog
from ..liveness.sessions import LiveCapture, LivenessChecker, LivenessStatus
from ..pipeline import Engine
from ._files import file_below

__all__ = ["LIVENESS_DETECT_WIDTH", "LiveDecision", "LivenessService"]

#: Liveness sessions detect faces on frames shrunk to this width (kiosk distance; see LivenessService._checker).
LIVENESS_DETECT_WIDTH = 320


@dataclass(frozen=True)
class LiveDecision:
    """The answer of verify-live (1:1) and identify-live (1:N).

    Attributes:
        liveness: the liveness session's outcome.
        allowed: live, matched and (1:N) let in by the access rules now.
        reasons: why not, in words; empty when allowed.
        person_id, name, collection: who matched (1:1: the claimed person, whether or not matched).
        distance, threshold: the embedding distance and the threshold it was held to (None: no face).
        evidence: the evidence frames kept, as paths below the evidence folder.
    """

    liveness: LivenessStatus
    allowed: bool
    reasons: list[str]
    person_id: int | None
    name: str | None
    collection: str | None
    distance: float | None
    threshold: float | None
    evidence: list[str]


class LivenessService:
    """Liveness sessions, verify-live, identify-live and the access rules (see the module docstring).

    Args:
        gallery: whose templates a live face is compared with; engines made here embed like its engine.
        settings: read on each call (liveness mode, challenges, FAR, redaction, access rules), so a change
            to them applies to the next session or decision.
        audit: where each verify-live and identify-live decision is recorded.
        evidence_dir: one folder per session of evidence frames (retention and erasure clean it too).
    """

    def __init__(self, *, gallery: Gallery, settings: Settings, audit: AuditLog, evidence_dir: Path) -> None:
        self.gallery = gallery
        self.settings = settings
        self.audit = audit
        self.evidence_dir = evidence_dir
        self._lock = threading.Lock()
        self._engine68: Engine | None = None  # loaded on first use (the 68-point model is non-commercial)
        self._liveness: LivenessChecker | None = None

    # -- engines ----------------------------------------------------------------------------------
    def _embedding_options(self) -> dict[str, Any]:
        """Engines made here embed like the gallery's, so their faces can be compared with its templates."""
        main = self.gallery.engine
        return {"embedder": main.embedder_name, "flip_tta": main.flip_tta, "device": main.device}

    def engine_68(self) -> Engine:
        """The 68-landmark engine at full size (``/analyze?landmarks=68``), loaded on first use."""
        with self._lock:
            if self._engine68 is None:
                self._engine68 = Engine(landmarks=68, **self._embedding_options())
            return self._engine68

    def _checker(self) -> LivenessChecker:
        with self._lock:
            if self._liveness is None:
                # A kiosk face fills a good part of the frame: found at 320 px it is found in 4x more frames
                # of a head turn than at full size (HOG misses half-profiles there), in 40 ms instead of 230;
                # the landmarks and cues are still measured on the full frame.
                engine = Engine(landmarks=68, detect_width=LIVENESS_DETECT_WIDTH, **self._embedding_options())
                engine.warm_up()  # the session's first frames set the resting pose: they must not wait for models
                self._liveness = LivenessChecker(
                    engine, mode=self.settings.liveness_mode, redact=self.settings.redact_snapshots
                )
            return self._liveness

    # -- sessions ---------------------------------------------------------------------------------
    def start(self, challenges: list[str] | None = None) -> tuple[LivenessStatus, str]:
        """A new liveness session and its nonce (``challenges``: a fixed order, for admins and tests)."""
        checker = self._checker()
        status = checker.start(challenges=challenges, count=self.settings.liveness_challenges)
        return status, checker.nonce(status.session_id)

    def status(self, session_id: str) -> LivenessStatus:
        return self._checker().status(session_id)

    def frame(self, session_id: str, nonce: str, image: bytes, t_s: float | None) -> LivenessStatus:
        checker = self._checker()
        checker.feed_image(session_id, nonce, self.gallery.engine.load(image), t_s)
        return checker.status(session_id)

    def clip(self, session_id: str, nonce: str, clip: bytes) -> LivenessStatus:
        checker = self._checker()
        with tempfile.NamedTemporaryFile(suffix=".clip") as f:
            f.write(clip)
            f.flush()
            checker.feed_clip(session_id, nonce, f.name)
        return checker.status(session_id)

    # -- decisions --------------------------------------------------------------------------------
    def verify(self, who: Principal, session_id: str, person_id: int, *, ip: str = "") -> LiveDecision:
        """1:1, face-pay: is the live person of a decided session ``person_id``? Audited with the evidence."""
        person = self.gallery.store.get_person(person_id)
        capture = self._checker().take(session_id)
        reasons = _not_live(capture)
        distance = threshold = None
        _, embeddings = self.gallery.store.embeddings_of(person_id)
        if capture.embedding is not None and len(embeddings):
            distance = float(np.linalg.norm(embeddings - capture.embedding, axis=1).min())
            threshold = self.gallery.calibration.threshold(self.settings.liveness_far)
            if distance > threshold:
                reasons.append(f"not {person.display_name}: distance {distance:.3f} > {threshold:.3f}")
        elif not len(embeddings):
            reasons.append(f"{person.display_name} has no enrolled face")
        decision = LiveDecision(
            liveness=capture.status,
            allowed=not reasons,
            reasons=reasons,
            person_id=person_id,
            name=person.display_name,
            collection=person.collection,
            distance=distance,
            threshold=threshold,
            evidence=self._keep_evidence(capture),
        )
        self._audit(who, "verify-live", f"person:{person_id}", ip, decision)
        return decision

    def identify(
        self, who: Principal, session_id: str, collections: list[str], *, ip: str = "", now: float | None = None
    ) -> LiveDecision:
        """1:N, door access: who is the live person, and may they pass now (``access`` rules)?"""
        for name in collections:
            self.gallery.store.collection_id(name)  # NotFoundError for an unknown collection
        capture = self._checker().take(session_id)
        reasons = _not_live(capture)
        found = None
        if capture.embedding is not None and not reasons:  # a spoof learns nothing of whom it resembles
            found = self.gallery.search(capture.embedding[None], collections=collections or None, k=1)[0]
        person = found.person if found else None
        if found is not None and person is None:
            reasons.append("not enrolled in " + (", ".join(collections) or "any collection"))
        elif person is not None and (refusal := self.access_refusal(person.collection, now)):
            reasons.append(refusal)
        nearest = found.candidates[0] if found and found.candidates else None
        decision = LiveDecision(
            liveness=capture.status,
            allowed=not reasons,
            reasons=reasons,
            person_id=person.person_id if person else None,
            name=person.display_name if person else None,
            collection=person.collection if person else None,
            distance=nearest.distance if nearest else None,
            threshold=found.threshold_for(nearest.collection) if found and nearest else None,  # its collection's own
            evidence=self._keep_evidence(capture),
        )
        self._audit(who, "identify-live", ",".join(collections), ip, decision)
        return decision

    def access_refusal(self, collection: str, now: float | None) -> str | None:
        """Why ``collection`` may not pass at ``now`` (local time) under the access rules; None: it may."""
        rules = [r for r in self.settings.access if r.collection == collection]
        if not self.settings.access:
            return None
        local = time.localtime(time.time() if now is None else now)
        if any(r.allows(local.tm_wday, local.tm_hour * 60 + local.tm_min) for r in rules):
            return None
        if not rules:
            return f"no access rule lets {collection!r} in"
        return f"{collection!r} may not pass at {time.strftime('%a %H:%M', local)}"

    # -- evidence ---------------------------------------------------------------------------------
    def evidence(self, relative: str) -> Path:
        """An evidence frame of a verify-live or identify-live decision (path below ``evidence/``)."""
        return file_below(self.evidence_dir, relative, "evidence frame")

    def _keep_evidence(self, capture: LiveCapture) -> list[str]:
        folder = self.evidence_dir / capture.status.session_id
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for item in capture.evidence:
            path = folder / f"{item.label}.jpg"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(item.jpeg)
            tmp.replace(path)
            kept.append(f"{capture.status.session_id}/{path.name}")
        return kept

    def _audit(self, who: Principal, action: str, target: str, ip: str, d: LiveDecision) -> None:
        distance = None if d.distance is None else round(d.distance, 4)
        detail = {
            "session": d.liveness.session_id,
            "live": d.liveness.passed,
            "allowed": d.allowed,
            "person": d.person_id,
            "distance": distance,
            "reasons": d.reasons,
            "evidence": d.evidence,
        }
        self.audit.record(actor=who.name, role=who.role, action=action, target=target, ip=ip, status=200, detail=detail)


def _not_live(capture: LiveCapture) -> list[str]:
    return [] if capture.status.passed else ["not live: " + "; ".join(capture.status.reasons or ["failed"])]
