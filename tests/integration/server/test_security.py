"""Browser security headers, the session cookie, trusted proxies and the auditing of refused requests.

Through the real app (``create_app`` on started services, real SQLite audit log); the proxy test runs a real
``faceplane serve`` and connects from two loopback addresses, one of them a trusted proxy.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from faceplane.config import DEV_ADMIN_KEY
from faceplane.server.app import create_app

API = "/api/v1"
BAD_KEY = "fp_not-a-key-but-it-must-not-be-logged"
PAGES = ["/", "/verify", "/console/app.js", "/console/style.css", f"{API}/health", f"{API}/openapi.json"]
ERRORS = [
    ("GET", f"{API}/people/1"),
    ("GET", "/no-such-page"),
    ("POST", f"{API}/collections"),
    ("GET", "/console/x.js"),
]


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


def _assert_browser_headers(response, *, camera: str = "()") -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert f"camera={camera}" in h["permissions-policy"]
    csp = _directives(h["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no other origin
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]  # fetch and the event stream
    assert set(csp["img-src"]) == {"'self'", "data:", "blob:"}  # the icon, fetched snapshots


# -- headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_api_response_carries_the_security_headers(client, viewer, path) -> None:
    response = client.get(path, headers=viewer)
    assert response.status_code == 200, response.text
    _assert_browser_headers(response, camera="(self)" if path == "/verify" else "()")


@pytest.mark.parametrize(("method", "path"), ERRORS)
def test_error_responses_carry_the_security_headers(client, method, path) -> None:
    response = client.request(method, path)  # no key: 401 on the API, 404 elsewhere
    assert response.status_code in (401, 404), response.text
    _assert_browser_headers(response)


def test_the_camera_is_allowed_only_on_the_verify_page(client) -> None:
    verify = client.get("/verify")
    assert "camera=(self)" in verify.headers["permissions-policy"]
    assert verify.text == client.get("/").text  # the console, in its own document
    for path in [p for p in PAGES if p != "/verify"]:
        policy = client.get(path).headers["permissions-policy"]
        assert "camera=()" in policy and "microphone=()" in policy, path


def test_api_responses_are_not_cached_but_the_console_files_may_be(client, viewer) -> None:
    assert client.get(f"{API}/collections", headers=viewer).headers["cache-control"] == "no-store"
    assert client.get(f"{API}/people/999999", headers=viewer).headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/console/app.js").headers.get("cache-control", "")


def test_the_console_has_no_inline_script_style_or_handler(client) -> None:
    """What the policy forbids is not in the console's markup (the e2e tests run it in Chromium)."""
    html = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)


