"""Consent and purpose of an enrollment, :func:`check_enrollment`.

With ``require_consent`` an enrollment needs a legal basis; an entry on a watchlist always needs a
purpose (the reason) and an expiry, after which the retention job removes it
(:mod:`faceplane.governance.retention`).

Example:
    >>> check_enrollment(Consent(basis="contract"), None, watchlist=False, require_consent=True)  # passes
    >>> check_enrollment(Consent(basis="contract"), None, watchlist=True, require_consent=True)
    Traceback (most recent call last):
    faceplane.errors.InvalidArgumentError: a watchlist entry needs a purpose: why this person is watched
"""

from __future__ import annotations

import time

from ..errors import InvalidArgumentError
from ..gallery.records import Consent

__all__ = ["check_enrollment"]

_MAX_WATCHLIST_DAYS = 366.0  # a watchlist entry must be reviewed at least yearly


def check_enrollment(
    consent: Consent | None, expires_at: float | None, *, watchlist: bool, require_consent: bool
) -> None:
    """Refuse an enrollment that lacks what the policy needs.

    Raises:
        InvalidArgumentError: no legal basis while consent is required; a watchlist entry without a
            purpose or an expiry, or with an expiry in the past or more than a year away.
    """
    if require_consent and not (consent and consent.basis.strip()):
        raise InvalidArgumentError("enrollment needs a legal basis (consent_basis): this server requires consent")
    if expires_at is not None and expires_at <= time.time():
        raise InvalidArgumentError("expires_at is in the past")
    if not watchlist:
        return
    if not (consent and consent.purpose.strip()):
        raise InvalidArgumentError("a watchlist entry needs a purpose: why this person is watched")
    if expires_at is None:
        raise InvalidArgumentError("a watchlist entry needs an expiry (expires_at)")
    if expires_at > time.time() + _MAX_WATCHLIST_DAYS * 86400:
        raise InvalidArgumentError(f"a watchlist entry may last at most {_MAX_WATCHLIST_DAYS:g} days; renew it")
