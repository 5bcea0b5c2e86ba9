"""Helpers the request bodies share: request times as Unix seconds, enrollment consent fields."""

from __future__ import annotations

from datetime import UTC, datetime

from ...gallery.records import Consent

__all__ = ["consent_of", "utc_seconds"]


def utc_seconds(at: datetime | None) -> float | None:
    """Unix seconds of a request's time (None stays None); a time without a zone is UTC."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def consent_of(basis: str | None, source: str | None, date: str | None, purpose: str | None) -> Consent | None:
    """The enrollment consent fields of a request as a :class:`Consent` (None when neither a legal basis nor a
    purpose is given)."""
    if not (basis or purpose):
        return None
    return Consent(basis=basis or "", source=source or "", date=date or "", purpose=purpose or "")
