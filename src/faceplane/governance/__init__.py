"""Governance: who may do what, what was done, what may be kept, and erasure of a person everywhere.

The package, bottom to top (a module imports only those above it, never this ``__init__``):

- :mod:`~faceplane.governance.accounts`: API keys, console users, roles and sessions;
- :mod:`~faceplane.governance.audit`: :class:`~faceplane.governance.audit.AuditLog`, the append-only log
  of every search and change;
- :mod:`~faceplane.governance.refusals`: refused requests in the audit log, rate-limited;
- :mod:`~faceplane.governance.camera_sources`: who may add which camera source, refusals audited;
- :mod:`~faceplane.governance.consent`: :func:`check_enrollment`, the consent and purpose an enrollment needs;
- :mod:`~faceplane.governance.retention`: the job that deletes records past their limit;
- :mod:`~faceplane.governance.erasure`: :class:`Eraser`, "delete this person everywhere";
- :mod:`~faceplane.governance.report`: the compliance report (``build_report``, ``render_html``).

Rules that cut across rooms (the gallery, the event store, the evidence frames) live here, below the
services that call them. This ``__init__`` re-exports the names ``faceplane.governance`` held before it
became a package; everything else is imported from its module.

Example:
    >>> check_enrollment(None, None, watchlist=False, require_consent=False)  # no policy: anything goes
"""

from .consent import check_enrollment
from .erasure import Eraser, ErasureReport

__all__ = ["Eraser", "ErasureReport", "check_enrollment"]
