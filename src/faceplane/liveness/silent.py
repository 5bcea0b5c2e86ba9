"""A session without challenges (``liveness_mode = "passive"``): watch the face for a moment, then decide.

Kiosks and video cannot ask a person to blink or turn. :class:`SilentSession` has the interface of
:class:`~.challenge.LivenessSession` (so :class:`~.sessions.LivenessChecker` runs either) but asks for
nothing: it is decided once it has seen ``frames`` frames with a face spread over at least ``span_s``
seconds (enough for the parallax cue), or fails at ``total_timeout_s``. It keeps the same-person rule:
near-frontal embeddings must stay within ``same_person_distance`` of the first one. Whether the face is
live is then the passive check's call alone (the checker applies it), which is why this mode is only as
good as the passive score: see the README's liveness section for what it does and does not catch.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy.typing as npt

from ..errors import InvalidArgumentError
from .challenge import _TURN_ABS_DEG, Cues, SamePerson, SessionResult, check_distance, check_frame

__all__ = ["SilentSession"]


@dataclass
class SilentSession:
    """Watch one face for ``frames`` face frames over >= ``span_s`` seconds (module docstring).

    Raises:
        InvalidArgumentError: ``frames`` < 2, ``span_s`` < 0, or a non-positive ``same_person_distance``.
    """

    frames: int = 12
    span_s: float = 1.0
    total_timeout_s: float = 30.0
    same_person_distance: float | None = None
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    challenges: list[str] = field(default_factory=list)
    _started_t: float | None = None
    _face_times: list[float] = field(default_factory=list)
    _failure: str | None = None
    _done: bool = False

    def __post_init__(self) -> None:
        if self.frames < 2 or self.span_s < 0:
            raise InvalidArgumentError(f"frames must be >= 2 and span_s >= 0, got {self.frames}, {self.span_s}")
        self.same_person_distance = check_distance(self.same_person_distance)
        self._identity = SamePerson(self.same_person_distance)

    @property
    def current(self) -> str | None:
        return None

    @property
    def ready(self) -> bool:
        return bool(self._face_times)

    @property
    def decided(self) -> bool:
        return self._done or self._failure is not None

    def feed(self, t_s: float, cues: Cues | None, *, nonce: str, embedding: npt.ArrayLike | None = None) -> str | None:
        """One frame at ``t_s`` (its cues, None without a face); always returns None (nothing to ask).

        Raises:
            InvalidArgumentError: a nonce from another session, or frames after the decision.
        """
        check_frame(self.nonce, nonce, self.decided)
        if self._started_t is None:
            self._started_t = t_s
        if t_s - self._started_t > self.total_timeout_s:
            self._failure = f"no face was seen long enough within {self.total_timeout_s:g} s"
            return None
        if cues is None:
            return None
        # identity is compared on near-frontal frames, as the challenges do
        if embedding is not None and abs(cues.yaw) < _TURN_ABS_DEG and not self._identity.accepts(embedding):
            self._failure = "the face changed during the session (another person or a swapped picture)"
            return None
        self._face_times.append(t_s)
        if len(self._face_times) >= self.frames and self._face_times[-1] - self._face_times[0] >= self.span_s:
            self._done = True
        return None

    def result(self) -> SessionResult:
        """Decided without failure counts as passed here; the checker adds the passive verdict."""
        if self._failure:
            return SessionResult(False, [], [self._failure], self.nonce)
        if not self._done:
            return SessionResult(False, [], ["look at the camera"], self.nonce)
        return SessionResult(True, [], [], self.nonce)
