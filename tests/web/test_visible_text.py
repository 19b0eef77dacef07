"""Tryout #11: bidirectional and control characters in file names and other user text are shown visibly
escaped on every page (as the CLI's display.py does), never obeyed: ``\\u202egpj.exe`` must not read "exe.jpg"."""

from __future__ import annotations

from markupsafe import Markup
from sqlalchemy import select

from idolguard.db.models import Sighting
from idolguard.web.deps import TEMPLATES
from idolguard.web.models import Job

from .conftest import STRONG, make_user, sign_in
from .test_jobs import jpeg, upload, wait_done, worker  # noqa: F401 (worker is a fixture)

RLO_NAME = "\u202egpj.exe 악성.jpg"


def render(source: str, **values: object) -> str:
    return TEMPLATES.from_string(source).render(**values)


def test_every_printed_value_is_made_visible():
    assert render("{{ x }}", x=RLO_NAME) == "\\u202egpj.exe 악성.jpg"
    assert render("<b>{{ x }}</b>", x="a\u200bb\x1b[2Kc") == "<b>a\\u200bb\\x1b[2Kc</b>"
    assert render("{{ x }}", x="line one\r\nline two\tend") == "line one\nline two\tend"  # layout stays
    assert render("{{ x }}", x="한국어 이름 ✓") == "한국어 이름 ✓"
    assert render("{{ x }}", x=Markup("<i>built by the app</i>")) == "<i>built by the app</i>"
    assert render("{{ n }}", n=42) == "42"
    assert render("{{ x }}", x="<script>") == "&lt;script&gt;"  # still escaped as HTML too
    assert render("{{ x|visible }}", x="\u202e") == "\\u202e"


def test_an_uploaded_rlo_name_is_escaped_on_the_pages(client, app_ws, worker):  # noqa: F811
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    response = upload(client, [(RLO_NAME, jpeg(11))], note="메모\u202e역순")
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert wait_done(client, job_id)["state"] == "done"
    page = client.get(f"/jobs/{job_id}").text
    assert "\u202e" not in page and "\\u202egpj.exe 악성.jpg" in page
    with app_ws.sessions() as session:
        sha = session.get(Job, job_id).results[0]["sha256"]
        assert (
            session.scalar(select(Sighting.note).where(Sighting.item_sha256 == sha)) == "메모\u202e역순"
        )  # stored as given
    item = client.get(f"/items/{sha}").text
    assert "\u202e" not in item
    assert "\u202e" not in client.get("/intake").text and "\u202e" not in client.get("/triage").text


def test_portal_and_case_reports_print_through_the_same_rule(app_ws):
    from jinja2 import Environment

    from idolguard.display import jinja_visible
    from idolguard.portal.app import create_app

    portal = create_app(app_ws.home).state.portal
    assert portal.env.from_string("{{ x }}").render(x=RLO_NAME) == "\\u202egpj.exe 악성.jpg"
    env = Environment(autoescape=True, finalize=jinja_visible)
    assert env.from_string("{{ x }}").render(x="a\u2066b\r\nc") == "a\\u2066b\nc"
