"""Case pages in a real browser (Debian's Chromium through Playwright, the real app on Uvicorn): counsel opens a
case with the form, links the suspect item, sees the impact charts load under the strict CSP, downloads the
report as an attachment and finds its custody event on the page."""

from __future__ import annotations

from pathlib import Path

from .conftest import STRONG, make_user
from .test_browser import ARTIFACTS, in_browser, server, sign_in  # noqa: F401 (server is a fixture)


def case_scenario(running, browser, app_ws) -> None:  # type: ignore[no-untyped-def]
    base, world = running
    counsel = make_user(app_ws, "counsel-b", "counsel", password=STRONG)
    page = sign_in(browser, base, counsel)
    page.goto(f"{base}/cases")
    page.fill("#open-case input[name=title]", "Ring on X")
    page.fill("#open-case input[name=artist]", world.artist)
    page.click("#open-case button")
    page.wait_for_url("**/cases/IG-*")
    number = page.url.rsplit("/", 1)[1]
    page.fill("#add-links textarea[name=refs]", world.suspect[:16])
    page.click("#add-links button")
    page.wait_for_url(f"**/cases/{number}")
    assert world.suspect[:16] in page.inner_text("#case-items")
    widths = page.eval_on_selector_all("#chart-sightings, #chart-platforms", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 2 and all(w > 100 for w in widths), widths
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-page.png"), full_page=True)
    page.select_option("#case-report select[name=format]", "html")
    with page.expect_download() as download:
        page.click("#case-report button")
    assert download.value.suggested_filename == f"{number}-report-both.html"
    assert world.suspect in Path(download.value.path()).read_text(encoding="utf-8")
    page.goto(f"{base}/cases/{number}")
    timeline = page.inner_text("#timeline")  # the translated label shows; the ledger code is the cell's title
    assert page.locator('#timeline td[title="case.report"]').count() == 1, timeline
    assert ("사건 보고서 작성" in timeline or "Case report written" in timeline) and "web:counsel-b" in timeline
    assert not page.console_errors  # type: ignore[attr-defined]  (CSP violations would show here)


def test_counsel_case_in_browser(server, app_ws):  # type: ignore[no-untyped-def]  # noqa: F811
    in_browser(lambda browser: case_scenario(server, browser, app_ws))
