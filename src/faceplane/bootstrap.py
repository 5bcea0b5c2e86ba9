"""The composition root: settings in, a ready :class:`~faceplane.services.Services` out (no globals)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from .config import Settings
from .events import Broadcaster, EventBus, EventStore
from .events.routing import AlertRoute, RoutedMqtt, RoutedWebhook
from .events.webhooks import WebhookSink
from .gallery.crypto import parse_template_key
from .gallery.gallery import Gallery
from .governance.accounts import AccountStore
from .governance.audit import AuditLog
from .governance.camera_sources import CameraSources
from .governance.refusals import RefusalLog
from .services import (
    CameraService,
    EventsService,
    FacesService,
    GalleryService,
    GovernanceService,
    ImportService,
    LivenessService,
    MatchingService,
    PeopleEditor,
    Services,
    UnknownFaces,
)
from .services.imports import import_service_for
from .services.unknown import unknown_faces_for
from .video.analyzer import AnalyzerSettings, LocalAnalyzer, ProcessAnalyzer
from .video.engine import VideoEngine

if TYPE_CHECKING:
    from .cluster.ray_video import RayVideoCluster
    from .events.mqtt import MqttSink

__all__ = ["build_services"]


def build_services(settings: Settings) -> Services:
    """Open (or create) everything under ``settings.data_dir``; call ``start()`` to run the cameras."""
    root = Path(settings.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    key = settings.template_key
    template_key = parse_template_key(key.get_secret_value(), name="template_key") if key is not None else None
    index_options: dict[str, Any] = (
        {"uri": settings.milvus_uri} if settings.index == "milvus" and settings.milvus_uri else {}
    )
    gallery = Gallery.open(
        root, index=settings.index, embedder=settings.embedder, device=settings.device, template_key=template_key,
        **index_options,
    )
    events = EventStore(root / "events")
    accounts = AccountStore(root / "accounts.sqlite")
    accounts.ensure_key("admin", "admin", settings.admin_key())
    accounts.set_user("admin", settings.admin_pass(), "admin")
    broadcaster = Broadcaster()
    analyzer_settings = AnalyzerSettings(
        detector=settings.detector,
        detect_width=settings.detect_width,
        device=settings.device,
        embedder=gallery.engine.embedder_name,
    )
    analyzer = (
        ProcessAnalyzer(analyzer_settings, workers=settings.workers)
        if settings.workers and not settings.cluster  # with a cluster, the Ray workers analyse
        else LocalAnalyzer(analyzer_settings)
    )
    webhooks = [
        WebhookSink(
            hook.url,
            secret=hook.secret.get_secret_value(),
            kinds=hook.kinds,
            dead_letters=root / "events" / "events.sqlite",
        )
        for hook in settings.webhooks
    ]
    sinks: list[WebhookSink | MqttSink] = list(webhooks)
    routes = _alert_routes(settings)  # which webhooks / MQTT topics get each watchlist's alerts
    routed: list[RoutedWebhook | RoutedMqtt] = [
        RoutedWebhook(sink, hook.name, routes) for sink, hook in zip(webhooks, settings.webhooks, strict=True)
    ]
    if settings.mqtt is not None:
        from .events.mqtt import MqttSink

        m = settings.mqtt
        password = m.password.get_secret_value() if m.password else None
        sinks.append(mqtt := MqttSink(m.host, m.port, prefix=m.prefix, username=m.username, password=password))
        routed.append(RoutedMqtt(mqtt, routes))
    bus = EventBus([broadcaster, *routed], store=events)
    cluster = None
    if settings.cluster:  # cameras run on Ray workers; the local engine stays idle
        from .cluster.ray_video import RayVideoCluster

        cluster = RayVideoCluster(
            gallery_path=str(root),
            bus=bus,
            address=None if settings.cluster == "local" else settings.cluster,
            index=settings.index,
            index_options=index_options,
            template_key=template_key,
            redact=(settings.redact_snapshots, settings.redact_video),
            analyzer=analyzer_settings,
            embedder=gallery.engine.embedder_name,
        )
    video = VideoEngine(
        engine=gallery.engine,
        gallery=gallery,
        bus=bus,
        analyzer=analyzer,
        live_view=True,
        redact_snapshots=settings.redact_snapshots,
        redact_video=settings.redact_video,
    )
    audit = AuditLog(root / "audit.sqlite")
    domains = _domain_services(settings, gallery, events, audit, video, cluster)
    return Services(
        settings=settings,
        gallery=gallery,
        events=events,
        accounts=accounts,
        audit=audit,
        video=video,
        broadcaster=broadcaster,
        refusals=RefusalLog(audit, per_minute=settings.refusals_audited_per_minute),
        sinks=sinks,
        cluster=cluster,
        **domains,
    )


class _DomainServices(TypedDict):
    """What :func:`_domain_services` builds, by the name :class:`Services` holds it under (mypy checks both)."""

    sources: CameraSources
    faces: FacesService
    library: GalleryService
    history: EventsService
    cameras: CameraService
    liveness: LivenessService
    governance: GovernanceService
    matching: MatchingService
    unknown: UnknownFaces
    people_editor: PeopleEditor
    imports: ImportService


def _domain_services(
    settings: Settings,
    gallery: Gallery,
    events: EventStore,
    audit: AuditLog,
    video: VideoEngine,
    cluster: RayVideoCluster | None,
) -> _DomainServices:
    """The server's domain services (:mod:`faceplane.services`), each given what it needs, by attribute name."""
    root = Path(settings.data_dir)
    evidence_dir = root / "evidence"
    sources = CameraSources(policy=settings.camera_sources.policy(), audit=audit)
    cameras: CameraService | None = None  # a deleted watchlist collection leaves the cameras' watchlists

    def unwatch(name: str) -> None:
        assert cameras is not None
        cameras.set_watchlist(name, False)

    library = GalleryService(gallery=gallery, settings=settings, watchlists=video.watchlists, unwatch=unwatch)
    cameras = CameraService(
        gallery=gallery, video=video, sources=sources, settings=settings, cluster=cluster,
        state_path=root / "server-state.json", create_collection=library.create_collection,
    )  # fmt: skip
    liveness = LivenessService(gallery=gallery, settings=settings, audit=audit, evidence_dir=evidence_dir)
    governance = GovernanceService(
        gallery=gallery, events=events, audit=audit, settings=settings, evidence_dir=evidence_dir,
        watchlists=cameras.watchlists,
    )  # fmt: skip
    imports = import_service_for(
        gallery, settings, enroll=library.enroll, is_watchlist=video.watchlists.__contains__, audit=audit
    )
    governance.eraser.forget.append(imports.store.forget_people)  # import reports name people by folder
    return {
        "sources": sources,
        "faces": FacesService(gallery=gallery, engine_68=liveness.engine_68),  # shares the 68-point engine
        "library": library,
        "history": EventsService(events=events),
        "cameras": cameras,
        "liveness": liveness,
        "governance": governance,
        "matching": MatchingService(
            gallery=gallery,
            events=events,
            cameras=cameras.configs,
            collection_settings={n: m for n, c in settings.collections.items() if (m := c.match_threshold())},
        ),
        "unknown": unknown_faces_for(
            gallery,
            settings.unknown_clustering,
            is_watchlist=video.watchlists.__contains__,
            require_consent=settings.require_consent,
        ),
        "people_editor": PeopleEditor(
            gallery=gallery, events=events, watchlists=cameras.watchlists, require_consent=settings.require_consent
        ),
        "imports": imports,
    }


def _alert_routes(settings: Settings) -> dict[str, AlertRoute]:
    """collection -> where its alerts go, for the collections whose settings route them."""
    return {
        name: AlertRoute(
            webhooks=None if c.webhooks is None else tuple(c.webhooks),
            mqtt_topics=None if c.mqtt_topics is None else tuple(c.mqtt_topics),
        )
        for name, c in settings.collections.items()
        if c.webhooks is not None or c.mqtt_topics is not None
    }
