"""Web app fixtures: a real workspace (SQLite, or PostgreSQL with IDOLGUARD_TEST_PG), the real ASGI app
driven through httpx (Starlette's TestClient), users created through the real account code, sign-in through
the real pages with real TOTP codes (pyotp)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient

from idolguard.web import accounts
from idolguard.web.app import create_app
from idolguard.workspace import Workspace
from tests.capture.server import Site, serve

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Login:
    name: str
    password: str
    secret: str

    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


def secret_of(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def make_user(
    ws: Workspace, name: str, role: str, artists: list[str] | None = None, *, password: str | None = None
) -> Login:
    created = accounts.add_user(ws, name, role, artists or [], by="test", allow_unknown_artists=True)
    login = Login(name, created.password, secret_of(created.totp_uri))
    if password:
        with ws.sessions() as session:
            user_id = accounts.get_user(session, name).id
        accounts.set_password(ws, user_id, password)
        login.password = password
    return login


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field in page"
    return found.group(1)


def sign_in(client: TestClient, login: Login, *, lang: str | None = None, timezone: str = "Asia/Seoul") -> TestClient:
    """Sign in through the real login and TOTP pages; with ``lang``, also save that language (and ``timezone``)
    in the account settings, so the pages that follow are in it."""
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"csrf": csrf_of(page.text), "name": login.name, "password": login.password})
    assert response.status_code == 303, response.text[:500]
    page = client.get("/login/totp")
    response = client.post("/login/totp", data={"csrf": csrf_of(page.text), "code": login.code()})
    assert response.status_code == 303, response.text[:500]
    if lang is not None:
        # Through the real settings form, as a user would: the language is saved on the account (and in the cookie).
        csrf = csrf_of(client.get("/account").text)
        saved = client.post("/account", data={"csrf": csrf, "lang": lang, "timezone": timezone})
        assert saved.status_code == 303, saved.text[:500]
        assert client.cookies.get("ig_lang") == lang
    return client


def page_csrf(client: TestClient, path: str = "/account") -> str:
    return csrf_of(client.get(path).text)


def encrypted_workspace(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh workspace with an encrypted vault (a random key in the environment), on the test database."""
    import os

    from idolguard.workspace import init_workspace

    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    if db_url:
        monkeypatch.setenv("IDOLGUARD_DB_URL", db_url)
    else:
        monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True)
    ws = Workspace.open(home)
    assert ws.vault.encrypted
    return ws


@pytest.fixture
def app_ws(workspace: Workspace) -> Workspace:
    return workspace


@pytest.fixture
def app(app_ws: Workspace):  # type: ignore[no-untyped-def]
    return create_app(app_ws)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


@pytest.fixture
def new_client(app):  # type: ignore[no-untyped-def]
    made: list[TestClient] = []

    def factory() -> TestClient:
        c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The local capture fixture site (tests/capture/server.py), one per test module: its ``overrides`` start
    empty in each module."""
    state, servers = serve(tmp_path_factory.mktemp("site"))
    yield state
    for server in servers:
        server.shutdown()


STRONG = "correct horse battery staple"


def media_file(folder: Path, name: str, seed: int) -> Path:
    from idolguard.demo import shapes_image

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shapes_image(seed, (320, 240)).save(path, quality=90)
    return path
