"""Video analytics: sources, tracking, recognition once per track, rules and the engine.

Importing this package loads no model and opens no stream.
"""

from .analyzer import AnalyzerSettings, FrameAnalysis, LocalAnalyzer, ProcessAnalyzer
from .engine import CameraSummary, VideoEngine, VisitorBook
from .recognise import ShotPolicy, TrackIdentities, vote
from .rules import CameraRules, Line, RuleHit, Zone
from .sources import SourceState, SourceStatus, VideoSource
from .tracker import Tracker, Tracks

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
