"""Browser security headers on every response (a pure ASGI middleware).

- ``Content-Security-Policy``: the console loads nothing from elsewhere (scripts, styles, fetches and the
  event stream from this origin; images also from ``data:`` and ``blob:`` URLs, the snapshots it fetched);
  no inline script or style, no plugins, no ``<base>``, no framing (``frame-ancestors 'none'``).
- ``/docs`` (Swagger UI) loads its script and style from FastAPI's CDN (``cdn.jsdelivr.net``) and starts with
  an inline script: it gets its own policy that allows that CDN and exactly that script (by its SHA-256).
- ``Permissions-Policy``: the camera only on the console's verify page (``/verify``), nowhere else;
  microphone, geolocation, payment and USB nowhere.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``,
  ``Cross-Origin-Opener-Policy: same-origin``; ``Strict-Transport-Security`` when the request came over HTTPS
  (directly or from a trusted proxy).
- ``Cache-Control: no-store`` on API responses (faces, people, events) unless the route set its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["CONSOLE_CSP", "VERIFY_PAGE", "SecurityHeaders", "docs_csp", "fixed_headers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

VERIFY_PAGE = "/verify"  # the console's webcam page: the one document that may use the camera
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect")
DOCS_CDN = "https://cdn.jsdelivr.net"

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_DENIED = "microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
_PERMISSIONS = f"camera=(), {_DENIED}"
_PERMISSIONS_VERIFY = f"camera=(self), {_DENIED}"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def docs_csp(html: bytes) -> str:
    """The policy of a Swagger UI page: its CDN, and exactly the inline scripts in ``html`` (by SHA-256)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {DOCS_CDN} {hashes}; style-src {DOCS_CDN} 'unsafe-inline'; "
        f"img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def fixed_headers() -> dict[str, str]:
    """The headers of a response that does not pass through ``SecurityHeaders`` (the app's 500 answer)."""
    return {
        **{name.decode(): value.decode() for name, value in _ALWAYS},
        "content-security-policy": CONSOLE_CSP,
        "permissions-policy": _PERMISSIONS,
        "cache-control": "no-store",
    }


def _headers_for(scope: Scope, existing: list[tuple[bytes, bytes]], csp: str) -> list[tuple[bytes, bytes]]:
    path: str = scope.get("path", "")
    have = {name.lower() for name, _ in existing}
    headers = [(n, v) for n, v in existing if n.lower() != b"content-security-policy"]
    wanted = [
        *_ALWAYS,
        (b"content-security-policy", csp.encode()),
        (b"permissions-policy", (_PERMISSIONS_VERIFY if path == VERIFY_PAGE else _PERMISSIONS).encode()),
    ]
    if path.startswith("/api/"):
        wanted.append((b"cache-control", b"no-store"))
    if scope.get("scheme") == "https":
        wanted.append((b"strict-transport-security", b"max-age=31536000"))
    headers += [(n, v) for n, v in wanted if n == b"content-security-policy" or n not in have]
    return headers


class SecurityHeaders:
    """Adds the headers above to every HTTP response of ``app`` (a route's own header of the same name
    wins, except the content security policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope.get("path") in DOCS_PAGES:
            await self._docs(scope, receive, send)
        else:

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = _headers_for(scope, list(message.get("headers", [])), CONSOLE_CSP)
                await send(message)

            await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Swagger UI: the page is small; hold it until its inline scripts are known, then send it."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        for message in held:
            if message["type"] == "http.response.start":
                message["headers"] = _headers_for(scope, list(message.get("headers", [])), docs_csp(body))
            await send(message)
