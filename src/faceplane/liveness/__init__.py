"""Liveness: is a live person in front of the camera, not a photo or a screen?

- :mod:`.challenge`: active challenge-response (blink, turn, look up, open mouth) from 68 landmarks;
- :mod:`.pad`: the passive check, fused (:mod:`.fusion`) from the hand-made cues (:mod:`.passive`),
  the device/paper frame around the face (:mod:`.device`) and learned models (:mod:`.learned`);
- :mod:`.silent`: a session without challenges (``liveness_mode = "passive"``);
- :mod:`.sessions`: sessions that join them for the server (start -> frames or a clip -> decision
  with reasons and evidence), used by ``/verify-live`` (1:1) and ``/identify-live`` (1:N).
"""

from .challenge import CHALLENGES, IDENTITY_FAR, PROMPTS, Cues, LivenessSession, SessionResult, measure_cues
from .pad import PadClip, PadResult, PresentationAttackDetector
from .passive import PASSIVE_THRESHOLD, PassiveClip, PassiveCues, PassiveResult, passive_frame
from .sessions import MODES, Evidence, LiveCapture, LivenessChecker, LivenessStatus
from .silent import SilentSession

__all__ = [
    "CHALLENGES",
    "IDENTITY_FAR",
    "MODES",
    "PASSIVE_THRESHOLD",
    "PROMPTS",
    "Cues",
    "Evidence",
    "LiveCapture",
    "LivenessChecker",
    "LivenessSession",
    "LivenessStatus",
    "PadClip",
    "PadResult",
    "PassiveClip",
    "PassiveCues",
    "PassiveResult",
    "PresentationAttackDetector",
    "SessionResult",
    "SilentSession",
    "measure_cues",
    "passive_frame",
]
