"""Settings of the faceplane server (``faceplane.toml``, then ``FACEPLANE_*`` environment variables).

:class:`Settings` and :func:`load_settings` live in :mod:`.settings`; each section of the file has the
module of what it configures: :mod:`.cameras` (``[[cameras]]``, ``[camera_sources]``), :mod:`.gallery`
(``[collections.X]``, ``[enrollment_gate]``, ``[imports]``, ``[unknown_clustering]``), :mod:`.events`
(``[[webhooks]]``, ``[mqtt]``), :mod:`.retention` (``[retention]``) and :mod:`.access` (``[[access]]``).
Sections import nothing of :mod:`.settings`; it imports them. Every name is re-exported here, so
``from faceplane.config import Settings`` is the import to use.
"""

from __future__ import annotations

from .access import AccessRule, Weekday
from .cameras import CameraConfig, CameraSourcesConfig
from .events import MqttConfig, WebhookConfig
from .gallery import CollectionConfig, EnrollmentGateConfig, ImportConfig, UnknownClusteringConfig
from .retention import RetentionConfig, RetentionLimit
from .settings import DEV_ADMIN_KEY, Settings, load_settings, new_api_key

__all__ = [
    "DEV_ADMIN_KEY",
    "AccessRule",
    "CameraConfig",
    "CameraSourcesConfig",
    "CollectionConfig",
    "EnrollmentGateConfig",
    "ImportConfig",
    "MqttConfig",
    "RetentionConfig",
    "RetentionLimit",
    "Settings",
    "UnknownClusteringConfig",
    "WebhookConfig",
    "Weekday",
    "load_settings",
    "new_api_key",
]
