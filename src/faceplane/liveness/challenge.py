"""Active liveness: a random sequence of challenges, checked from 68-point landmarks over frames.

A :class:`LivenessSession` draws a random order of challenges (blink, turn left, turn right, look
up, open mouth) and a nonce. The client shows them one at a time and sends frames; each frame's
68 landmarks give the cues (:func:`measure_cues`): eye aspect ratio (EAR, Soukupova & Cech 2016),
mouth opening (MAR), head pose by PnP (:mod:`faceplane.pose`). A challenge is met when its cue
moves far enough from the person's own resting value, which is measured on the first frames of the
session (so glasses or narrow eyes do not matter). The session fails when a challenge is not met in
time, when the whole session takes too long, or when the face changes person midway (embedding
continuity: a near-frontal face farther than ``same_person_distance`` from the session's first one).
A recorded video of an earlier session is refused because the order differs every time and frames
must carry this session's nonce; a decided session takes no more frames.

Thresholds were set on the shared live clip (``liveness/antispoof-zubair-videos/videos/real.mov``:
resting EAR ~0.27, blinks to 0.12; MAR at rest < 0.1, open ~0.4; head turns +-45 degrees) and are
relative to the resting value, not absolute. The identity threshold is the embedder's calibrated 1:1
threshold at FAR 1e-3 (:data:`IDENTITY_FAR`), 1.05 for MobileFaceNet: on ``real.mov`` its
near-frontal frames stay within 0.88 of the first one, while another person (``obama.jpg``) is 1.51 away.

Example:
    >>> session = LivenessSession(challenges=["blink"], seed=1)
    >>> session.challenges
    ['blink']
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ..pose import head_pose
from ..verify import load_calibration

__all__ = [
    "CHALLENGES",
    "IDENTITY_FAR",
    "LOOK_AT_CAMERA",
    "PROMPTS",
    "Cues",
    "LivenessSession",
    "SessionResult",
    "measure_cues",
]

CHALLENGES = ("blink", "turn_left", "turn_right", "look_up", "open_mouth")
#: What to tell the person for each challenge ("left" is their own left: a mirrored preview shows it on the left).
PROMPTS = {
    "blink": "Blink your eyes",
    "turn_left": "Turn your head to your left",
    "turn_right": "Turn your head to your right",
    "look_up": "Look up",
    "open_mouth": "Open your mouth",
}
LOOK_AT_CAMERA = "Look straight at the camera"  # until the resting pose is known

_BLINK_RATIO = 0.72  # EAR below this share of the resting EAR = eyes closing ...
_OPEN_RATIO = 0.9  # ... and back above this share = a blink
_TURN_DEG = 20.0  # yaw away from rest; "left" is the person's left (their face turns to the image's right)
_TURN_ABS_DEG = 25.0  # ... and at least this far from frontal (a session may start with the head turned)
_LOOK_UP_DEG = 12.0
_MOUTH_OPEN = 0.3  # MAR above rest + this
_REST_FRAMES = 3  # frames that set the resting values ...
_REST_MAX_DEG = 20.0  # ... taken only when the head is this near frontal (a turned head is no resting pose)
#: 1:1 false-accept rate of the identity-continuity check: a stranger taking over midway passes it ~1 in 1,000
#: (the rate of the default verify-live decision; raw dlib's former fixed 0.55 sat at about this rate too)
IDENTITY_FAR = 1e-3


@dataclass(frozen=True)
class Cues:
    """What one frame's landmarks say: eye aspect ratio, mouth aspect ratio, head pose (degrees)."""

    ear: float
    mar: float
    yaw: float
    pitch: float
    roll: float


def _eye_ratio(eye: npt.NDArray[np.float64]) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    return float(vertical / (2.0 * np.linalg.norm(eye[0] - eye[3]) + 1e-9))


