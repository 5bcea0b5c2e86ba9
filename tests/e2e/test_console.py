"""The web console in a real headless Chromium against a real ``faceplane serve``.

Drives what a security operator does: log in, create a watchlist collection, enroll Lin-Manuel Miranda
by dropping his photo on the drop zone, start a camera on the Hamilton clip, watch the live frame, get
the watchlist alert in the Alerts feed, then look at Analytics, Audit and API keys.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``$FACEPLANE_CHROMIUM``) and ``playwright`` (the
Python package only: no ``playwright install``, no browser download). Screenshots of each view go to
the test's ``tmp_path``, and to ``tests/e2e/screenshots/`` too when ``$FACEPLANE_SCREENSHOTS`` is set.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

import pytest
from playwright import sync_api

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
SCREENSHOTS = Path(__file__).parent / "screenshots"
ADMIN = ("admin", "fp-dev-admin-key")  # development mode login


class Shots:
    """Full-page screenshots into tmp_path (and tests/e2e/screenshots/ when $FACEPLANE_SCREENSHOTS is set)."""

    def __init__(self, page, tmp_path: Path) -> None:
        self.page, self.dirs = page, [tmp_path / "screenshots"]
        if os.environ.get("FACEPLANE_SCREENSHOTS"):
            self.dirs.append(SCREENSHOTS)
        for d in self.dirs:
            d.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.page.wait_for_timeout(300)  # let transitions and lazy images settle
        first = self.dirs[0] / f"{name}.png"
        self.page.screenshot(path=str(first))
        for d in self.dirs[1:]:
            shutil.copyfile(first, d / first.name)
        print("screenshot:", ", ".join(str(d / first.name) for d in self.dirs))


def _drop_files(page, selector: str, files: list[Path]) -> None:
    """A real drop event with a DataTransfer holding these files (what a drag from the desktop produces)."""
    payload = [{"name": f.name, "b64": base64.b64encode(f.read_bytes()).decode(), "type": "image/png"} for f in files]
    page.eval_on_selector(
        selector,
        """(zone, files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            }
        }""",
        payload,
    )


def test_operator_journey(server: str, browser, examples: Path, tmp_path: Path, watch_errors) -> None:
    photo = examples / "lin-manuel-miranda.png"
    clip = examples / "short_hamilton_clip.mp4"
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    # HTTP errors the journey provokes on purpose (401 before login, 400 duplicate) log "Failed to load
    # resource"; anything else logged as an error is a bug in the console.
    errors = watch_errors(page)
    shot = Shots(page, tmp_path)
    try:
        # ---- login (a wrong password first: the error is shown, nothing else happens)
        page.goto("/")
        expect(page.locator("#login-form")).to_be_visible()
        shot("01-login")
        page.fill("#login-user", ADMIN[0])
        page.fill("#login-pass", "wrong")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_contain_text("wrong user name or password")
        page.fill("#login-pass", ADMIN[1])
        page.click("#login-submit")
        expect(page.locator("#shell")).to_be_visible()
        expect(page.locator("#whoami")).to_contain_text("admin")
        for view in ("live", "alerts", "people", "analytics", "audit", "keys"):
            expect(page.locator(f'.nav-item[data-view="{view}"]')).to_be_visible()
        expect(page.locator("#stream-status")).to_have_class("stream-status on")

        # ---- people: a watchlist collection, an API error shown as a toast, enrollment by drop
        page.click('.nav-item[data-view="people"]')
        page.fill("#collection-name", "watchlist")
        page.fill("#collection-desc", "persons of interest")
        page.click("#collection-create")
        item = page.locator('.coll-item[data-name="watchlist"]')
        expect(item).to_be_visible()
        page.fill("#collection-name", "watchlist")
        page.click("#collection-create")
        expect(page.locator(".toast.error")).to_contain_text("already exists")
        item.locator("input.switch").check()
        expect(item).to_contain_text("WATCHLIST")

        _drop_files(page, "#dropzone", [photo])
        expect(page.locator("#enroll-thumbs .thumb-card")).to_have_count(1)
        page.fill("#enroll-name", "Lin-Manuel Miranda")
        page.fill("#enroll-consent", "public figure (test)")
        page.click("#enroll-submit")  # a watchlist entry without purpose and expiry: the form refuses
        expect(page.locator("#enroll-purpose:invalid")).to_have_count(1)
        page.fill("#enroll-purpose", "test of the alert flow")
        expiry = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        page.fill("#enroll-expiry", expiry)
        page.click("#enroll-submit")
        report = page.locator("#enroll-report")
        expect(report).to_contain_text("Lin-Manuel Miranda", timeout=30_000)
        expect(report).to_contain_text("1 template(s) added")
        expect(page.locator("#people-rows")).to_contain_text("Lin-Manuel Miranda")
        expect(page.locator("#people-rows")).to_contain_text(expiry)
        expect(item).to_contain_text("1 people")
        shot("02-people")

        # ---- live: start a camera on the clip, the annotated frame appears
        page.click('.nav-item[data-view="live"]')
        page.click("#add-camera")
        page.fill("#cam-id", "stage")
        page.fill("#cam-source", str(clip))
        page.fill("#cam-fps", "5")
        page.fill("#cam-lines", "centre=0.5,0,0.5,1")
        page.check("#cam-loop")
        page.click("#cam-submit")
        card = page.locator('.camera-card[data-camera="stage"]')
        expect(card).to_be_visible()
        frame = card.locator("img.frame")
        expect(frame).to_be_visible(timeout=30_000)
        page.wait_for_function(
            "() => { const i = document.querySelector('.camera-card[data-camera=stage] img.frame');"
            " return i && i.complete && i.naturalWidth > 0; }",
            timeout=30_000,
        )
        expect(card.locator(".badge")).to_have_text("live", timeout=30_000)
        expect(card.locator('[data-stat="frames"] b')).not_to_have_text("0", timeout=10_000)
        shot("03-live")

        # ---- alerts: the watchlist hit for Lin-Manuel Miranda arrives (live stream or history)
        page.click('.nav-item[data-view="alerts"]')
        hit = page.locator('.alert-item[data-kind="watchlist.start"]', has_text="Lin-Manuel Miranda").first
        expect(hit).to_be_visible(timeout=60_000)
        expect(hit).to_contain_text("stage")
        expect(hit).to_contain_text("watchlist")
        hit.click()
        expect(page.locator("#alert-detail")).to_contain_text("Lin-Manuel Miranda")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#alert-detail img.snapshot, .alert-item img.thumb')]"
            ".some((i) => i.complete && i.naturalWidth > 0)",
            timeout=10_000,
        )
        shot("04-alerts")

        # ---- analytics: three charts and the per-camera line table
        page.click('.nav-item[data-view="analytics"]')
        expect(page.locator(".chart-panel svg.chart")).to_have_count(3)
        expect(page.locator("#line-rows")).to_contain_text("stage")
        expect(page.locator("#kpis")).to_contain_text("Watchlist alerts")
        alerts_kpi = page.locator(".kpi", has_text="Watchlist alerts").locator(".kpi-value")
        assert int(alerts_kpi.inner_text()) >= 1
        shot("05-analytics")

        # ---- audit: what we just did is there
        page.click('.nav-item[data-view="audit"]')
        rows = page.locator("#audit-rows")
        for action in ("login", "collection.create", "watchlist.set", "person.enroll", "camera.add"):
            expect(rows).to_contain_text(action)
        shot("06-audit")

        # ---- keys: a new key is shown once, then revoked
        page.click('.nav-item[data-view="keys"]')
        page.fill("#key-name", "door-controller")
        page.select_option("#key-role", "viewer")
        page.click("#key-create")
        key = page.locator("#key-value")
        expect(key).to_be_visible()
        assert len(key.inner_text().strip()) >= 20
        new_row = page.locator("#key-rows tr", has_text="door-controller")
        expect(new_row).to_contain_text("active")
        shot("07-keys")
        page.once("dialog", lambda d: d.accept())
        new_row.get_by_role("button", name="Revoke").click()
        expect(new_row).to_contain_text("revoked")

        # ---- log out: back to the login form; logging in again rebuilds the views
        page.click("#logout")
        expect(page.locator("#login-form")).to_be_visible()
        page.fill("#login-user", ADMIN[0])
        page.fill("#login-pass", ADMIN[1])
        page.click("#login-submit")
        expect(page.locator('.camera-card[data-camera="stage"]')).to_have_count(1)
        assert not errors, errors
    except Exception:
        shot("zz-failure")
        raise
    finally:
        context.close()


def test_viewer_sees_no_admin_views(server: str, browser) -> None:
    """Role-aware navigation: a viewer gets no Audit/Keys and no operator buttons.

    Only the admin user can log in (the API has no user management), so the role is faked by answering
    ``/auth/me`` in the browser; the admin session cookie keeps the other calls working.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server)
    page = context.new_page()
    try:
        page.request.post("/api/v1/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]})
        page.route(
            "**/api/v1/auth/me",
            lambda route: route.fulfill(json={"name": "guard-desk", "role": "viewer", "kind": "key"}),
        )
        page.goto("/#/keys")  # an admin view: refused, back to Live
        expect(page.locator("#shell")).to_be_visible()
        expect(page).to_have_url(f"{server}/#/live")
        expect(page.locator('.nav-item[data-view="live"]')).to_be_visible()
        expect(page.locator('.nav-item[data-view="audit"]')).to_have_count(0)
        expect(page.locator('.nav-item[data-view="keys"]')).to_have_count(0)
        expect(page.locator("#add-camera")).to_have_count(0)
        page.click('.nav-item[data-view="people"]')
        expect(page.locator("#collection-form")).to_have_count(0)
        expect(page.locator("#dropzone")).to_have_count(0)
    finally:
        context.close()
