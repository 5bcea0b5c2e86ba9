"""Settings of the faceplane server: a TOML file, then ``FACEPLANE_*`` environment variables.

Every field says what it does (``faceplane serve --print-config`` shows them); unknown keys are
refused (``extra="forbid"``), so a typo fails at start instead of being ignored. Outside
``environment = "development"`` the server refuses to start without real secrets.

Example ``faceplane.toml``::

    environment = "production"
    data_dir = "/var/lib/faceplane"
    admin_api_key = "..."            # or FACEPLANE_ADMIN_API_KEY
    watchlists = ["watchlist"]

    [[cameras]]
    id = "door"
    source = "rtsp://user:pw@10.0.0.5/stream"
    lines = ["entrance=0.5,0,0.5,1"]
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ..errors import InvalidArgumentError
from .access import AccessRule
from .cameras import CameraConfig, CameraSourcesConfig
from .events import MqttConfig, WebhookConfig
from .gallery import CollectionConfig, EnrollmentGateConfig, ImportConfig, UnknownClusteringConfig
from .retention import RetentionConfig

__all__ = ["DEV_ADMIN_KEY", "Settings", "load_settings", "new_api_key"]

#: The development admin key: printed by ``faceplane serve`` in development, refused elsewhere.
DEV_ADMIN_KEY = "fp-dev-admin-key"


class Settings(BaseSettings):
    """Server settings (TOML file, then environment variables ``FACEPLANE_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="FACEPLANE_", extra="forbid", validate_default=True)

    environment: Literal["development", "production"] = Field(
        "development", description="'production' refuses default secrets and hides error details"
    )
    data_dir: Path = Field(Path("faceplane-data"), description="gallery, events, snapshots, accounts, audit log")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="port for the API and the console")
    admin_api_key: SecretStr | None = Field(
        None, description="key of the built-in admin; required outside development (at least 24 characters)"
    )
    admin_password: SecretStr | None = Field(
        None, description="console password of the user 'admin'; required outside development (>= 12 characters)"
    )
    watchlists: list[str] = Field(default_factory=list, description="collections whose people raise alerts")
    cluster: str | None = Field(
        None,
        description="run the cameras on this Ray cluster ('auto', 'ray://head:10001', 'head:6379', or 'local' "
        "to start one here; needs faceplane[cluster]); unset: in this process",
    )
    index: Literal["exact", "faiss", "milvus"] = Field("exact", description="gallery vector index")
    milvus_uri: str | None = Field(
        None,
        description="index = 'milvus': a Milvus server ('http://milvus:19530'); unset: Milvus Lite in the data "
        "folder (one process only: not for --cluster)",
    )
    detector: Literal["hog", "cnn", "blazeface"] = Field(
        "blazeface", description="face detector for video (blazeface: ~6 ms a frame; hog: frontal, ~120 ms)"
    )
    embedder: Literal["auto", "mobilefacenet", "dlib"] = Field(
        "auto",
        description="face descriptor: 'auto' keeps an existing gallery's model and makes new galleries with "
        "'mobilefacenet' (most accurate; research-only training data); 'dlib' is the commercially clean one. "
        "Change an existing gallery's with `faceplane gallery migrate --to MODEL`",
    )
    device: Literal["cpu", "cuda"] = Field(
        "cpu", description="where the ONNX models run ('cuda' needs faceplane[gpu]: onnxruntime-gpu)"
    )
    detect_width: int = Field(960, ge=0, description="detect faces in video on frames shrunk to this width")
    workers: int = Field(2, ge=0, description="face detector processes for video (0: in the server process)")
    max_upload_mb: float = Field(10.0, gt=0, le=200, description="largest accepted image upload")
    rate_limit_per_minute: int = Field(120, ge=1, description="recognition requests per minute per API key")
    session_hours: float = Field(12.0, gt=0, description="console login lifetime")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of TLS-terminating reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (client IPs in the audit log, HTTPS); empty: none, the TCP peer is the client",
    )
    refusals_audited_per_minute: int = Field(
        30, ge=1, le=10_000, description="refused requests (401, 403, refused changes) written to the audit log a "
        "minute at most (and 5 a minute per client IP and status); the rest are counted in one summary entry",
    )
    cameras: list[CameraConfig] = Field(default_factory=list, description="cameras started with the server")
    camera_sources: CameraSourcesConfig = Field(
        default_factory=lambda: CameraSourcesConfig.model_validate({}),
        description="which sources cameras may open: schemes, hosts, media roots for files, webcams",
    )
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="where events are POSTed")
    collections: dict[str, CollectionConfig] = Field(
        default_factory=dict, description="per collection: match threshold (target FPIR or distance) and alert routing"
    )
    enrollment_gate: EnrollmentGateConfig = Field(
        default_factory=lambda: EnrollmentGateConfig.model_validate({}),
        description="what enrollment photos must pass: face size, quality cues, one face",
    )
    mqtt: MqttConfig | None = Field(None, description="publish events to this MQTT broker (home/NVR setups)")
    liveness_mode: Literal["both", "challenge", "passive"] = Field(
        "both",
        description="what a liveness session must pass: challenges and the passive check (both, for face-pay "
        "and doors), the challenges alone, or the passive check alone (kiosks; see the README for its limits)",
    )
    liveness_challenges: int = Field(3, ge=1, le=5, description="challenges drawn for each liveness session")
    liveness_far: float = Field(
        1e-3, description="false-accept rate of the 1:1 verify-live decision (calibrated on LFW: 1e-1, 1e-2, 1e-3)"
    )
    retention: RetentionConfig = Field(
        default_factory=lambda: RetentionConfig.model_validate({}), description="how long records are kept"
    )
    imports: ImportConfig = Field(
        default_factory=lambda: ImportConfig.model_validate({}),
        description="bulk photo imports (a zip, one folder per person): size limits, batches, report retention",
    )
    unknown_clustering: UnknownClusteringConfig = Field(
        default_factory=lambda: UnknownClusteringConfig.model_validate({}),
        description="grouping unknown faces into recurring strangers as they arrive (bounded work per interval)",
    )
    require_consent: bool = Field(
        False, description="refuse enrollment without a legal basis (consent_basis); watchlists always need a reason"
    )
    redact_snapshots: bool = Field(
        True, description="blur every face that is not a watchlist match in stored snapshots and evidence"
    )
    redact_video: bool = Field(True, description="blur every face that is not a watchlist match in annotated video")
    template_key: SecretStr | None = Field(
        None,
        description="encrypt face embeddings at rest with this key (base64 of 32 random bytes; "
        "`faceplane keygen` makes one); unset: stored in clear",
    )
    access: list[AccessRule] = Field(
        default_factory=list,
        description="door rules of /identify-live (none: anyone identified in the asked collections may pass)",
    )
    metrics_token: SecretStr | None = Field(
        None,
        min_length=16,
        description="bearer token a Prometheus scraper may use for GET /metrics instead of a viewer API key "
        "(at least 16 characters); unset: only callers with the viewer role",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # precedence: CLI options (init) > environment > the TOML file
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is not an IP address or a network (CIDR)") from None
        return proxies

    @field_validator("liveness_far")
    @classmethod
    def _calibrated_far(cls, far: float) -> float:
        if far not in (1e-1, 1e-2, 1e-3):
            raise ValueError(f"liveness_far must be a calibrated rate: 0.1, 0.01 or 0.001, got {far:g}")
        return far

    @model_validator(mode="after")
    def _known_webhook_names(self) -> Settings:
        names = [h.name for h in self.webhooks if h.name]
        if len(names) != len(set(names)):
            raise ValueError(f"webhook names must be unique, got {names}")
        for collection, conf in self.collections.items():
            if not re.fullmatch(r"[\w.-]{1,64}", collection):
                raise ValueError(f"collections: {collection!r} is not a collection name (letters, digits, -_.)")
            if unknown := sorted(set(conf.webhooks or []) - set(names)):
                raise ValueError(f"collections.{collection}.webhooks names no [[webhooks]] entry: {unknown}")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        key = self.admin_api_key.get_secret_value() if self.admin_api_key else ""
        if len(key) < 24 or key == DEV_ADMIN_KEY:
            raise ValueError("production needs admin_api_key (FACEPLANE_ADMIN_API_KEY), >= 24 random characters")
        password = self.admin_password.get_secret_value() if self.admin_password else ""
        if len(password) < 12:
            raise ValueError("production needs admin_password (FACEPLANE_ADMIN_PASSWORD), >= 12 characters")
        return self

    def admin_key(self) -> str:
        """The admin API key (in development without one: the fixed development key)."""
        return self.admin_api_key.get_secret_value() if self.admin_api_key else DEV_ADMIN_KEY

    def admin_pass(self) -> str:
        """The console admin password (in development without one: the development key)."""
        return self.admin_password.get_secret_value() if self.admin_password else DEV_ADMIN_KEY


def load_settings(path: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from a TOML file (optional), the environment, then ``overrides`` (CLI options).

    Raises:
        InvalidArgumentError: an unreadable file or an invalid setting (the message names it).
    """
    from pydantic import ValidationError

    cls: type[Settings] = Settings
    if path is not None:
        try:
            tomllib.loads(Path(path).read_text(encoding="utf-8"))  # a clear error for a missing or broken file
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidArgumentError(f"cannot read config file {path}: {exc}") from None
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": Path(path)})
        cls = type("FileSettings", (Settings,), {"model_config": config})
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return cls(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise InvalidArgumentError(f"invalid settings: {problems}") from None


def new_api_key() -> str:
    """A fresh random API key (``fp_`` + 32 url-safe characters)."""
    return "fp_" + secrets.token_urlsafe(24)
