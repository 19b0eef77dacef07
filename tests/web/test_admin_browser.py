"""Disable asks first, in a real browser (Chromium + Playwright): dismissing the dialog changes nothing,
accepting disables the user, and the Enable button then brings them back."""

from __future__ import annotations

from sqlalchemy import select

from idolguard.web.models import User

from .conftest import STRONG, make_user
from .test_browser import in_browser, server, sign_in  # noqa: F401 (server is a fixture)


def disabled(ws, name: str) -> bool:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return bool(session.scalar(select(User.disabled).where(User.name == name)))


def test_disable_asks_for_confirmation(server, app_ws):  # noqa: F811
    base, _world = server
    root = make_user(app_ws, "root", "admin", password=STRONG)
    make_user(app_ws, "vic", "viewer")

    def scenario(browser) -> None:  # type: ignore[no-untyped-def]
        page = sign_in(browser, base, root)
        page.goto(f"{base}/admin/users")
        assert page.locator("#disable-root").count() == 0  # never one's own account
        messages: list[str] = []

        def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
            messages.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        page.click("#disable-vic")
        page.wait_for_timeout(300)
        assert messages and "vic" in messages[0] and not disabled(app_ws, "vic")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#disable-vic")
        page.wait_for_selector("#enable-vic")
        assert disabled(app_ws, "vic")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#enable-vic")
        page.wait_for_selector("#disable-vic")
        assert not disabled(app_ws, "vic")

    in_browser(scenario)
