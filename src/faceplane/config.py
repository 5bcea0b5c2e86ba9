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
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .gallery.gallery import QualityGate
    from .gallery.thresholds import MatchThreshold
    from .video.analyzer import ObjectSettings
    from .video.rules import Line, Zone
    from .video.source_policy import SourcePolicy
    from .video.sources import VideoSource

__all__ = [
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
    "load_settings",
]

#: The development admin key: printed by ``faceplane serve`` in development, refused elsewhere.
DEV_ADMIN_KEY = "fp-dev-admin-key"


class CameraConfig(BaseModel):
    """One camera the server analyses."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="camera id, unique; letters, digits, '-', '_' and '.'", pattern=r"^[\w.-]{1,64}$")
    source: str = Field(description="file path, rtsp://, rtmp://, http(s):// URL or webcam:N")
    fps: float = Field(5.0, gt=0, le=30, description="analysed frames per second")
    lines: list[str] = Field(
        default_factory=list,
        description="counting lines '[name=]x1,y1,x2,y2[;classes=car,bus]' (px or 0..1; classes: count only those)",
    )
    zones: list[str] = Field(
        default_factory=list,
        description="dwell zones '[name=]x1,y1,x2,y2,x3,y3,...[;classes=car][;dwell=600]' (dwell: seconds inside "
        "before a zone.dwell event)",
    )
    people: bool = Field(False, description="also detect and count people: short for objects = ['person']")
    objects: list[str] = Field(
        default_factory=list,
        description="COCO classes to detect, track and count (person, bicycle, car, motorcycle, bus, truck...); "
        "lines and zones then count these tracks, not faces",
    )
    object_detector: Literal["nanodet", "centernet", "hog"] = Field(
        "nanodet", description="object detector: nanodet or centernet (CNNs, model store) or hog (OpenCV, people only)"
    )
    object_input_size: int | None = Field(
        None, ge=64, le=2048, description="CNN input side, a multiple of 32 (smaller: faster; default: the model's)"
    )
    fixed: bool = Field(True, description="the camera does not move (enables the background model for HOG people)")
    loop: bool = Field(False, description="restart a file source at its end (demos)")
    realtime: bool = Field(True, description="read a file source at its own speed, like a camera")
    match_fpir: float | None = Field(
        None, gt=0, lt=1, description="this camera's match threshold as a target share of strangers named as someone "
        "enrolled (0.01: 1 in 100; over everyone searched); unset: the gallery's. Caps each watchlist's own",
    )
    match_distance: float | None = Field(
        None, gt=0, le=2, description="or an explicit embedding distance (instead of match_fpir)"
    )

    def match_threshold(self) -> MatchThreshold | None:
        """The camera's own threshold (None: the gallery's; see :mod:`faceplane.gallery.thresholds`)."""
        return _match(self.match_fpir, self.match_distance)

    @model_validator(mode="after")
    def _one_match(self) -> CameraConfig:
        _check_match(self.match_fpir, self.match_distance)
        return self

    def video_source(self) -> VideoSource:
        """The camera's source, not started."""
        from .video.sources import VideoSource

        return VideoSource(self.source, camera=self.id, fps=self.fps, realtime=self.realtime, loop=self.loop)

    def object_settings(self) -> ObjectSettings | None:
        """What the analyzer detects for this camera's objects (None: faces only)."""
        from .video.analyzer import ObjectSettings

        classes = (["person"] if self.people else []) + self.objects  # people = true: objects = ["person"]
        if not classes:
            return None
        return ObjectSettings(tuple(classes), self.object_detector, self.object_input_size)

    @model_validator(mode="after")
    def _check_objects(self) -> CameraConfig:
        try:
            self.object_settings()
        except InvalidArgumentError as exc:
            raise ValueError(str(exc)) from None
        return self

    def rules(self) -> tuple[list[Line], list[Zone]]:
        """The counting lines and dwell zones, named ``line1``, ``zone1``... when the text names none."""
        from .video.rules import Line, Zone

        return (
            [Line.parse(t, f"line{i + 1}") for i, t in enumerate(self.lines)],
            [Zone.parse(t, f"zone{i + 1}") for i, t in enumerate(self.zones)],
        )

    @field_validator("lines", "zones")
    @classmethod
    def _parse_rules(cls, value: list[str], info: object) -> list[str]:
        from .video.rules import Line, Zone

        kind = Line if getattr(info, "field_name", "") == "lines" else Zone
        for text in value:
            try:
                kind.parse(text)
            except InvalidArgumentError as exc:
                raise ValueError(str(exc)) from None
        return value


