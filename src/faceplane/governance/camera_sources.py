"""The server's gate for camera sources: the source policy, its audited refusals, and refused cameras.

Every camera of the server passes :meth:`CameraSources.admit` before anything opens its source: those
added through the API (the caller's role), those of the settings file (an admin's: whoever writes the
settings owns the server) and those saved in ``server-state.json`` (the role of whoever added them;
an entry saved before roles were kept counts as an operator's). A refusal is written to the audit log
(``camera.refused``: actor, role, camera, source with credentials redacted, reason, HTTP-style status)
and raised. A camera of the settings or the saved state that the policy refuses at start is not
started: it is logged as an error and kept, shown with the state ``refused`` and its reason, until an
operator deletes it or the policy allows it at the next start.

The CLI's ``faceplane run FILE`` opens what its user names on their own command line: it does not pass
here (FFmpeg's protocol whitelist still holds there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import CameraConfig
from ..errors import PermissionDeniedError, SourceRefusedError
from ..video.source_policy import SourcePolicy, redact_source
from ..video.sources import SourceState, SourceStatus
from .accounts import ROLES, Principal, role_at_least
from .audit import AuditLog

__all__ = ["CameraSources", "Refused"]

log = logging.getLogger(__name__)

#: The role of a saved camera whose adder's role was not saved: the least that can add cameras.
LEGACY_ROLE = "operator"


@dataclass(frozen=True)
class Refused:
    """A configured camera the policy refused at start: not running, shown with its reason."""

    config: CameraConfig
    reason: str

    def status(self) -> SourceStatus:
        return SourceStatus(
            camera=self.config.id,
            url=redact_source(self.config.source),
            state=SourceState.REFUSED,
            reason=self.reason,
            frames_decoded=0,
            frames_emitted=0,
            frames_dropped=0,
            reconnects=0,
            last_frame_wall_s=None,
        )


class CameraSources:
    """Checks sources against ``policy`` and audits refusals in ``audit``; holds the role of whoever added
    each camera (``roles``, saved with the server state) and the cameras refused at start (``refused``)."""

    def __init__(self, *, policy: SourcePolicy, audit: AuditLog) -> None:
        self.policy = policy
        self.audit = audit
        self.roles: dict[str, str] = {}  # camera id -> role of whoever added it
        self.refused: dict[str, Refused] = {}

    def admit(self, config: CameraConfig, who: Principal, *, ip: str = "") -> None:
        """Refuse ``config`` (audited) unless the policy allows its source for ``who``.

        Raises:
            SourceRefusedError: the policy does not allow the source (422 at the API).
            PermissionDeniedError: a local file asked by someone who is not an admin (403).
        """
        try:
            self.policy.check(config.source, admin=role_at_least(who.role, "admin"))
        except (SourceRefusedError, PermissionDeniedError) as exc:
            status = 403 if isinstance(exc, PermissionDeniedError) else 422
            self.audit.record(
                actor=who.name,
                role=who.role,
                action="camera.refused",
                target=config.id,
                ip=ip,
                status=status,
                detail={"source": redact_source(config.source), "reason": str(exc)},
            )
            exc.audited = True
            raise

    def keep_refused(self, config: CameraConfig, who: Principal, error: Exception) -> None:
        """At start: a configured camera that :meth:`admit` refused is logged and kept, not run."""
        log.error("camera %s not started: the camera source policy refuses it: %s", config.id, error)
        self.refused[config.id] = Refused(config, str(error))
        self.roles[config.id] = who.role

    def forget(self, camera_id: str) -> None:
        self.roles.pop(camera_id, None)
        self.refused.pop(camera_id, None)

    @staticmethod
    def saved_role(roles: object, camera_id: str) -> str:
        """The role saved for ``camera_id`` in the server state (an unknown or missing one: an operator's)."""
        role = roles.get(camera_id) if isinstance(roles, dict) else None
        return role if role in ROLES else LEGACY_ROLE
