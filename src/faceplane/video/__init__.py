"""Video analytics: sources, tracking, recognition once per track, rules and the engine.

Importing this package loads no model and opens no stream.
"""

from .analyzer import AnalyzerSettings, FrameAnalysis, LocalAnalyzer, ProcessAnalyzer
from .camera import CameraSummary
from .engine import VideoEngine
from .recognise import ShotPolicy, TrackIdentities, vote
from .rules import CameraRules, Line, RuleHit, Zone
from .sources import SourceState, SourceStatus, VideoSource
from .tracker import Tracker, Tracks
from .visitors import VisitorBook

__all__ = [
    "AnalyzerSettings",
    "CameraRules",
    "CameraSummary",
    "FrameAnalysis",
    "Line",
    "LocalAnalyzer",
    "ProcessAnalyzer",
    "RuleHit",
    "ShotPolicy",
    "SourceState",
    "SourceStatus",
    "TrackIdentities",
    "Tracker",
    "Tracks",
    "VideoEngine",
    "VideoSource",
    "VisitorBook",
    "Zone",
    "vote",
]
