"""The web app in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser) against
the real app served by Uvicorn on loopback with its in-process job worker. Screenshots of each step are kept
in ``test-artifacts/web/`` (or ``$IDOLGUARD_TEST_ARTIFACTS``)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.web.models import Review

from .conftest import STRONG, make_user
from .seed import seed

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = (
    Path(os.environ.get("IDOLGUARD_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "web"
)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-deps.sh)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app_ws, tmp_path) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    import uvicorn

    from idolguard.web.app import create_app
    from idolguard.web.jobs import InProcessWorker

    world = seed(app_ws, tmp_path / "media")
    port = free_port()
    config = uvicorn.Config(create_app(app_ws), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    worker = InProcessWorker(app_ws)
    worker.start()
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    yield f"http://127.0.0.1:{port}", world
    server.should_exit = True
    thread.join(timeout=10)
    worker.stop()


def in_browser(scenario) -> None:  # type: ignore[no-untyped-def]
    """Run ``scenario(browser)`` on a thread of its own: Playwright's sync API refuses a thread where an
    asyncio loop is running (another test's leftover would otherwise break this one)."""
    from playwright.sync_api import sync_playwright

    failure: list[BaseException] = []

    def body() -> None:
        try:
            with sync_playwright() as p:
                args = ["--no-sandbox"] if os.geteuid() == 0 else []
                b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
                try:
                    scenario(b)
                finally:
                    b.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive(), "browser scenario did not finish"
    if failure:
        raise failure[0]


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser, base: str, login, lang: str = "en"):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale="ko-KR" if lang == "ko" else "en-US", extra_http_headers={"Accept-Language": lang}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 and "/items/" not in r.url else None,
    )
    page.goto(f"{base}/lang/{lang}")  # the sign-in page's language link (the browser's language is not used)
    page.fill("input[name=name]", login.name)
    page.fill("input[name=password]", login.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/totp")
    page.fill("input[name=code]", login.code())
    page.click("button[type=submit]")
    page.wait_for_url("**/triage")
    page.console_errors = errors  # type: ignore[attr-defined]
    return page


def test_analyst_uploads_triages_and_reveals(server, app_ws, tmp_path):
    in_browser(lambda browser: analyst_scenario(server, browser, app_ws, tmp_path))


def test_viewer_scope_and_korean(server, app_ws):
    in_browser(lambda browser: viewer_scenario(server, browser, app_ws))


def analyst_scenario(server, browser, app_ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, world = server
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    analyst = make_user(app_ws, "ana", "analyst", password=STRONG)
    page = sign_in(browser, base, analyst)
    shot(page, "01-triage-en")
    assert page.locator("#queue tbody tr").first.get_attribute("data-sha") == world.suspect  # highest risk first

    # Upload through the intake page and watch the job finish.
    from idolguard.demo import shapes_image

    upload = tmp_path / "new-upload.jpg"
    shapes_image(42, (320, 240)).save(upload, quality=90)
    page.goto(f"{base}/intake")
    page.set_input_files("#files", str(upload))
    page.click("#upload-button")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector("#job[data-state=done]", timeout=180_000)
    assert "new-upload.jpg" in page.inner_text("#job-results")
    shot(page, "02-job-done")

    # Triage: confirm the suspect item.
    page.goto(f"{base}/items/{world.suspect}")
    page.wait_for_selector("#custody-badge[data-state=ok]")
    shot(page, "03-item-blurred")
    page.select_option("#decision-status", "confirmed_abuse")
    page.click("#decide")
    page.wait_for_url(f"**/items/{world.suspect}")
    with app_ws.sessions() as session:
        assert session.get(Review, world.suspect).status == "confirmed_abuse"

    # Reveal with a reason; the original appears; the custody event is in the audit trail of the item.
    page.select_option("#reveal-reason", "identity_check")
    page.click("#reveal-button")
    page.wait_for_selector("#revealed img")
    natural = page.eval_on_selector("#revealed img", "img => img.naturalWidth")
    assert natural == 400  # the original (400x400), not the 256 px blurred preview
    shot(page, "04-revealed")
    page.goto(f"{base}/items/{world.suspect}")
    # The custody log reads as sentences in the page's language (the action code only as a tooltip).
    assert page.locator('#custody-log td[title="web.reveal"]').count() == 1
    assert "Original revealed" in page.inner_text("#custody-log") or "원본 열람" in page.inner_text("#custody-log")
    with app_ws.sessions() as session:
        event = session.scalar(select(LedgerEntry).where(LedgerEntry.action == "web.reveal"))
    assert event.actor == "web:ana" and event.item_sha256 == world.suspect
    assert "1" in page.inner_text("#reveal-counter")
    assert not page.console_errors  # type: ignore[attr-defined]  (CSP violations would show here)


def viewer_scenario(server, browser, app_ws) -> None:  # type: ignore[no-untyped-def]
    base, world = server
    viewer = make_user(app_ws, "vic", "viewer", [world.artist], password=STRONG)
    page = sign_in(browser, base, viewer, lang="ko")
    assert page.inner_text("nav").startswith("분류")  # Korean UI from the language chosen at sign-in
    assert world.shapes[:12] not in page.inner_text("#queue")  # unattributed items are not for viewers
    page.goto(f"{base}/items/{world.suspect}")
    assert page.is_visible("#no-reveal") and not page.is_visible("#reveal-form")
    assert "원본" in page.inner_text("#no-reveal")
    shot(page, "05-viewer-ko")
    outsider = make_user(app_ws, "oli", "analyst", ["Someone Else"], password=STRONG)
    other = sign_in(browser, base, outsider)
    assert world.suspect[:12] not in other.inner_text("#queue")
    response = other.goto(f"{base}/items/{world.suspect}")
    assert response.status == 404
    shot(other, "06-out-of-scope")
