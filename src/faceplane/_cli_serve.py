"""``faceplane serve``: the API and the console in one process, on the embedded default."""

from __future__ import annotations

import argparse
import logging
from typing import Any, TextIO

__all__ = ["add_serve_command"]

log = logging.getLogger(__name__)


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from .bootstrap import build_services
    from .config import DEV_ADMIN_KEY, load_settings
    from .server.app import create_app

    settings = load_settings(
        args.config, host=args.host, port=args.port, data_dir=args.data_dir, cluster=args.cluster
    )
    if args.print_config:
        out.write(settings.model_dump_json(indent=2, exclude={"admin_api_key", "admin_password"}) + "\n")
        return 0
    services = build_services(settings)
    services.start()
    if settings.environment == "development" and settings.admin_key() == DEV_ADMIN_KEY:
        out.write(
            f"development mode: console login admin / {DEV_ADMIN_KEY}, API key {DEV_ADMIN_KEY} "
            "(set FACEPLANE_ENVIRONMENT=production with real secrets for anything else)\n"
        )
    out.write(f"faceplane console and API on http://{settings.host}:{settings.port}/  (OpenAPI: /docs)\n")
    out.flush()
    try:
        uvicorn.run(create_app(services), host=settings.host, port=settings.port, log_level="warning")
    finally:
        services.close()
    return 0


def add_serve_command(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the REST API and the web console (one process, embedded storage)")
    p.add_argument("--config", metavar="FILE.toml", help="settings file (then FACEPLANE_* environment variables)")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--data-dir", default=None, help="data folder (default ./faceplane-data)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS", help="run cameras on a Ray cluster (or 'local')")
    p.add_argument("--print-config", action="store_true", help="print the effective settings and exit")
    p.set_defaults(func=_cmd_serve)
