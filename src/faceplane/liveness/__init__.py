"""Liveness: is a live person in front of the camera, not a photo or a screen?

- :mod:`.challenge`: active challenge-response (blink, turn, look up, open mouth) from 68 landmarks;
- :mod:`.passive`: passive print/screen cues from frames and short clips, combined into one score;
- :mod:`.sessions`: sessions that join both for the server (start -> frames or a clip -> decision
  with reasons and evidence), used by ``/verify-live`` (1:1) and ``/identify-live`` (1:N).
"""

from .challenge import CHALLENGES, IDENTITY_FAR, PROMPTS, Cues, LivenessSession, SessionResult, measure_cues
from .passive import PASSIVE_THRESHOLD, PassiveClip, PassiveCues, PassiveResult, passive_frame
from .sessions import Evidence, LiveCapture, LivenessChecker, LivenessStatus

__all__ = [
    "CHALLENGES",
    "IDENTITY_FAR",
    "PASSIVE_THRESHOLD",
    "PROMPTS",
    "Cues",
    "Evidence",
    "LiveCapture",
    "LivenessChecker",
    "LivenessSession",
    "LivenessStatus",
    "PassiveClip",
    "PassiveCues",
    "PassiveResult",
    "SessionResult",
    "measure_cues",
    "passive_frame",
]
