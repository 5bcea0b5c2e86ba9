"""Consent and purpose rules of enrollment (pure: no stores)."""

from __future__ import annotations

import time

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.records import Consent
from faceplane.governance import check_enrollment

DAY = 86400.0
REASON = Consent(basis="legitimate_interest", purpose="trespass order 17")


@pytest.mark.parametrize(
    ("consent", "expires_in", "watchlist", "required", "error"),
    [
        (None, None, False, False, None),  # an ordinary gallery, no policy: fine
        (None, None, False, True, "legal basis"),
        (Consent(basis="  "), None, False, True, "legal basis"),
        (Consent(basis="consent", source="kiosk form v3"), None, False, True, None),
        (None, 30 * DAY, True, False, "needs a purpose"),
        (Consent(basis="", purpose="x"), None, True, False, "needs an expiry"),
        (REASON, 400 * DAY, True, False, "at most 366 days"),
        (REASON, -DAY, True, False, "in the past"),
        (REASON, -DAY, False, False, "in the past"),
        (REASON, 30 * DAY, True, True, None),
    ],
)
def test_check_enrollment(consent, expires_in, watchlist, required, error):
    expires_at = None if expires_in is None else time.time() + expires_in
    if error is None:
        check_enrollment(consent, expires_at, watchlist=watchlist, require_consent=required)
    else:
        with pytest.raises(InvalidArgumentError, match=error):
            check_enrollment(consent, expires_at, watchlist=watchlist, require_consent=required)
