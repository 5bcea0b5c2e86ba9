"""Liveness sessions: a few seconds of one person's frames -> a decision with reasons and evidence.

:class:`LivenessChecker` runs many sessions at once for the server (or any caller):

- :meth:`~LivenessChecker.start` draws the challenges and a nonce;
- :meth:`~LivenessChecker.feed_image` and :meth:`~LivenessChecker.feed_clip` analyse frames: the
  68 landmarks give the challenge cues, the embedding of near-frontal frames keeps the person the
  same throughout (within the engine's calibrated 1:1 threshold at ``identity_far``) and becomes the
  identity that verify-live compares, and every frame feeds the passive presentation-attack check
  (:mod:`faceplane.liveness.pad`: the hand-made cues, the device frame and the learned models, fused);
- :meth:`~LivenessChecker.status` tells where a session stands;
- :meth:`~LivenessChecker.take` hands a decided session over **once**: one live pass buys one
  payment or one door opening, never two.

What a session needs to pass depends on its ``mode``:

- ``"both"`` (default; face-pay and doors): every challenge met in order **and** the passive score
  of its frames at or above the threshold;
- ``"challenge"``: the challenges alone (the passive score is still measured and reported);
- ``"passive"``: no challenges (:class:`~.silent.SilentSession`): the face is watched for about a
  second and the passive score alone decides; for kiosks and video, with the limits the README states.

Time. Challenge timing uses the capture time of each frame: the client's ``t_s`` when given (so
that upload latency does not eat the user's time), else the server's clock. The client's timeline
may not run ahead of the server's (``t_s`` since the first frame <= server time since the session
started + 2 s), and the whole session expires on the server's clock. A clip uses its own timeline
under the same rule, so a clip recorded before the challenges were drawn cannot be longer than the
time since they were shown.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, NotFoundError
from ..images import encode_jpeg
from ..pipeline import Engine
from ..redact import blur_faces
from ..verify import load_calibration
from .challenge import IDENTITY_FAR, Cues, LivenessSession, measure_cues
from .pad import PadClip, PadResult, PresentationAttackDetector
from .silent import SilentSession

__all__ = ["MODES", "Evidence", "LiveCapture", "LivenessChecker", "LivenessStatus"]

MODES = ("both", "challenge", "passive")

_CLOCK_SLACK_S = 2.0  # how far a client's timeline may run ahead of the server's
_MAX_FRAMES = 900  # per session: 30 s at 30 fps
_FRONTAL_DEG = 15.0  # |yaw| below twice this: the frame is embedded (identity continuity, identity)
# |yaw| and |pitch| below this: the frame may serve as the identity (the most frontal one does). The same
# bound as the resting pose: at 15 the shared webcam clip, which looks slightly down, offered one frame,
# and a session whose frames fell a little later had none.
_IDENTITY_DEG = 20.0
_EVIDENCE_WIDTH = 640  # evidence frames are shrunk to this width


@dataclass(frozen=True)
class Evidence:
    """One frame kept as evidence: what it shows (``label``), when (``t_s``), the JPEG."""

    label: str
    t_s: float
    jpeg: bytes


@dataclass(frozen=True)
class LivenessStatus:
    """Where a session stands.

    Attributes:
        session_id: the session's id.
        challenges: the challenges, in the order asked.
        current: the challenge to show now (None once decided).
        ready: the resting pose is known; until then the person should look straight at the camera.
        completed: challenges met so far, in order.
        decided: no more frames are taken.
        passed: decided, every challenge met and the passive check passed.
        passive_score: 0..1, higher = more like a live person (None before any face).
        reasons: why it failed, or what it waits for.
        frames: frames received; ``faces``: frames with exactly one usable face.
    """

    session_id: str
    challenges: list[str]
    current: str | None
    ready: bool
    completed: list[str]
    decided: bool
    passed: bool
    passive_score: float | None
    reasons: list[str]
    frames: int
    faces: int


@dataclass(frozen=True)
class LiveCapture:
    """A decided session handed over once: its status, the identity embedding (D,) float32 of its
    most frontal frame (D = the engine's ``embedding_dim``; None when no frontal face was seen) and the
    evidence frames."""

    status: LivenessStatus
    embedding: npt.NDArray[np.float32] | None
    evidence: list[Evidence]


@dataclass
class _Session:
    id: str
    active: LivenessSession | SilentSession
    passive: PadClip | None  # made at the first face (the detector's models load then)
    started_s: float  # server clock
    frames: int = 0
    faces: int = 0
    first_t: float | None = None
    last_t: float = -1.0
    passive_now: PadResult | None = None
    passive_final: PadResult | None = None
    best: tuple[float, npt.NDArray[np.float32]] | None = None  # (|yaw| + |pitch|, embedding)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    taken: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class LivenessChecker:
    """Runs liveness sessions (see the module docstring).

    Args:
        engine: an :class:`~faceplane.Engine` with ``landmarks=68``.
        mode: ``"both"``, ``"challenge"`` or ``"passive"`` (module docstring).
        pad: the passive check (default: :class:`~.pad.PresentationAttackDetector` with the shipped
            fusion and the installed models, made at the first face).
        ttl_s: how long a session lives on the server's clock, decided or not.
        max_sessions: open sessions at most (the oldest expired ones are dropped first).
        redact: blur every face but the subject's in the evidence frames (bystanders are not kept).
        clock: the server's clock (tests inject one).
        identity_far: the 1:1 false-accept rate at which a session's face must stay the same person:
            the engine's calibrated threshold at this rate (``engine.calibration_key``) is the largest
            embedding distance to the session's first face (default :data:`~.challenge.IDENTITY_FAR`).

    Raises:
        InvalidArgumentError: an engine without 68 landmarks, an unknown mode, or ``identity_far``
            outside (0, 1].
    """

    def __init__(
        self,
        engine: Engine,
        *,
        mode: str = "both",
        pad: PresentationAttackDetector | None = None,
        ttl_s: float = 120.0,
        max_sessions: int = 1000,
        redact: bool = True,
        clock: Callable[[], float] = time.monotonic,
        identity_far: float = IDENTITY_FAR,
    ) -> None:
        if engine.landmark_points != 68:
            raise InvalidArgumentError("liveness needs an Engine(landmarks=68)")
        if mode not in MODES:
            raise InvalidArgumentError(f"liveness mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.engine = engine
        # embedding distances mean different things per embedder: the threshold is the engine's own
        self.same_person_distance = load_calibration(engine.calibration_key).threshold_at_far(identity_far)
        self._pad = pad
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.redact = redact
        self.clock = clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def pad(self) -> PresentationAttackDetector:
        """The passive check (made on first use: it loads the learned models)."""
        with self._lock:
            if self._pad is None:
                self._pad = PresentationAttackDetector()
            return self._pad

    # -- sessions -------------------------------------------------------------------------------
    def start(self, *, challenges: list[str] | None = None, count: int = 3) -> LivenessStatus:
        """A new session with ``challenges`` (default: ``count`` drawn at random) and a fresh nonce.

        In ``"passive"`` mode there are no challenges: ``count`` is ignored and fixed ``challenges``
        are refused.

        Raises:
            InvalidArgumentError: unknown challenges, a bad count, challenges in passive mode, or too
                many open sessions.
        """
        active: LivenessSession | SilentSession
        if self.mode == "passive":
            if challenges:
                raise InvalidArgumentError("liveness_mode is 'passive': this server asks no challenges")
            active = SilentSession(same_person_distance=self.same_person_distance)
        else:
            active = LivenessSession(
                challenges=list(challenges or []), count=count, same_person_distance=self.same_person_distance
            )
        total_s = active.total_timeout_s
        if self.ttl_s < total_s:
            raise InvalidArgumentError(f"ttl_s ({self.ttl_s:g}) is shorter than a session ({total_s:g} s)")
        session = _Session(
            secrets.token_urlsafe(12), active, None, self.clock()
        )
        with self._lock:
            self._expire()
            if len(self._sessions) >= self.max_sessions:
                raise InvalidArgumentError(f"{self.max_sessions} liveness sessions are open; try again shortly")
            self._sessions[session.id] = session
        return self._status(session)

    def nonce(self, session_id: str) -> str:
        """The session's nonce (handed to the client with the challenges)."""
        return self._get(session_id).active.nonce

    def status(self, session_id: str) -> LivenessStatus:
        return self._status(self._get(session_id))

    def take(self, session_id: str) -> LiveCapture:
        """The decided session with its identity and evidence, exactly once.

        Raises:
            NotFoundError: an unknown or expired session.
            InvalidArgumentError: a session not decided yet, or already used.
        """
        session = self._get(session_id)
        with session.lock:
            if not session.active.decided:
                raise InvalidArgumentError(f"liveness session {session_id} is not decided yet")
            if session.taken:
                raise InvalidArgumentError(f"liveness session {session_id} was already used; start a new one")
            session.taken = True
            embedding = session.best[1] if session.best else None
            return LiveCapture(self._status(session), embedding, list(session.evidence.values()))

    # -- frames ---------------------------------------------------------------------------------
    def feed_image(self, session_id: str, nonce: str, image: npt.NDArray[np.uint8], t_s: float | None = None) -> None:
        """One frame, captured at ``t_s`` seconds on the client's clock (None: now on the server's).

        Raises:
            NotFoundError: an unknown or expired session.
            InvalidArgumentError: a wrong nonce, a decided session, time running backwards or ahead
                of the server's clock, or too many frames.
        """
        session = self._get(session_id)
        with session.lock:
            if t_s is None:
                t_s = self.clock() - session.started_s
            self._check_time(session, t_s)
            self._feed(session, nonce, image, t_s)

    def feed_clip(self, session_id: str, nonce: str, path: str, *, fps: float = 15.0) -> None:
        """Every frame of a short video file (sampled at ``fps``) on the clip's own timeline.

        Raises:
            NotFoundError, InvalidArgumentError: as :meth:`feed_image`; also a file that is not a video.
        """
        from ..video.sources import SourceState, VideoSource

        session = self._get(session_id)
        with session.lock:
            if not secrets.compare_digest(nonce, session.active.nonce):
                raise InvalidArgumentError("this clip belongs to another liveness session (nonce mismatch)")
            uploaded_s = self.clock() - session.started_s  # the clip was recorded before this, not while we decode
            duration_s = _clip_duration_s(path)
            if duration_s is not None and duration_s > uploaded_s + _CLOCK_SLACK_S:
                raise InvalidArgumentError(
                    f"the clip lasts {duration_s:.1f} s but the session started {uploaded_s:.1f} s ago"
                )
            offset = session.last_t + 1e-3 if session.first_t is not None else 0.0
            source = VideoSource(path, camera="liveness-clip", fps=fps)
            try:
                for frame in source.frames():
                    if session.active.decided:
                        break
                    self._check_time(session, offset + frame.t_s, uploaded_s)
                    self._feed(session, nonce, frame.image, offset + frame.t_s)
            finally:
                source.stop()
            status = source.status
            if session.frames == 0 and status.state == SourceState.FAILED:
                raise InvalidArgumentError(f"the clip could not be decoded: {status.reason}")

    # -- internals ------------------------------------------------------------------------------
    def _get(self, session_id: str) -> _Session:
        with self._lock:
            self._expire()
            session = self._sessions.get(session_id)
        if session is None:
            raise NotFoundError(f"no liveness session {session_id!r} (unknown or expired)")
        return session

    def _expire(self) -> None:
        now = self.clock()
        for sid in [s.id for s in self._sessions.values() if now - s.started_s > self.ttl_s]:
            del self._sessions[sid]

    def _check_time(self, session: _Session, t_s: float, elapsed: float | None = None) -> None:
        if not np.isfinite(t_s) or t_s < session.last_t:
            raise InvalidArgumentError(f"frame time {t_s:g} s runs backwards (last {session.last_t:g} s)")
        if elapsed is None:
            elapsed = self.clock() - session.started_s
        if session.first_t is not None and t_s - session.first_t > elapsed + _CLOCK_SLACK_S:
            raise InvalidArgumentError(
                f"the frames span {t_s - session.first_t:.1f} s but the session started {elapsed:.1f} s ago"
            )
        if session.frames >= _MAX_FRAMES:
            raise InvalidArgumentError(f"a liveness session takes at most {_MAX_FRAMES} frames")

    def _feed(self, session: _Session, nonce: str, image: npt.NDArray[np.uint8], t_s: float) -> None:
        if not secrets.compare_digest(nonce, session.active.nonce):
            raise InvalidArgumentError("this frame belongs to another liveness session (nonce mismatch)")
        if session.active.decided:
            raise InvalidArgumentError("this liveness session is decided; start a new one")
        if session.first_t is None:
            session.first_t = t_s
        session.last_t = t_s
        session.frames += 1
        faces, chips, _ = self.engine.detect_detailed(image)
        if self.redact and len(faces) > 1:  # evidence keeps the subject (the largest face), not bystanders
            keep = np.arange(len(faces)) == 0
            evidence_image = blur_faces(image, faces.xyxy, keep=keep)
        else:
            evidence_image = image
        if len(faces) > 1 and _area(faces.xyxy[1]) > 0.5 * _area(faces.xyxy[0]):
            faces = faces[:0]  # two similar faces: whose liveness would this be? wait for one
        cues: Cues | None = None
        embedding = None
        if len(faces):
            session.faces += 1
            cues = measure_cues(faces.landmarks[0], image.shape[1], image.shape[0])
            if abs(cues.yaw) < _FRONTAL_DEG * 2:
                embedding = self.engine.embed_chips(chips[:1])[0]
                # the passive check looks at near-frontal frames only: the learned model was trained on faces
                # looking at the camera, and a head turned for a challenge reads as a replay to it (a live
                # man's turn_right/turn_left session scored 0.62 against 0.63 with every frame)
                if session.passive is None:
                    session.passive = self.pad().clip()
                session.passive_now = session.passive.add(image, faces.xyxy[0])
        before = list(session.active.result().completed)
        session.active.feed(t_s, cues, nonce=nonce, embedding=embedding)
        self._keep_evidence(session, evidence_image, t_s, cues, embedding, before)
        if session.active.decided and session.passive is not None:
            session.passive_final = session.passive.result()

    def _keep_evidence(
        self,
        session: _Session,
        image: npt.NDArray[np.uint8],
        t_s: float,
        cues: Cues | None,
        embedding: npt.NDArray[np.float32] | None,
        before: list[str],
    ) -> None:
        if cues is None:
            return
        result = session.active.result()
        label = None
        if not session.evidence:
            label = "start"
        elif len(result.completed) > len(before):
            label = result.completed[-1]
        elif session.active.decided and not result.passed:
            label = "failed"
        frontal = abs(cues.yaw) + abs(cues.pitch)
        is_frontal = abs(cues.yaw) < _IDENTITY_DEG and abs(cues.pitch) < _IDENTITY_DEG
        if embedding is not None and is_frontal and (session.best is None or frontal < session.best[0]):
            session.best = (frontal, embedding)
            session.evidence["identity"] = Evidence("identity", t_s, _small_jpeg(image))
        if label is not None:
            session.evidence[label] = Evidence(label, t_s, _small_jpeg(image))

    def _status(self, session: _Session) -> LivenessStatus:
        active = session.active.result()
        passive = session.passive_final or session.passive_now
        reasons = list(active.reasons)
        passed = active.passed
        if session.active.decided:
            if passive is None:
                passed = False
                reasons.append("no face was seen")
            elif not passive.live and self.mode != "challenge":
                passed = False
                reasons.extend(passive.reasons)
            if passed and session.best is None:
                passed = False
                reasons.append("no frontal face to identify (look at the camera once)")
        return LivenessStatus(
            session_id=session.id,
            challenges=list(session.active.challenges),
            current=session.active.current,
            ready=session.active.ready,
            completed=active.completed,
            decided=session.active.decided,
            passed=passed,
            passive_score=None if passive is None else round(passive.score, 4),
            reasons=reasons,
            frames=session.frames,
            faces=session.faces,
        )


def _clip_duration_s(path: str) -> float | None:
    """The clip's duration from its container (None: not a video, or the container does not say)."""
    import av

    try:
        with av.open(path) as container:
            if container.duration:
                return float(container.duration) / 1e6  # av.time_base: microseconds
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, IndexError):
        return None
    return None


def _area(box: npt.NDArray[np.float32]) -> float:
    return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))


def _small_jpeg(image: npt.NDArray[np.uint8]) -> bytes:
    if image.shape[1] > _EVIDENCE_WIDTH:
        import cv2

        h = round(image.shape[0] * _EVIDENCE_WIDTH / image.shape[1])
        image = np.asarray(cv2.resize(image, (_EVIDENCE_WIDTH, h), interpolation=cv2.INTER_AREA), np.uint8)
    return encode_jpeg(image, 85)
