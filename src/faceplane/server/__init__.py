"""The HTTP server: REST API, live events and the web console (``faceplane serve``)."""

from .app import create_app

__all__ = ["create_app"]
