"""``faceplane serve``: the API and the console in one process, on the embedded default."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, TextIO

from .._shutdown import ServeSignals, ShutdownRequested, http_server
from ._common import Subcommands

if TYPE_CHECKING:
    from ..config import Settings
    from ..services import Services

__all__ = ["add_serve_command"]

log = logging.getLogger(__name__)

#: Seconds open HTTP requests (event streams) get to finish once a stop signal arrived.
HTTP_DRAIN_S = 3


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from ..bootstrap import build_services
    from ..config import DEV_ADMIN_KEY, load_settings

    settings = load_settings(
        args.config,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        cluster=args.cluster,
        trusted_proxies=_proxies(args.forwarded_allow_ips),
    )
    if args.print_config:
        out.write(settings.model_dump_json(indent=2, exclude={"admin_api_key", "admin_password"}) + "\n")
        return 0
    signals = ServeSignals()  # SIGTERM/SIGINT: a logged, bounded stop (see faceplane._shutdown)
    services: Services | None = None
    try:
        signals.install()
        log.info("starting: opening the stores and loading the models")
        services = build_services(settings)
        services.start()
        if settings.environment == "development" and settings.admin_key() == DEV_ADMIN_KEY:
            out.write(
                f"development mode: console login admin / {DEV_ADMIN_KEY}, API key {DEV_ADMIN_KEY} "
                "(set FACEPLANE_ENVIRONMENT=production with real secrets for anything else)\n"
            )
        out.write(f"faceplane console and API on http://{settings.host}:{settings.port}/  (OpenAPI: /docs)\n")
        out.flush()
        return _serve_http(services, settings, signals)
    except ShutdownRequested:
        return 0
    finally:
        signals.closing()
        if services is not None:
            services.close()
        signals.restore()
        log.info("stopped")


def _serve_http(services: Services, settings: Settings, signals: ServeSignals) -> int:
    """Serve until a signal; 0 after a stop, 3 when uvicorn could not start (as ``uvicorn.run``)."""
    import uvicorn

    from ..logs import uvicorn_log_level
    from ..server.app import create_app

    server = http_server(
        uvicorn.Config(
            create_app(services),
            host=settings.host,
            port=settings.port,
            log_config=None,  # uvicorn's lines go through faceplane's handler (text or --log-format json)
            log_level=uvicorn_log_level(),
            # X-Forwarded-For/-Proto only from the configured proxies (uvicorn alone would believe 127.0.0.1)
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            # open event streams (the console's live view) end after this, not hold the stop forever
            timeout_graceful_shutdown=HTTP_DRAIN_S,
        ),
        on_stop=services.stopping.set,  # event streams end
    )
    if signals.serving(server, services.stopping.set):
        server.run()
    return 0 if server.started or signals.signum is not None else 3


def _proxies(option: str | None) -> list[str] | None:
    return [p.strip() for p in option.split(",") if p.strip()] if option is not None else None


def add_serve_command(sub: Subcommands) -> None:
    """Register ``serve``."""
    p = sub.add_parser("serve", help="run the REST API and the web console (one process, embedded storage)")
    p.add_argument("--config", metavar="FILE.toml", help="settings file (then FACEPLANE_* environment variables)")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--data-dir", default=None, help="data folder (default ./faceplane-data)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS", help="run cameras on a Ray cluster (or 'local')")
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="comma-separated addresses or networks of TLS-terminating proxies whose X-Forwarded-For/-Proto are "
        "believed (setting trusted_proxies; default: none)",
    )
    p.add_argument("--print-config", action="store_true", help="print the effective settings and exit")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,  # as `faceplane --log-format`; a default here would override that one
        help="log lines on stderr: text (default), or one JSON object a line for log shippers (-v: with access lines)",
    )
    p.set_defaults(func=_cmd_serve)