def measure_cues(landmarks: npt.ArrayLike, width: int, height: int) -> Cues:
    """Cues of one face from its (68, 2) pixel landmarks in a ``width`` x ``height`` frame.

    Raises:
        InvalidArgumentError: landmarks that are not 68-point.
    """
    pts = np.asarray(landmarks, np.float64)
    if pts.shape != (68, 2):
        raise InvalidArgumentError(f"liveness needs (68, 2) landmarks (Engine(landmarks=68)), got {pts.shape}")
    ear = (_eye_ratio(pts[36:42]) + _eye_ratio(pts[42:48])) / 2
    mar = float(np.linalg.norm(pts[62] - pts[66]) / (np.linalg.norm(pts[60] - pts[64]) + 1e-9))
    yaw, pitch, roll = head_pose(pts[None], width, height)[0].tolist()
    return Cues(ear, mar, yaw, pitch, roll)


@dataclass(frozen=True)
class SessionResult:
    """The decision: ``passed``, the challenges met in order, and the reasons when it failed."""

    passed: bool
    completed: list[str]
    reasons: list[str]
    nonce: str


@dataclass
class _Rest:
    ear: float
    yaw: float
    pitch: float
    mar: float


def check_distance(distance: float | None) -> float:
    """A session's ``same_person_distance``: the default embedder's calibrated 1:1 threshold at
    :data:`IDENTITY_FAR` when None, else a positive finite number.

    Raises:
        InvalidArgumentError: a non-positive or non-finite distance.
    """
    if distance is None:
        return load_calibration().threshold_at_far(IDENTITY_FAR)
    if not (np.isfinite(distance) and distance > 0):
        raise InvalidArgumentError(f"same_person_distance must be > 0, got {distance}")
    return float(distance)


def check_frame(expected_nonce: str, nonce: str, decided: bool) -> None:
    """A frame may feed a session only with its nonce, and only before the decision (no replay).

    Raises:
        InvalidArgumentError: a nonce from another session, or a decided session.
    """
    if not secrets.compare_digest(nonce, expected_nonce):
        raise InvalidArgumentError("this frame belongs to another liveness session (nonce mismatch)")
    if decided:
        raise InvalidArgumentError("this liveness session is decided; start a new one")


@dataclass
class SamePerson:
    """The session's face stays one person: each embedding within ``distance`` of the first one."""

    distance: float
    first: npt.NDArray[np.float32] | None = None

    def accepts(self, embedding: npt.ArrayLike) -> bool:
        e = np.asarray(embedding, np.float32)
        if self.first is None:
            self.first = e
            return True
        return float(np.linalg.norm(e - self.first)) <= self.distance


