"""The portal in a real browser (Playwright driving Debian's /usr/bin/chromium, never a downloaded one):
report, receipt and status page in Korean and English; the proof-of-work runs in the page's own script under
the strict CSP; the reports appear in the triage data."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.portal.conftest import ARTISTS, PortalServer

CHROMIUM = "/usr/bin/chromium"


def in_own_thread(scenario: Callable[[object], None]) -> None:
    """Run ``scenario(browser)`` with Playwright's sync API in a thread of its own: another test's session-wide
    Playwright (capture's browser pool) may be running its event loop in the main thread."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh)")
    failure: list[BaseException] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        try:
            with sync_playwright() as pw:
                chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
                try:
                    scenario(chromium)
                finally:
                    chromium.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="playwright")
    thread.start()
    thread.join(timeout=300)
    if thread.is_alive():
        raise AssertionError("browser scenario did not finish in 300 s")
    if failure:
        raise failure[0]


def submit(page, server: PortalServer, lang: str, urls: list[str], artist: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.base}/?lang={lang}")
    page.fill("#urls", "\n".join(urls))
    page.check("input[value=ai_deepfake]")
    page.select_option("#artist", artist)
    page.fill("#note", "<b>found</b> in an open chat")
    page.click("#send")


@pytest.mark.slow
def test_report_receipt_and_status_in_korean_and_english(home: Path, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = PortalServer(home, pow_bits=12)
    try:
        in_own_thread(lambda browser: scenario(browser, server, workspace, tmp_path))
    finally:
        server.stop()


def scenario(browser, server: PortalServer, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.jobs import decide, triage_rows

    problems: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    submit(page, server, "ko", ["https://x.com/leaker/status/1", "https://t.me/s/leakchan/77"], ARTISTS[1])
    page.wait_for_url("**/status/**", timeout=60_000)
    assert "감사합니다" in page.inner_text("#receipt-title")
    receipt_ko = page.inner_text("#receipt")
    assert receipt_ko.startswith("R-")
    assert page.inner_text("#status").startswith("접수됨")
    assert "내려받거나" in page.content()  # the warning is repeated on the receipt
    assert page.inner_text("#note") == "<b>found</b> in an open chat"  # shown as text, not markup
    assert page.locator("#note b").count() == 0
    status_link = page.get_attribute("#status-link", "href")
    page.screenshot(path=str(tmp_path / "portal-receipt-ko.png"), full_page=True)

    page2 = context.new_page()
    page2.on("pageerror", lambda exc: problems.append(str(exc)))
    submit(page2, server, "en", ["https://mobile.twitter.com/leaker/status/1?s=20"], ARTISTS[0])
    page2.wait_for_url("**/status/**", timeout=60_000)
    assert "Thank you" in page2.inner_text("#receipt-title")
    assert page2.inner_text("#status").startswith("Received")
    receipt_en = page2.inner_text("#receipt")
    page2.screenshot(path=str(tmp_path / "portal-receipt-en.png"), full_page=True)

    # Bad input is explained next to the form, in the page's language, and nothing is sent.
    page3 = context.new_page()
    submit(page3, server, "ko", ["javascript:alert(1)"], ARTISTS[0])
    page3.wait_for_selector("#errors:not([hidden])", timeout=30_000)
    assert "http:// 또는 https://" in page3.inner_text("#errors")

    rows = {row["url"]: row for row in triage_rows(workspace)}
    assert rows["https://x.com/leaker/status/1"]["report_count"] == 2  # both reports, one link
    assert rows["https://t.me/leakchan/77"]["artists"] == {ARTISTS[1]: 1}
    assert receipt_ko != receipt_en

    decide(workspace, rows["https://t.me/leakchan/77"]["link_id"], "not_actionable")
    decide(workspace, rows["https://x.com/leaker/status/1"]["link_id"], "action_taken")
    page.goto(f"{server.base}{status_link}?lang=en")
    assert page.inner_text("#status").startswith("Action taken")
    assert page.inner_text("#receipt") == receipt_ko
    page.goto(f"{server.base}{status_link}?lang=ko")
    assert page.inner_text("#status").startswith("조치 완료")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems
    context.close()
