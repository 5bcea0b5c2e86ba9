"""Real services for the server tests: models, SQLite stores and the video engine on a temporary data dir.

``services`` is what ``faceplane serve`` builds (``build_services`` + ``start``), with the analyzer in
this process (``workers=0``) and a rate limit high enough not to get in the way; ``client`` is a
``TestClient`` on ``create_app(services)`` that returns 5xx responses instead of raising, so a test
can assert on them. ``viewer``, ``operator`` and ``admin`` are request headers with a key of that role.
``make_services`` builds other services (other settings), ``live_server`` serves an app with uvicorn.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from faceplane.bootstrap import build_services
from faceplane.config import DEV_ADMIN_KEY, Settings
from faceplane.server.app import create_app
from faceplane.services import Services

UNLIMITED = 1_000_000  # recognition calls a minute: the shared services are not about rate limits


@contextlib.contextmanager
def running_services(data_dir: Path, **settings: object) -> Iterator[Services]:
    """Built and started like ``faceplane serve`` does; closed (cameras, video thread, stores) on exit."""
    # cameras: files of the shared data (admins), loopback streams (the test RTSP server); see test_camera_sources
    shared = os.environ.get("FACEPLANE_DATA") or Path(__file__).resolve().parents[3].parent / "shared" / "data"
    sources = {"media_roots": [str(shared)], "deny_hosts": []}
    options: dict[str, object] = {
        "workers": 0,
        "rate_limit_per_minute": UNLIMITED,
        "camera_sources": sources,
        **settings,
    }
    services = build_services(Settings(data_dir=data_dir, **options))  # type: ignore[arg-type]
    services.start()
    try:
        yield services
    finally:
        services.close()


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with running_services(tmp_path_factory.mktemp("server-data")) as built:
        yield built


@pytest.fixture(scope="module")
def app(services: Services):
    return create_app(services)


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def role_headers(services: Services) -> dict[str, dict[str, str]]:
    """Headers with a fresh key per role (the admin uses the built-in development key)."""
    return {
        "viewer": headers(services.accounts.create_key("test-viewer", "viewer")),
        "operator": headers(services.accounts.create_key("test-operator", "operator")),
        "admin": headers(DEV_ADMIN_KEY),
    }


@pytest.fixture(scope="module")
def viewer(role_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return role_headers["viewer"]


@pytest.fixture(scope="module")
def operator(role_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return role_headers["operator"]


@pytest.fixture(scope="module")
def admin(role_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return role_headers["admin"]


@contextlib.contextmanager
def _live_server(app) -> Iterator[str]:
    """The app behind a real uvicorn on a free local port (for streaming responses); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=3, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="session")
def make_services():
    """``make_services(data_dir, **settings)``: a context manager with other started services."""
    return running_services


@pytest.fixture(scope="session")
def live_server():
    """``live_server(app)``: a context manager serving ``app`` with uvicorn; yields the base URL."""
    return _live_server