def test_swagger_ui_gets_its_own_policy_with_exactly_its_inline_script(client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    csp = _directives(response.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline  # the page starts Swagger UI from an inline script
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    assert set(csp["script-src"]) == {"https://cdn.jsdelivr.net", *hashes}
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/redoc").status_code == 404  # ReDoc (another CDN page) is not served


# -- the session cookie ----------------------------------------------------------------------------------


def _login_cookie(client: TestClient, password: str) -> str:
    response = client.post(f"{API}/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.headers["set-cookie"]


def test_the_session_cookie_is_secure_in_production_only(client, make_services, tmp_path) -> None:
    development = _login_cookie(client, DEV_ADMIN_KEY)
    assert "httponly" in development.lower() and "samesite=strict" in development.lower()
    assert "secure" not in development.lower()  # plain http://localhost still works in development
    secrets = {"admin_api_key": "k" * 32, "admin_password": "a long admin password"}
    with (
        make_services(tmp_path, environment="production", **secrets) as production,
        TestClient(create_app(production)) as prod_client,
    ):
        cookie = _login_cookie(prod_client, "a long admin password")
    assert "; secure" in cookie.lower() and "httponly" in cookie.lower()


def test_the_session_cookie_is_secure_over_https_in_development(app) -> None:
    with TestClient(app, base_url="https://testserver") as https:
        response_cookie = _login_cookie(https, DEV_ADMIN_KEY)
        assert "; secure" in response_cookie.lower()
        assert https.get(f"{API}/health").headers["strict-transport-security"].startswith("max-age=")


# -- refused requests in the audit log -------------------------------------------------------------------


def _refusals(client: TestClient, admin: dict[str, str], action: str = "refused") -> list[dict]:
    response = client.get(f"{API}/audit", params={"action": action, "limit": 1000}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _newest_refusal(client, admin, target: str) -> dict:
    rows = [r for r in _refusals(client, admin) if r["target"] == target]
    assert rows, f"no audit row for the refused {target}"
    return rows[0]


def test_a_401_is_audited_without_the_key(app, client, admin) -> None:
    with TestClient(app, client=("192.0.2.41", 40000)) as stranger:
        assert stranger.delete(f"{API}/people/1", headers={"X-API-Key": BAD_KEY}).status_code == 401
    row = _newest_refusal(client, admin, f"DELETE {API}/people/1")
    assert (row["status"], row["actor"], row["ip"]) == (401, "", "192.0.2.41")
    assert json.loads(row["detail"])["reason"] == "Unauthorized"
    everything = client.get(f"{API}/audit", params={"limit": 1000}, headers=admin).text
    assert BAD_KEY not in everything and BAD_KEY[:12] not in everything


def test_a_403_is_audited_with_the_caller(client, admin, viewer) -> None:
    response = client.post(f"{API}/keys", json={"name": "sneaky", "role": "admin"}, headers=viewer)
    assert response.status_code == 403
    row = _newest_refusal(client, admin, f"POST {API}/keys")
    assert (row["status"], row["actor"], row["role"]) == (403, "test-viewer", "viewer")
    assert "admin role" in json.loads(row["detail"])["detail"]


def test_a_422_on_a_change_is_audited_with_the_caller_and_the_reason(client, admin, operator) -> None:
    response = client.post(f"{API}/collections", json={"name": ["not", "a", "name"]}, headers=operator)
    assert response.status_code == 422
    row = _newest_refusal(client, admin, f"POST {API}/collections")
    assert (row["status"], row["actor"], row["role"], row["ip"]) == (422, "test-operator", "operator", "testclient")
    detail = json.loads(row["detail"])
    assert detail["reason"] == "ValidationError" and "body.name" in detail["detail"]


def test_a_policy_refusal_is_audited(client, admin, operator, examples) -> None:
    """A watchlist over people enrolled without a purpose and expiry is refused (InvalidArgumentError)."""
    assert client.post(f"{API}/collections", json={"name": "suspects"}, headers=operator).status_code == 201
    upload = {"images": ("obama.jpg", (examples / "obama.jpg").read_bytes(), "image/jpeg")}
    form = {"display_name": "Barack Obama"}  # no purpose, no expiry
    enrolled = client.post(f"{API}/collections/suspects/people", files=upload, data=form, headers=operator)
    assert enrolled.status_code == 201, enrolled.text
    response = client.put(f"{API}/collections/suspects/watchlist", json={"watchlist": True}, headers=operator)
    assert response.status_code == 400, response.text
    row = _newest_refusal(client, admin, f"PUT {API}/collections/suspects/watchlist")
    detail = json.loads(row["detail"])
    assert (row["status"], row["actor"], detail["reason"]) == (400, "test-operator", "InvalidArgumentError")
    assert "no purpose" in detail["detail"]


def test_reads_the_console_boot_and_failed_logins_are_not_audited_twice(client, admin, viewer) -> None:
    before = len(_refusals(client, admin))
    assert client.get(f"{API}/people/999999", headers=viewer).status_code == 404  # a refused read
    assert client.get(f"{API}/auth/me").status_code == 401  # the console asking whether it is signed in
    login = {"username": "admin", "password": "wrong password, never logged"}
    assert client.post(f"{API}/auth/login", json=login).status_code == 401
    assert len(_refusals(client, admin)) == before
    failed = _refusals(client, admin, action="login")[0]  # the login route's own row
    assert failed["status"] == 401 and failed["actor"] == "admin"
    assert "never logged" not in client.get(f"{API}/audit", params={"limit": 1000}, headers=admin).text


def test_a_flood_of_refusals_writes_a_bounded_number_of_rows_and_a_summary(make_services, tmp_path) -> None:
    """1,000 bad requests from 50 addresses: about 30 rows a minute get through, each after one summary row
    counting the refusals held back before it; the last summary comes with the next refusal after the flood."""
    with make_services(tmp_path, refusals_audited_per_minute=30) as services:
        app = create_app(services)
        started = time.monotonic()
        for n in range(50):
            with TestClient(app, client=(f"198.51.100.{n}", 40000)) as attacker:
                for _ in range(10):
                    assert attacker.post(f"{API}/collections", json={}).status_code == 401
                    keyed = attacker.post(f"{API}/collections", json={}, headers={"X-API-Key": BAD_KEY})
                    assert keyed.status_code == 401
        elapsed_s = time.monotonic() - started
        written = len(services.audit.query(action="refused", limit=10_000))
        assert 30 <= written <= 30 + elapsed_s / 2 + 1  # the burst, plus the refill while the flood ran
        assert len(services.audit.query(action="refused.suppressed", limit=10_000)) < written
        time.sleep(2.5)  # at 30 a minute, one token every 2 s
        with TestClient(app, client=("192.0.2.1", 40000)) as later:
            assert later.post(f"{API}/collections", json={}).status_code == 401
        last, summary, *_ = services.audit.query(limit=10_000)
        assert (last.action, last.ip, summary.action) == ("refused", "192.0.2.1", "refused.suppressed")
        details = [json.loads(e.detail) for e in services.audit.query(action="refused.suppressed", limit=10_000)]
        assert sum(d["count"] for d in details) == 1000 - written == sum(d["by_status"]["401"] for d in details)
        assert details[0]["message"] == f"{details[0]['count']} refusals suppressed"
        assert len(services.audit.query(limit=10_000)) <= 2 * (written + 1)  # bounded: a minute's worth, twice


def test_one_address_cannot_use_up_the_whole_allowance(make_services, tmp_path) -> None:
    with make_services(tmp_path) as services, TestClient(create_app(services)) as client:
        for _ in range(100):
            assert client.post(f"{API}/collections", json={}).status_code == 401
        assert len(services.audit.query(action="refused")) == 5  # per client IP and status, a minute
        with TestClient(create_app(services), client=("192.0.2.7", 40000)) as other:
            assert other.post(f"{API}/collections", json={}).status_code == 401
        rows = services.audit.query(action="refused", limit=10)
        assert rows[0].ip == "192.0.2.7" and len(rows) == 6


# -- a real server behind a trusted proxy ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(root: Path, *args: str) -> Iterator[int]:
    """A real ``faceplane serve`` (development, detector in-process) on a free port; yields the port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLANE_")}
    env.update(FACEPLANE_ENVIRONMENT="development", FACEPLANE_WORKERS="0")
    command = [sys.executable, "-m", "faceplane.cli", "serve", "--port", str(port), "--data-dir", str(root / "d")]
    with (root / "serve.log").open("w") as log:
        proc = subprocess.Popen([*command, *args], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while _get(port, "/api/v1/health") is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"faceplane serve did not start:\n{(root / 'serve.log').read_text()}")
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _get(port: int, path: str) -> int | None:
    try:
        status, _, _ = _request(port, "GET", path)
        return status
    except (OSError, http.client.HTTPException):
        return None


def _request(
    port: int, method: str, path: str, *, source: str = "127.0.0.1", body: dict | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request from the local address ``source`` (127.0.0.2 plays the proxy)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        payload = json.dumps(body).encode() if body is not None else None
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.mark.e2e
def test_forwarded_headers_are_believed_only_from_a_trusted_proxy(tmp_path) -> None:
    spoof = {"X_Forwarded_For": "203.0.113.7", "X_Forwarded_Proto": "https"}
    with _serve(tmp_path, "--forwarded-allow-ips", "127.0.0.2") as port:
        status, direct, _ = _request(port, "DELETE", f"{API}/people/1", **spoof)  # not from the proxy: ignored
        assert status == 401 and "strict-transport-security" not in direct
        status, proxied, _ = _request(port, "DELETE", f"{API}/people/2", source="127.0.0.2", **spoof)
        assert status == 401 and proxied["strict-transport-security"].startswith("max-age=")
        login = {"username": "admin", "password": DEV_ADMIN_KEY}
        status, headers, _ = _request(port, "POST", f"{API}/auth/login", source="127.0.0.2", body=login, **spoof)
        assert status == 200 and "; secure" in headers["set-cookie"].lower()  # HTTPS at the proxy
        _, _, body = _request(port, "GET", f"{API}/audit?action=refused", X_API_Key=DEV_ADMIN_KEY)
    ips = {row["target"]: row["ip"] for row in json.loads(body)}
    assert ips[f"DELETE {API}/people/1"] == "127.0.0.1"
    assert ips[f"DELETE {API}/people/2"] == "203.0.113.7"
