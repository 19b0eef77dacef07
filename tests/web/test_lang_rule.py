"""Tryout #12-#14: one rule for the page language (saved account language, else the language links' choice,
else the workspace default, Korean unless configured; never the browser's for the team app), an unknown
/lang/xx answered with a message and a way back, and an invalid time zone refused with a clear error."""

from __future__ import annotations

import html

from sqlalchemy import select

from idolguard.web.i18n import pick_lang
from idolguard.web.models import User

from .conftest import STRONG, csrf_of, make_user, sign_in

EN_BROWSER = {"accept-language": "en-US,en;q=0.9"}


def test_pick_lang_is_one_ordered_rule():
    assert pick_lang("en", "ko", "ko") == "en"  # the saved language wins
    assert pick_lang(None, "en", "ko") == "en"  # then the language links' choice
    assert pick_lang(None, None, "en") == "en"  # then the configured default
    assert pick_lang(None, "xx", None) == "ko" and pick_lang("zz", None, "fr") == "ko"  # else Korean


def test_team_pages_ignore_an_english_browser_until_the_user_chooses(client, app_ws):
    login = make_user(app_ws, "root", "admin", password=STRONG)
    assert 'lang="ko"' in client.get("/login", headers=EN_BROWSER).text
    sign_in(client, login)
    for path in ("/admin/users", "/admin/ledger", "/triage"):
        page = client.get(path, headers=EN_BROWSER)
        assert page.status_code == 200 and 'lang="ko"' in page.text, path
    sign_in(client, login, lang="en")
    assert 'lang="en"' in client.get("/admin/users").text
    # the saved account language wins over a cookie left by the language links
    client.cookies.set("ig_lang", "ko")
    assert 'lang="en"' in client.get("/admin/users", headers={"accept-language": "ko"}).text
    with app_ws.sessions() as session:
        assert session.scalar(select(User.lang).where(User.name == "root")) == "en"


def test_configured_default_language(app_ws, tmp_path):
    from fastapi.testclient import TestClient

    from idolguard.web.app import create_app

    app_ws.config.raw.setdefault("web", {})["lang"] = "en"
    with TestClient(create_app(app_ws), base_url="http://127.0.0.1", follow_redirects=False) as client:
        assert 'lang="en"' in client.get("/login", headers={"accept-language": "ko"}).text


def test_unknown_language_code_says_so_and_leads_back(client, app_ws):
    anonymous = client.get("/lang/xx")
    assert anonymous.status_code == 404 and "'xx' 언어는 없습니다" in html.unescape(anonymous.text)
    assert 'href="/login"' in anonymous.text
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    page = client.get("/lang/xx?next=/cases")
    assert page.status_code == 404 and "There is no language 'xx'" in html.unescape(page.text)
    assert 'id="back"' in page.text and 'href="/cases"' in page.text and "/login" not in page.text
    assert 'href="/triage"' in page.text  # still signed in: the page has the navigation
    assert client.get("/lang/xx?next=//evil.example/").text.count("evil.example") == 0
    known = client.get("/lang/ko?next=/cases")
    assert known.status_code == 303 and known.headers["location"] == "/cases"
    assert client.get("/lang/en?next=https://evil.example/").headers["location"] == "/"


def test_invalid_time_zone_is_refused_with_a_message(client, app_ws):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko", timezone="Asia/Seoul")
    csrf = csrf_of(client.get("/account").text)
    refused = client.post("/account", data={"csrf": csrf, "lang": "ko", "timezone": "Mars/Base"})
    assert refused.status_code == 422
    assert "'Mars/Base'은(는) 시간대가 아닙니다" in html.unescape(refused.text) and 'value="Mars/Base"' in refused.text
    with app_ws.sessions() as session:
        assert session.scalar(select(User.timezone).where(User.name == "ana")) == "Asia/Seoul"
    csrf = csrf_of(client.get("/account").text)
    english = client.post("/account", data={"csrf": csrf, "lang": "en", "timezone": "../../etc/passwd"})
    assert english.status_code == 422 and "시간대가 아닙니다" in english.text
    csrf = csrf_of(client.get("/account").text)
    assert client.post("/account", data={"csrf": csrf, "lang": "ko", "timezone": "Europe/London"}).status_code == 303
    with app_ws.sessions() as session:
        assert session.scalar(select(User.timezone).where(User.name == "ana")) == "Europe/London"


def test_portal_default_follows_the_same_rule():
    from idolguard.portal.intake import pick_language
    from idolguard.portal.settings import PortalSettings

    assert PortalSettings().lang == "ko"
    assert pick_language(None, None) == "ko"  # no browser language: Korean, as on the team app (was English)
    assert pick_language(None, "", PortalSettings(lang="en").lang) == "en"  # unless configured
    assert pick_language(None, "ja-JP,ja;q=0.9") == "ja" and pick_language("zh", "ja-JP") == "zh"
