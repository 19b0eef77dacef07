"""Tryout #10: Hangul user names are accepted (NFC, one account however typed), look-alike scripts, controls,
bidi and zero-width characters are refused with a message that says what is allowed, in Korean and English;
through the CLI, the admin page and sign-in."""

from __future__ import annotations

import html
import unicodedata

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from idolguard.web import accounts
from idolguard.web.models import User

from .conftest import STRONG, Login, make_user, page_csrf, secret_of, sign_in


@pytest.mark.parametrize("name", ["민지", "김민지.kim", "Minji_01", "a@b.test", "가" * 64])
def test_latin_and_hangul_names_are_accepted(app_ws, name):
    accounts.add_user(app_ws, name, "analyst", [], by="test")
    with app_ws.sessions() as session:
        assert accounts.get_user(session, name).id


@pytest.mark.parametrize(
    "name",
    [
        "",
        "가" * 65,
        "аdmin",
        "mi\u202enji",
        "min\u200bji",
        "min\x07ji",
        "min ji",
        "ㅁㅣㄴ",
        "ｍｉｎｊｉ",
        "admin\u0301",
    ],
)
def test_unsafe_names_are_refused(app_ws, name):
    with pytest.raises(accounts.AccountError, match="Latin letters, Hangul"):
        accounts.add_user(app_ws, name, "analyst", [], by="test")


def test_decomposed_hangul_is_the_same_account_and_signs_in(client, app_ws):
    decomposed = unicodedata.normalize("NFD", "민지")
    assert decomposed != "민지"
    created = accounts.add_user(app_ws, decomposed, "analyst", [], by="test")
    with app_ws.sessions() as session:
        assert session.scalar(select(User.name).where(User.name == "민지")) == "민지"
        user_id = accounts.get_user(session, "민지").id
    accounts.set_password(app_ws, user_id, STRONG)
    with pytest.raises(accounts.AccountError):
        accounts.add_user(app_ws, "민지", "analyst", [], by="test")  # already exists, however it was typed
    sign_in(client, Login(decomposed, STRONG, secret_of(created.totp_uri)), lang="ko")
    assert "민지" in client.get("/account").text


def test_cli_and_admin_page_say_what_is_allowed(client, app_ws, home, monkeypatch):
    from idolguard.cli import app

    refused = CliRunner().invoke(
        app, ["users", "add", "mi\u202enji", "--role", "analyst", "--home", str(home)], env={"IDOLGUARD_LANG": "ko"}
    )
    assert refused.exit_code == 2 and "영문자, 한글, 숫자" in refused.stderr
    added = CliRunner().invoke(app, ["users", "add", "민지", "--role", "analyst", "--home", str(home)])
    assert added.exit_code == 0, added.output
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = page_csrf(admin, "/admin/users")
    form = admin.post("/admin/users", data={"csrf": csrf, "name": "аdmin", "role": "viewer"})
    assert form.status_code == 400 and "영문자, 한글, 숫자" in html.unescape(form.text)
    ok = admin.post("/admin/users", data={"csrf": csrf, "name": "서연", "role": "viewer"})
    assert ok.status_code in (200, 303), ok.text[:300]
    with app_ws.sessions() as session:
        assert {"민지", "서연"} <= set(session.scalars(select(User.name)))
