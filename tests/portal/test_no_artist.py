"""The portal works out of the box: with ``[portal] artists = []`` (the default) a report is accepted with the
artist "not sure / someone else" (stored empty, analysts identify who is shown); an artist not on the list is
still refused; the start-up warning shows "[portal]" (Rich markup escaped) and says what happens."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from .conftest import ARTISTS, PortalServer, report


def test_empty_list_accepts_reports_without_an_artist(home: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.models import PortalReport

    server = PortalServer(home, artists=[])
    try:
        with server.client() as client:
            for lang, unsure in (("en", "Not sure / someone else"), ("ko", "잘 모르겠음 / 다른 사람")):
                page = client.get(f"/?lang={lang}").text
                select_html = page.split('<select id="artist"')[1].split("</select>")[0]
                assert f'<option value="" selected>{unsure}</option>' in select_html
                assert "required" not in select_html.split(">")[0]
            assert client.get("/api").json()["report"]["artist"] == []
            missing = report(client, ["https://x.com/a/status/1"], artist=None)
            empty = report(client, ["https://x.com/a/status/2"], artist="")
            assert missing.status_code == 201 and empty.status_code == 201, (missing.text, empty.text)
            bad = report(client, ["https://x.com/a/status/3"], artist="Test Artist")
            assert bad.status_code == 422 and bad.json()["errors"]["artist"][0]["code"] == "artist_invalid"
            typed = report(client, ["https://x.com/a/status/4"], artist=5)
            assert typed.status_code == 422
    finally:
        server.stop()
    with workspace.sessions() as session:
        assert list(session.scalars(select(PortalReport.artist).order_by(PortalReport.id))) == ["", ""]


def test_listed_artists_and_not_sure_both_accepted(portal_server: PortalServer) -> None:
    with portal_server.client() as client:
        page = client.get("/?lang=en").text
        assert "Not sure / someone else" in page and '<option value="" selected>' not in page
        assert report(client, ["https://x.com/b/status/1"], artist=ARTISTS[1]).status_code == 201
        assert report(client, ["https://x.com/b/status/2"], artist="").status_code == 201
        assert report(client, ["https://x.com/b/status/3"], artist="Nobody").status_code == 422


def test_startup_warning_names_the_section_and_what_happens(home: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from idolguard.portal.settings import artists_warning
    from idolguard.workspace import Workspace
    from tests.cases.helpers import set_config_table

    warning = artists_warning(workspace)
    assert warning is not None
    console = Console(record=True, width=400)
    console.print(warning)
    text = console.export_text()
    assert "warning: [portal] artists is empty" in text and "reports are accepted" in text
    assert "not sure / someone else" in text and "Set [portal] artists" in text
    set_config_table(home, "portal", 'artists = ["Artist A"]')
    listed = Workspace.open(home)
    try:
        assert artists_warning(listed) is None
    finally:
        listed.close()
