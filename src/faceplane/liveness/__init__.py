"""Liveness: is a live person in front of the camera, not a photo or a screen?

Today: the active challenge-response check (:mod:`faceplane.liveness.challenge`). Passive cues and
the session API come next (see the liveness issue).
"""

from .challenge import CHALLENGES, Cues, LivenessSession, SessionResult, measure_cues

__all__ = ["CHALLENGES", "Cues", "LivenessSession", "SessionResult", "measure_cues"]
