"""Request and response bodies of the REST API (what the OpenAPI document shows), one module per domain.

Each module holds the bodies of the routes of the same name: :mod:`.faces`, :mod:`.gallery` (collections,
people, templates, enrollment), :mod:`.people` (editing people), :mod:`.events`, :mod:`.cameras`,
:mod:`.admin` (logins, users, keys, audit log), :mod:`.liveness`, :mod:`.governance` (erasure, retention),
:mod:`.models`, :mod:`.imports`, :mod:`.matching` (corrections, thresholds) and :mod:`.unknown`; helpers they
share are in :mod:`.common`. Modules import each other, never this package; routes import from here.
"""

from __future__ import annotations

from .admin import AuditOut, KeyIn, KeyOut, LoginIn, MeOut, NewKeyOut, UserIn, UserOut
from .cameras import CameraIn, CameraOut
from .common import consent_of, utc_seconds
from .events import ClassHourOut, DwellOut, EventOut, HourCount
from .faces import (
    AnalyzedFace,
    AnalyzeOut,
    CandidateOut,
    DetectOut,
    FaceOut,
    IdentifiedFace,
    IdentifyOut,
    MatchOut,
    analyzed_out,
    faces_out,
    identified,
)
from .gallery import CollectionIn, CollectionOut, EnrollOut, PersonOut, RejectionOut, TemplateOut, WatchlistIn
from .governance import ErasureOut, RetentionOut
from .imports import ImportCountsOut, ImportFileOut, ImportJobOut, ImportReportOut
from .liveness import IdentifyLiveIn, LiveDecisionOut, LivenessSessionOut, LivenessStartIn, VerifyLiveIn
from .matching import CorrectionIn, CorrectionOut, MatchedTemplateOut, ThresholdIn, ThresholdOut
from .models import ModelOut, ModelsOut
from .people import MergeIn, MergeOut, PersonPatchIn, TemplateMoveOut, TemplatePatchIn
from .unknown import (
    AssignIn,
    DismissOut,
    NameClusterIn,
    SelectionIn,
    SightingOut,
    SightingsOut,
    UnknownClusterOut,
    UnknownFaceOut,
)

__all__ = [
    "AnalyzeOut",
    "AnalyzedFace",
    "AssignIn",
    "AuditOut",
    "CameraIn",
    "CameraOut",
    "CandidateOut",
    "ClassHourOut",
    "CollectionIn",
    "CollectionOut",
    "CorrectionIn",
    "CorrectionOut",
    "DetectOut",
    "DismissOut",
    "DwellOut",
    "EnrollOut",
    "ErasureOut",
    "EventOut",
    "FaceOut",
    "HourCount",
    "IdentifiedFace",
    "IdentifyLiveIn",
    "IdentifyOut",
    "ImportCountsOut",
    "ImportFileOut",
    "ImportJobOut",
    "ImportReportOut",
    "KeyIn",
    "KeyOut",
    "LiveDecisionOut",
    "LivenessSessionOut",
    "LivenessStartIn",
    "LoginIn",
    "MatchOut",
    "MatchedTemplateOut",
    "MeOut",
    "MergeIn",
    "MergeOut",
    "ModelOut",
    "ModelsOut",
    "NameClusterIn",
    "NewKeyOut",
    "PersonOut",
    "PersonPatchIn",
    "RejectionOut",
    "RetentionOut",
    "SelectionIn",
    "SightingOut",
    "SightingsOut",
    "TemplateMoveOut",
    "TemplateOut",
    "TemplatePatchIn",
    "ThresholdIn",
    "ThresholdOut",
    "UnknownClusterOut",
    "UnknownFaceOut",
    "UserIn",
    "UserOut",
    "VerifyLiveIn",
    "WatchlistIn",
    "analyzed_out",
    "consent_of",
    "faces_out",
    "identified",
    "utc_seconds",
]