@dataclass
class LivenessSession:
    """One challenge-response session (see the module docstring).

    Args:
        challenges: the sequence to ask for (default: ``count`` drawn at random without repeats).
        count: how many challenges to draw.
        challenge_timeout_s: time allowed for each challenge once it is shown.
        total_timeout_s: time allowed for the whole session.
        seed: for repeatable tests only; production sessions draw from the OS's random source.
        same_person_distance: the largest embedding distance to the session's first face still taken
            as the same person; it depends on the embedder, so pass the calibrated threshold of the
            engine that makes the embeddings (:class:`~faceplane.liveness.LivenessChecker` does). None:
            the default embedder's (MobileFaceNet) calibrated 1:1 threshold at :data:`IDENTITY_FAR`.

    Raises:
        InvalidArgumentError: unknown challenges, a bad ``count`` or a non-positive ``same_person_distance``.
    """

    challenges: list[str] = field(default_factory=list)
    count: int = 3
    challenge_timeout_s: float = 6.0
    total_timeout_s: float = 30.0
    seed: int | None = None
    same_person_distance: float | None = None
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _index: int = 0
    _started_t: float | None = None
    _challenge_t: float | None = None
    _rest_samples: list[Cues] = field(default_factory=list)
    _rest: _Rest | None = None
    _eyes_closed: bool = False
    _completed: list[str] = field(default_factory=list)
    _failure: str | None = None

    def __post_init__(self) -> None:
        self.same_person_distance = check_distance(self.same_person_distance)
        self._identity = SamePerson(self.same_person_distance)
        if self.challenges:
            unknown = [c for c in self.challenges if c not in CHALLENGES]
            if unknown:
                raise InvalidArgumentError(f"unknown challenges {unknown}; known: {CHALLENGES}")
        else:
            if not 1 <= self.count <= len(CHALLENGES):
                raise InvalidArgumentError(f"count must be in 1..{len(CHALLENGES)}, got {self.count}")
            rng = (
                np.random.default_rng(self.seed)
                if self.seed is not None
                else np.random.default_rng(secrets.randbits(64))
            )
            self.challenges = [str(c) for c in rng.permutation(CHALLENGES)[: self.count]]

    @property
    def current(self) -> str | None:
        """The challenge to show now (None once the session is decided)."""
        return None if self.decided else self.challenges[self._index]

    @property
    def ready(self) -> bool:
        """The resting pose is known (until then the person should look straight at the camera)."""
        return self._rest is not None

    @property
    def decided(self) -> bool:
        return self._failure is not None or self._index >= len(self.challenges)

    def feed(
        self,
        t_s: float,
        cues: Cues | None,
        *,
        nonce: str,
        embedding: npt.ArrayLike | None = None,
    ) -> str | None:
        """One frame at ``t_s`` seconds (its cues, or None when no face was found); returns the challenge now due.

        ``embedding`` is the face's (D,) float32 embedding (None: not compared), from the engine whose
        threshold is ``same_person_distance``.

        Raises:
            InvalidArgumentError: a nonce from another session, or frames after the decision (replay).
        """
        check_frame(self.nonce, nonce, self.decided)
        if self._started_t is None:
            self._started_t = t_s
        if t_s - self._started_t > self.total_timeout_s:
            return self._fail(f"the session took longer than {self.total_timeout_s:g} s")
        if cues is None:
            return self._timeout(t_s)
        # identity is compared on near-frontal frames only: a 40-degree profile is far from any frontal embedding
        frontal = abs(cues.yaw) < _TURN_ABS_DEG
        if embedding is not None and frontal and not self._identity.accepts(embedding):
            return self._fail("the face changed during the session (another person or a swapped picture)")
        if self._rest is None:
            if abs(cues.yaw) > _REST_MAX_DEG or abs(cues.pitch) > _REST_MAX_DEG:
                return self._timeout(t_s)
            self._rest_samples.append(cues)
            if len(self._rest_samples) >= _REST_FRAMES:
                s = self._rest_samples
                self._rest = _Rest(
                    *(float(np.median([getattr(c, k) for c in s])) for k in ("ear", "yaw", "pitch", "mar"))
                )
                self._challenge_t = t_s
            return self.current
        if self._met(self.challenges[self._index], cues):
            self._completed.append(self.challenges[self._index])
            self._index += 1
            self._eyes_closed = False
            self._challenge_t = t_s
            return self.current
        return self._timeout(t_s)

    def result(self) -> SessionResult:
        """The decision so far (``passed`` only once every challenge was met in order)."""
        reasons = [self._failure] if self._failure else []
        if not self._failure and not self.decided:
            reasons = [f"waiting for {self.current!r}"]
        passed = self._failure is None and self._index >= len(self.challenges)
        return SessionResult(passed, list(self._completed), reasons, self.nonce)

    # -- internals ------------------------------------------------------------------------------
    def _fail(self, reason: str) -> str | None:
        """Decide the session as failed; returns the challenge now due (None: decided)."""
        self._failure = reason
        return self.current

    def _timeout(self, t_s: float) -> str | None:
        if self._challenge_t is not None and t_s - self._challenge_t > self.challenge_timeout_s:
            return self._fail(f"{self.current!r} not done within {self.challenge_timeout_s:g} s")
        return self.current

    def _met(self, challenge: str, c: Cues) -> bool:
        rest = self._rest
        assert rest is not None
        if challenge == "blink":
            if c.ear < _BLINK_RATIO * rest.ear:
                self._eyes_closed = True
                return False
            return self._eyes_closed and c.ear > _OPEN_RATIO * rest.ear
        if challenge == "turn_left":
            return c.yaw - rest.yaw > _TURN_DEG and c.yaw > _TURN_ABS_DEG
        if challenge == "turn_right":
            return rest.yaw - c.yaw > _TURN_DEG and c.yaw < -_TURN_ABS_DEG
        if challenge == "look_up":
            return c.pitch - rest.pitch > _LOOK_UP_DEG
        return c.mar - rest.mar > _MOUTH_OPEN
