"""Sign-in, sessions, CSRF, lock-out, invitations, tokens and security headers, through the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.web import accounts, security
from idolguard.web.models import User, WebSession

from .conftest import STRONG, csrf_of, make_user, page_csrf, sign_in


def actions(ws, user: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        rows = session.execute(select(LedgerEntry.action, LedgerEntry.details).order_by(LedgerEntry.seq)).all()
    return [a for a, d in rows if user is None or (d or {}).get("user") == user]


def test_password_hash_is_argon2id_and_tokens_are_stored_hashed(app_ws):
    login = make_user(app_ws, "ana", "analyst")
    with app_ws.sessions() as session:
        user = session.scalar(select(User).where(User.name == "ana"))
    assert user.password_hash.startswith("$argon2id$")
    assert login.password not in user.password_hash
    token = accounts.create_token(app_ws, "ana", "read", "30d", by="test")
    from idolguard.web.models import ApiToken

    with app_ws.sessions() as session:
        stored = session.scalar(select(ApiToken.token_hash))
    assert stored == security.token_hash(token) and token not in stored


def test_first_login_needs_totp_then_password_change(client, app_ws):
    login = make_user(app_ws, "ana", "analyst")
    assert client.get("/triage").headers["location"] == "/login"
    sign_in(client, login)
    # One-time password: every page sends the user to choose their own first.
    assert client.get("/triage").headers["location"] == "/account/password"
    csrf = page_csrf(client, "/account/password")
    current = login.password
    short = client.post(
        "/account/password",
        data={"csrf": csrf, "current_password": current, "new_password": "short", "repeat": "short"},
    )
    assert short.status_code == 400
    ok = client.post(
        "/account/password", data={"csrf": csrf, "current_password": current, "new_password": STRONG, "repeat": STRONG}
    )
    assert ok.status_code == 303
    assert client.get("/triage").status_code == 200
    assert "web.login" in actions(app_ws, "ana") and "web.password_set" in actions(app_ws, "ana")


def test_password_alone_does_not_sign_in(client, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "name": "ana", "password": STRONG})
    assert client.get("/triage").headers["location"] == "/login/totp"
    page = client.get("/login/totp")
    bad = client.post(
        "/login/totp", data={"csrf": csrf_of(page.text), "code": "000000" if login.code() != "000000" else "111111"}
    )
    assert bad.status_code == 401
    assert client.get("/triage").headers["location"] == "/login/totp"


def test_session_id_rotates_at_each_sign_in_step(client, app_ws):
    """Session fixation: an id known before sign-in never becomes an authenticated session."""
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "name": "ana", "password": STRONG})
    half = client.cookies.get("ig_session")
    page = client.get("/login/totp")
    client.post("/login/totp", data={"csrf": csrf_of(page.text), "code": login.code()})
    full = client.cookies.get("ig_session")
    assert half and full and half != full
    with app_ws.sessions() as session:
        assert session.get(WebSession, security.token_hash(half)) is None
        assert session.get(WebSession, security.token_hash(full)).second_factor_ok
    # A planted cookie value is replaced, not upgraded.
    client.cookies.set("ig_session", half)
    assert client.get("/triage").headers["location"] == "/login"


def test_session_cookie_flags(client, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page.text), "name": login.name, "password": STRONG})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_csrf_is_required_on_state_changes(client, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    sign_in(client, login)
    no_token = client.post("/account", data={"lang": "en", "timezone": "UTC"})
    assert no_token.status_code == 403
    wrong = client.post("/account", data={"csrf": "x" * 43, "lang": "en", "timezone": "UTC"})
    assert wrong.status_code == 403
    with app_ws.sessions() as session:
        assert session.scalar(select(User.lang).where(User.name == "ana")) is None
    ok = client.post("/account", data={"csrf": page_csrf(client), "lang": "en", "timezone": "UTC"})
    assert ok.status_code == 303
    # Sign-in forms are protected too (double-submit cookie).
    fresh = client.post("/login", data={"name": "ana", "password": STRONG})
    assert fresh.status_code == 403


def test_lockout_after_failed_attempts_is_in_the_ledger(client, app_ws):
    make_user(app_ws, "ana", "analyst", password=STRONG)
    for _ in range(accounts.MAX_FAILED):
        page = client.get("/login")
        r = client.post("/login", data={"csrf": csrf_of(page.text), "name": "ana", "password": "wrong password!!"})
        assert r.status_code == 401
    page = client.get("/login")
    locked = client.post("/login", data={"csrf": csrf_of(page.text), "name": "ana", "password": STRONG})
    assert locked.status_code == 401  # even the right password is refused while locked
    seen = actions(app_ws, "ana")
    assert seen.count("web.login_failed") == accounts.MAX_FAILED + 1 and "web.lockout" in seen
    # Nothing secret goes into the ledger.
    with app_ws.sessions() as session:
        lines = [line for (line,) in session.execute(select(LedgerEntry.line))]
    assert not any(STRONG in line or "wrong password" in line for line in lines)


def test_expired_invitation_is_refused(client, app_ws):
    login = make_user(app_ws, "ana", "analyst")
    with app_ws.sessions() as session, session.begin():
        user = session.scalar(select(User).where(User.name == "ana"))
        user.invite_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(page.text), "name": "ana", "password": login.password})
    assert r.status_code == 401 and ("expired" in r.text or "만료" in r.text)


def test_disabled_user_loses_sessions_and_tokens(client, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    sign_in(client, login)
    token = accounts.create_token(app_ws, "ana", "read", "30d", by="test")
    assert accounts.principal_for_token(app_ws, token) is not None
    accounts.disable_user(app_ws, "ana", by="test")
    assert client.get("/triage").headers["location"] == "/login"
    assert accounts.principal_for_token(app_ws, token) is None


def test_security_headers(client, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    for response in (client.get("/login"), sign_in(client, login).get("/triage")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in response.text  # no inline script anywhere


def test_korean_by_default_and_english_on_request(client, app_ws):
    ko = client.get("/login")
    assert "로그인" in ko.text and 'lang="ko"' in ko.text
    browser = client.get("/login", headers={"accept-language": "en-US,en;q=0.9"})
    assert 'lang="ko"' in browser.text  # the agency's default, not the browser's language (tryout #13)
    client.get("/lang/en")
    assert "Sign in" in client.get("/login").text


def test_catalog_covers_every_message():
    from idolguard.web.i18n import catalog, used_messages

    ko = catalog("ko")
    missing = sorted(m for m in used_messages() if not ko.get(m))
    assert not missing, missing
    hangul = sum(1 for text in ko.values() if any("\uac00" <= ch <= "\ud7a3" for ch in text))
    assert hangul >= 0.9 * len(ko)  # real Korean, not copies of the English


def test_admin_changes_role_and_scope_and_the_session_ends(client, new_client, app_ws):
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG))
    vic = sign_in(new_client(), make_user(app_ws, "vic", "viewer", password=STRONG))
    assert vic.get("/intake").status_code == 403
    from idolguard.gallery.models import Artist

    with app_ws.sessions() as session, session.begin():  # a scope names enrolled artists
        session.add_all([Artist(name="A", enrolled_by="test"), Artist(name="B", enrolled_by="test")])
    r = admin.post(
        "/admin/users/vic/role", data={"csrf": page_csrf(admin, "/admin/users"), "role": "analyst", "artists": "A, B"}
    )
    assert r.status_code == 303
    with app_ws.sessions() as session:
        user = session.scalar(select(User).where(User.name == "vic"))
    assert user.role == "analyst" and user.artists == ["A", "B"]
    assert vic.get("/intake").headers["location"] == "/login"  # signed out: the new rights need a new sign-in
    assert "web.user_change" in actions(app_ws, "vic")
