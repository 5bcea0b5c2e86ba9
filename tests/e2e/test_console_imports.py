"""The console's "Import photos" panel in a real headless Chromium against a real ``faceplane serve``.

The operator picks the test zip (``photo_zip``: four LFW people, three photos each, and photos the quality gate
refuses) on the people page of "staff", sees the import run to the end, the counts, and each refused file with its
reason; the four people appear in the list; the report is shown again after a reload.
"""

from __future__ import annotations

import httpx
import pytest
from playwright import sync_api

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = sync_api.expect
ADMIN = ("admin", "fp-dev-admin-key")  # development mode login


@pytest.fixture(scope="module")
def staff(server: str) -> str:
    with httpx.Client(base_url=f"{server}/api/v1", headers={"X-API-Key": ADMIN[1]}, timeout=60) as api:
        assert api.post("/collections", json={"name": "staff"}).status_code == 201
    return "staff"


def test_import_a_zip_and_read_the_report(server: str, browser, staff: str, photo_zip, watch_errors, log_in) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    try:
        log_in(page)
        page.click('.nav-item[data-view="people"]')
        page.click(f'.coll-item[data-name="{staff}"]')
        expect(page.locator("#import-panel")).to_contain_text(f"Import photos into {staff}")

        page.set_input_files("#import-file", str(photo_zip.path))
        page.fill("#import-consent", "contract")
        page.click("#import-submit")
        expect(page.locator("#import-status")).to_have_attribute("data-status", "done", timeout=120_000)
        expect(page.locator("#import-counts")).to_have_text(
            "4 people · 12 photos enrolled · 4 refused · 1 duplicate · 1 skipped"
        )
        assert page.locator("#import-progress").evaluate("p => [p.value, p.max]") == [18, 18]
        rows = page.locator("#import-refused li")
        expect(rows).to_have_count(6)
        for member, reason in photo_zip.refused.items():
            row = rows.filter(has_text=member)
            expect(row).to_contain_text(reason)
            expect(row).to_have_attribute("data-outcome", "refused")
        expect(rows.filter(has_text="notes/readme.txt")).to_contain_text("not a photo")
        for member, same in photo_zip.duplicate.items():
            expect(rows.filter(has_text=member)).to_contain_text(f"the same file as {same}")

        # the people list was reloaded: the four people, three templates each, with the import's consent
        for name in photo_zip.holdout:
            row = page.locator("#people-rows tr", has_text=name)
            expect(row).to_contain_text("contract")
            expect(row.locator("td.num")).to_have_text("3")

        # the last import is shown again on a fresh page
        page.reload()
        page.click('.nav-item[data-view="people"]')
        page.click(f'.coll-item[data-name="{staff}"]')
        expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
        expect(page.locator("#import-refused li")).to_have_count(6)
        assert not errors, errors
    finally:
        context.close()
