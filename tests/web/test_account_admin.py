"""Tryout fixes for accounts: password change needs the current password and a strong new one (sessions end),
admins cannot lock everyone out and can enable users again, reveal is post-redirect-get, comment length,
artist scopes and token limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.web import accounts, passwords
from idolguard.web.models import Reveal, User

from .conftest import STRONG, csrf_of, make_user, page_csrf, sign_in
from .seed import seed


def events(ws, action: str) -> list[LedgerEntry]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.action == action)))


@pytest.fixture
def seeded(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    return seed(app_ws, tmp_path / "media")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("a" * 12, "repeated"),
        ("abcabcabcabc", "repeated"),
        ("123456789012", "sequence"),
        ("qwertyuiopas", "sequence"),
        ("Password2024!", "common"),
        ("saranghae1234", "common"),
        ("mina-is-the-best", "name"),
        ("short", "short"),
    ],
)
def test_weak_passwords_are_refused(password, reason):  # type: ignore[no-untyped-def]
    assert passwords.problem(password, "mina") == reason


def test_good_passwords_pass():
    assert passwords.problem(STRONG, "mina") == ""
    assert passwords.problem("violet tram 42 orbit", "admin") == ""


def test_password_change_needs_the_current_one_and_ends_other_sessions(client, new_client, app_ws):
    login = make_user(app_ws, "mina", "analyst", password=STRONG)
    sign_in(client, login)
    other = sign_in(new_client(), login)
    assert other.get("/triage").status_code == 200
    page = client.get("/account/password")
    # Not the first-login wording once the one-time password is gone.
    assert "Replace the one-time password" not in page.text and 'name="current_password"' in page.text
    csrf = csrf_of(page.text)
    new = "violet tram 42 orbit"
    wrong = client.post(
        "/account/password", data={"csrf": csrf, "current_password": "nope" * 4, "new_password": new, "repeat": new}
    )
    assert wrong.status_code == 400 and "현재 비밀번호가 틀렸습니다" in wrong.text
    failed = [e.details for e in events(app_ws, "web.login_failed")]
    assert {"user": "mina", "factor": "password_change"}.items() <= failed[-1].items()
    weak = client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": STRONG, "new_password": "a" * 12, "repeat": "a" * 12},
    )
    assert weak.status_code == 400 and "반복한 비밀번호" in weak.text
    old_cookie = client.cookies.get("ig_session")
    ok = client.post(
        "/account/password", data={"csrf": csrf, "current_password": STRONG, "new_password": new, "repeat": new}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/account?password=changed"
    assert client.cookies.get("ig_session") != old_cookie  # rotated
    assert 'id="password-changed"' in client.get("/account?password=changed").text
    assert other.get("/triage").headers["location"] == "/login"  # the other session ended
    with app_ws.sessions() as session:
        from idolguard.web import security

        user = session.scalar(select(User).where(User.name == "mina"))
        assert security.verify_password(user.password_hash, new)


def test_first_password_wording_and_one_time_password_required(client, app_ws):
    login = make_user(app_ws, "ana", "analyst")
    sign_in(client, login)
    page = client.get("/account/password")
    assert "Replace the one-time password" in page.text or "일회용 비밀번호를" in page.text
    csrf = csrf_of(page.text)
    missing = client.post("/account/password", data={"csrf": csrf, "new_password": STRONG, "repeat": STRONG})
    assert missing.status_code == 400
    ok = client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": login.password, "new_password": STRONG, "repeat": STRONG},
    )
    assert ok.status_code == 303 and client.get("/triage").status_code == 200


def test_totp_step_shows_no_navigation_or_role(client, app_ws):
    make_user(app_ws, "root", "admin", password=STRONG)
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "name": "root", "password": STRONG})
    step = client.get("/login/totp")
    assert step.status_code == 200 and "<nav>" not in step.text and 'id="me"' not in step.text
    assert "/admin/users" not in step.text and 'id="cancel-sign-in"' in step.text


def test_admin_cannot_disable_self_or_last_admin_and_can_enable(client, app_ws):
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG))
    make_user(app_ws, "vic", "viewer")
    page = admin.get("/admin/users")
    assert 'action="/admin/users/root/disable"' not in page.text  # no button on one's own row
    assert "data-confirm=" in page.text.split('action="/admin/users/vic/disable"')[1][:200]
    csrf = csrf_of(page.text)
    self_disable = admin.post("/admin/users/root/disable", data={"csrf": csrf})
    assert self_disable.status_code == 409 and "자기 계정은 비활성화할 수 없습니다" in self_disable.text
    with pytest.raises(accounts.AccountError, match="last active administrator"):
        accounts.disable_user(app_ws, "root", by="cli:operator")
    with pytest.raises(accounts.AccountError, match="last active administrator"):
        accounts.change_user(app_ws, "root", "viewer", [], by="cli:operator")
    assert admin.post("/admin/users/vic/disable", data={"csrf": csrf}).status_code == 303
    assert "enable-vic" in admin.get("/admin/users").text
    assert admin.post("/admin/users/vic/enable", data={"csrf": csrf}).status_code == 303
    with app_ws.sessions() as session:
        assert not session.scalar(select(User).where(User.name == "vic")).disabled
    assert [e.details["user"] for e in events(app_ws, "web.user_enable")] == ["vic"]
    assert "사용자 다시 활성화" in admin.get("/admin/ledger").text  # the audit log names the action
    again = admin.post("/admin/users/vic/enable", data={"csrf": csrf})
    assert again.status_code == 409


def test_cli_enable_and_last_admin(cli, app_ws):
    make_user(app_ws, "root", "admin")
    make_user(app_ws, "vic", "viewer")
    refused = cli("users", "disable", "root", ok=False)
    assert refused.exit_code != 0 and "last active administrator" in refused.output
    cli("users", "disable", "vic")
    assert "(disabled)" in cli("users", "list").output
    assert "vic enabled" in cli("users", "enable", "vic").output
    assert "(disabled)" not in cli("users", "list").output
    assert len(events(app_ws, "web.user_enable")) == 1
    assert cli("users", "enable", "vic", ok=False).exit_code != 0


def test_reveal_is_post_redirect_get_and_reload_records_nothing(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    sha = seeded.suspect
    csrf = csrf_of(client.get(f"/items/{sha}").text)
    posted = client.post(f"/items/{sha}/reveal", data={"csrf": csrf, "reason": "identity_check"})
    assert posted.status_code == 303
    with app_ws.sessions() as session:
        grant = session.scalar(select(Reveal))
    assert posted.headers["location"] == f"/items/{sha}/revealed/{grant.id}"
    for _reload in range(3):
        page = client.get(posted.headers["location"])
        assert page.status_code == 200 and f"/items/{sha}/original/{grant.id}" in page.text
    assert len(events(app_ws, "web.reveal")) == 1
    with app_ws.sessions() as session:
        assert session.scalar(select(Reveal.id).where(Reveal.id != grant.id)) is None
    with app_ws.sessions() as session, session.begin():
        session.get(Reveal, grant.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    expired = client.get(posted.headers["location"])
    assert expired.status_code == 200 and "/original/" not in expired.text and 'id="notice"' in expired.text


def test_comment_length_is_limited_with_a_clear_error(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    sha = seeded.suspect
    csrf = csrf_of(client.get(f"/items/{sha}").text)
    long = client.post(f"/items/{sha}/comment", data={"csrf": csrf, "text": "x" * 20000})
    assert long.status_code == 400 and "20000" in long.text
    assert not events(app_ws, "web.comment")
    fine = client.post(f"/items/{sha}/comment", data={"csrf": csrf, "text": "y" * 5000})
    assert fine.status_code == 303
    assert len(events(app_ws, "web.comment")[0].details["text"]) == 5000
    css = client.get("/static/app.css").text
    assert "#comment-list li" in css and "overflow-wrap:anywhere" in css


def test_unknown_artist_scope_is_refused(client, cli, app_ws, seeded):
    with pytest.raises(accounts.AccountError, match="Nobody X"):
        accounts.add_user(app_ws, "ned", "viewer", ["Nobody X"], by="test")
    refused = cli("users", "add", "ned", "--role", "viewer", "--artists", "Nobody X", ok=False)
    assert refused.exit_code != 0 and "Nobody X" in refused.output
    assert "ned" not in cli("users", "list").output
    cli("users", "add", "ned", "--role", "viewer", "--artists", "eileen")  # case-insensitive: the enrolled name
    with app_ws.sessions() as session:
        assert session.scalar(select(User).where(User.name == "ned")).artists == ["Eileen"]
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG))
    csrf = page_csrf(admin, "/admin/users")
    form = admin.post("/admin/users", data={"csrf": csrf, "name": "ned2", "role": "viewer", "artists": "Nobody X"})
    assert form.status_code == 400 and "Nobody X" in form.text
    role = admin.post("/admin/users/ned/role", data={"csrf": csrf, "role": "viewer", "artists": "Nobody X"})
    assert role.status_code == 400


def test_token_limits(cli, app_ws):
    make_user(app_ws, "vic", "viewer")
    make_user(app_ws, "ana", "analyst")
    for expires in ("99999d", "366d", "never", "53w"):
        with pytest.raises(accounts.AccountError, match="365 days"):
            accounts.create_token(app_ws, "ana", "read", expires, by="test")
    assert accounts.create_token(app_ws, "ana", "write", "365d", by="test")
    with pytest.raises(accounts.AccountError, match="only read tokens"):
        accounts.create_token(app_ws, "vic", "write", "30d", by="test")
    assert accounts.create_token(app_ws, "vic", "read", "30d", by="test")
    refused = cli("tokens", "create", "ana", "--expires", "99999d", ok=False)
    assert refused.exit_code != 0 and "365 days" in refused.output
