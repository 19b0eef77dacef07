"""An artist-scoped admin may not manage users and API tokens, nor read the audit log or verification (web
tryout webtry): the users page let them widen their own scope to every artist, add an unscoped admin or take
an API token in another admin's name; the audit log listed every artist's items."""

from __future__ import annotations

from idolguard.web import accounts

from .conftest import STRONG, csrf_of, make_user, sign_in


def test_a_scoped_admin_cannot_widen_their_scope_or_take_a_token(app_ws, new_client) -> None:  # type: ignore[no-untyped-def]
    boss = sign_in(new_client(), make_user(app_ws, "sadm", "admin", ["Someone"], password=STRONG), lang="ko")
    root = sign_in(new_client(), make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    triage = boss.get("/triage").text
    assert 'href="/admin/users"' not in triage and 'href="/admin/ledger"' not in triage
    assert 'href="/admin/users"' in root.get("/triage").text
    csrf = csrf_of(boss.get("/account").text)
    for path in ("/admin/users", "/admin/ledger", "/admin/verify"):
        refused = boss.get(path)
        assert refused.status_code == 403, path
        assert "작업 공간 전체의 관리자만" in refused.text
    assert boss.post("/admin/users/sadm/role", data={"csrf": csrf, "role": "admin", "artists": ""}).status_code == 403
    assert boss.post("/admin/tokens", data={"csrf": csrf, "name": "root", "scope": "write"}).status_code == 403
    assert boss.post("/admin/users", data={"csrf": csrf, "name": "mole", "role": "admin"}).status_code == 403
    assert boss.post("/admin/users/root/disable", data={"csrf": csrf}).status_code == 403
    with app_ws.sessions() as session:
        assert accounts.get_user(session, "sadm").artists == ["Someone"]
        assert not accounts.get_user(session, "root").disabled
    try:
        with app_ws.sessions() as session:
            accounts.get_user(session, "mole")
        raise AssertionError("a scoped admin added a user")
    except accounts.AccountError:
        pass
    # an administrator of the whole workspace still manages them
    csrf = csrf_of(root.get("/admin/users").text)
    assert root.post("/admin/users/sadm/role", data={"csrf": csrf, "role": "analyst", "artists": ""}).status_code == 303
    assert root.get("/admin/ledger").status_code == 200