_StreamScheme = Literal["rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "tcp"]
_DEFAULT_SCHEMES: tuple[_StreamScheme, ...] = ("rtsp", "rtsps")  # http(s) and the others only when listed


class CameraSourcesConfig(BaseModel):
    """Which sources the server's cameras may open (API, settings file and saved state alike; not the
    CLI's ``faceplane run FILE``). See :mod:`faceplane.video.source_policy`.

    Example::

        [camera_sources]
        schemes = ["rtsp", "rtsps", "https"]
        hosts = ["*.cams.local", "10.0.0.0/8"]
        media_roots = ["/srv/clips"]
    """

    model_config = ConfigDict(extra="forbid")

    schemes: list[_StreamScheme] = Field(
        default_factory=lambda: list(_DEFAULT_SCHEMES), description="stream URL schemes cameras may use"
    )
    hosts: list[str] = Field(
        default_factory=lambda: ["*"],
        description="hosts streams may come from: '*' (any), name globs ('*.cams.local'), addresses, networks "
        "('10.0.0.0/8'; a name matches when all its addresses are in one)",
    )
    deny_hosts: list[str] = Field(
        default_factory=lambda: list(_denied_hosts()),
        description="addresses and networks never opened, whatever 'hosts' says (names are resolved); default: "
        "loopback, link-local (cloud metadata), unspecified. [] allows them (tests, a camera proxy on this host)",
    )
    media_roots: list[Path] = Field(
        default_factory=list,
        description="folders whose files (after symlinks and '..') admins may use as camera sources; "
        "empty: no local files",
    )
    webcams: bool = Field(False, description="allow local capture devices (webcam:N, /dev/videoN) as cameras")

    @field_validator("hosts", "deny_hosts")
    @classmethod
    def _parse_hosts(cls, value: list[str], info: object) -> list[str]:
        from .video.source_policy import parse_host_pattern

        for text in value:
            try:
                pattern = parse_host_pattern(text)
            except InvalidArgumentError as exc:
                raise ValueError(str(exc)) from None
            if isinstance(pattern, str) and getattr(info, "field_name", "") == "deny_hosts":
                raise ValueError(f"deny_hosts takes addresses and networks, not names: {text!r}")
        return value

    def policy(self) -> SourcePolicy:
        """The policy these settings describe."""
        from .video.source_policy import SourcePolicy

        return SourcePolicy(
            schemes=self.schemes,
            hosts=self.hosts,
            deny_hosts=self.deny_hosts,
            media_roots=self.media_roots,
            webcams=self.webcams,
        )


def _denied_hosts() -> tuple[str, ...]:
    from .video.source_policy import DEFAULT_DENIED_HOSTS

    return DEFAULT_DENIED_HOSTS


class WebhookConfig(BaseModel):
    """A receiver of events (signed POSTs; see :mod:`faceplane.events.webhooks`)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s):// URL that receives JSON events", pattern=r"^https?://")
    name: str | None = Field(
        None, pattern=r"^[\w.-]{1,64}$", description="a name for [collections.X] webhooks = [...] to route alerts to"
    )
    secret: SecretStr = Field(description="HMAC-SHA256 key for the X-Faceplane-Signature header (>= 8 characters)")
    kinds: list[str] = Field(default_factory=list, description="only these event kinds (empty: all)")


def _match(fpir: float | None, distance: float | None) -> MatchThreshold | None:
    from .gallery.thresholds import MatchThreshold

    return None if fpir is None and distance is None else MatchThreshold(fpir=fpir, distance=distance)


def _check_match(fpir: float | None, distance: float | None) -> None:
    if fpir is not None and distance is not None:
        raise ValueError("set match_fpir or match_distance, not both")


class CollectionConfig(BaseModel):
    """Settings of one collection (watchlist): its match threshold and where its alerts go.

    Example::

        [collections.watchlist]
        match_fpir = 0.001                 # about 1 in 1,000 strangers named as one of its people
        webhooks = ["security-desk"]       # names of [[webhooks]]; unset: every webhook
        mqtt_topics = ["alarm/watchlist"]  # unset: <prefix>/events/<camera>/<kind>
    """

    model_config = ConfigDict(extra="forbid")

    match_fpir: float | None = Field(
        None, gt=0, lt=1, description="target share of strangers named as one of its people (0.001: 1 in 1,000); "
        "turned into a distance for its number of people with the model's calibration",
    )
    match_distance: float | None = Field(None, gt=0, le=2, description="or an explicit embedding distance")
    webhooks: list[str] | None = Field(
        None, description="names of the [[webhooks]] that get its watchlist.* events (unset: every webhook; []: none)"
    )
    mqtt_topics: list[str] | None = Field(
        None, description="MQTT topics its watchlist.* events go to instead of <prefix>/events/<camera>/<kind> "
        "(unset: that one; []: none)",
    )

    def match_threshold(self) -> MatchThreshold | None:
        """The collection's own threshold from the settings file (None: not set here)."""
        return _match(self.match_fpir, self.match_distance)

    @model_validator(mode="after")
    def _valid(self) -> CollectionConfig:
        _check_match(self.match_fpir, self.match_distance)
        for topic in self.mqtt_topics or []:
            if not topic or any(c in topic for c in "#+"):
                raise ValueError(f"an MQTT topic cannot be empty or contain # or +, got {topic!r}")
        return self


class EnrollmentGateConfig(BaseModel):
    """What an enrollment photo must pass (the quality gate of :meth:`faceplane.gallery.Gallery.enroll`)."""

    model_config = ConfigDict(extra="forbid")

    min_face_px: int = Field(60, ge=1, description="the face box must be at least this many pixels wide")
    min_cue: float = Field(
        0.3, ge=0, le=1, description="every quality cue (size, sharpness, pose, detector confidence) must reach this"
    )
    largest_face_only: bool = Field(False, description="with several faces, enroll the largest instead of refusing")

    def gate(self) -> QualityGate:
        from .gallery.gallery import QualityGate

        return QualityGate(min_face_px=self.min_face_px, min_cue=self.min_cue, largest_face_only=self.largest_face_only)


class MqttConfig(BaseModel):
    """An MQTT broker that receives every event (see :mod:`faceplane.events.mqtt`; needs faceplane[mqtt])."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port")
    prefix: str = Field("faceplane", description="topics are <prefix>/events/<camera>/<kind>")
    username: str | None = Field(None, description="broker user, if it wants one")
    password: SecretStr | None = Field(None, description="broker password")


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AccessRule(BaseModel):
    """Who may pass a door (``POST /identify-live``): people of a collection, on some days and hours.

    Example: ``[[access]] collection = "staff"  days = ["mon", "tue", "wed", "thu", "fri"]  hours = "07:00-19:00"``
    """

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(description="people enrolled in this collection may pass")
    days: list[Weekday] = Field(
        default_factory=lambda: list(_DAYS), description="weekdays the rule holds (server local time)"
    )
    hours: str = Field(
        "00:00-24:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$|^([01]\d|2[0-3]):[0-5]\d-24:00$",
        description="'HH:MM-HH:MM', server local time; the end is exclusive and may be before the start (night)",
    )

    def allows(self, weekday: int, minute_of_day: int) -> bool:
        """Whether the rule holds on ``weekday`` (0 = Monday) at ``minute_of_day`` (0..1439)."""
        start, end = (int(p[:2]) * 60 + int(p[3:]) for p in self.hours.split("-"))
        if start <= end:
            return _DAYS[weekday] in self.days and start <= minute_of_day < end
        # over midnight: the part after midnight belongs to the day the rule started
        if minute_of_day >= start:
            return _DAYS[weekday] in self.days
        return _DAYS[(weekday - 1) % 7] in self.days and minute_of_day < end


class RetentionLimit(BaseModel):
    """Limits for one camera or one collection (unset: the global limit applies)."""

    model_config = ConfigDict(extra="forbid")

    events_days: float | None = Field(None, gt=0, description="events and their snapshots")
    unknown_faces_hours: float | None = Field(None, gt=0, description="unknown-face templates and clusters (cameras)")


class RetentionConfig(BaseModel):
    """How long records are kept. The most specific limit applies: a collection's (events naming its
    people), then a camera's, then the global one.

    Example::

        [retention]
        events_days = 30
        unknown_faces_hours = 24
        [retention.cameras.lobby]
        events_days = 7
        [retention.collections.watchlist]
        events_days = 90
    """

    model_config = ConfigDict(extra="forbid")

    events_days: float = Field(30.0, gt=0, description="events (alerts, crossings, visits) and their snapshots")
    unknown_faces_hours: float = Field(24.0, gt=0, description="unknown-face templates, thumbnails and clusters")
    evidence_days: float = Field(30.0, gt=0, description="liveness evidence frames of verify-live decisions")
    interval_minutes: float = Field(60.0, gt=0, description="how often the retention job runs (also at start)")
    cameras: dict[str, RetentionLimit] = Field(default_factory=dict, description="per camera id")
    collections: dict[str, RetentionLimit] = Field(
        default_factory=dict, description="per collection: events naming its people"
    )


class ImportConfig(BaseModel):
    """Bulk photo imports (``POST /imports``, :mod:`faceplane.services.imports`). The limits are operating choices, not
    measured: a zip of a few thousand people's photos fits; a bigger one is split."""

    model_config = ConfigDict(extra="forbid")

    max_archive_mb: float = Field(500.0, gt=0, description="largest zip upload")
    max_uncompressed_mb: float = Field(2000.0, gt=0, description="largest total of the zip's files once decompressed")
    max_files: int = Field(50_000, ge=1, description="most files in one zip")
    batch_files: int = Field(32, ge=1, le=1000, description="photos of one person enrolled per committed batch")
    keep_days: float = Field(30.0, gt=0, description="days a finished or failed import's report is kept")


class UnknownClusteringConfig(BaseModel):
    """How the server groups unknown faces into recurring strangers as they arrive (:mod:`faceplane.services.unknown`).

    Every ``interval_s`` up to ``faces_per_run`` new faces join the existing cluster they match; at most every
    ``full_every_minutes`` all faces (the newest ``max_faces``) are clustered again, which is when a new
    stranger's cluster appears. The defaults are operating choices, not tuned on data: a 24-hour pool of a few
    busy cameras stays under ``max_faces``, which a full run clusters in seconds.
    """

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(60.0, gt=0, description="how often new unknown faces are joined to existing clusters")
    faces_per_run: int = Field(500, ge=1, description="new faces handled per interval at most (bounded work)")
    full_every_minutes: float = Field(10.0, gt=0, description="re-cluster all unknown faces at most this often")
    max_faces: int = Field(5000, ge=2, description="a full re-clustering takes at most the newest this many faces")
    threshold: float | None = Field(
        None, gt=0, description="link distance of two faces; unset: the model's calibrated 1:1 distance at FAR 3e-4"
    )
    min_size: int = Field(2, ge=2, description="faces a cluster needs (fewer: 'seen once', in no cluster)")


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
