"""Galleries: collections -> people -> face templates, a SQLite store and vector indexes.

    from faceplane.gallery import Gallery
    gallery = Gallery.open("faceplane-data")
    gallery.create_collection("staff")
    gallery.enroll("staff", ["ada1.jpg", "ada2.jpg"], name="Ada")
    for ident in gallery.identify("door.jpg"):
        print(ident.person.display_name if ident.person else "unknown")
"""

from __future__ import annotations

from .cluster import cluster_embeddings
from .gallery import Gallery, QualityGate
from .index import ExactIndex, VectorIndex, make_index
from .negatives import Correction
from .records import (
    Candidate,
    Collection,
    Consent,
    EnrollReport,
    Identification,
    Person,
    Rejection,
    Template,
    UnknownCluster,
)
from .store import SqliteStore
from .thresholds import MatchThreshold

__all__ = [
    "Candidate",
    "Collection",
    "Consent",
    "Correction",
    "EnrollReport",
    "ExactIndex",
    "Gallery",
    "Identification",
    "MatchThreshold",
    "Person",
    "QualityGate",
    "Rejection",
    "SqliteStore",
    "Template",
    "UnknownCluster",
    "VectorIndex",
    "cluster_embeddings",
    "make_index",
]
