"""The item page links to the incident the item belongs to (under its surviving root when it was merged), for
those allowed to open that incident, with its title in the reader's language. Real workspace, real analysis
and incident grouping (tests/web/seed.py; confirming puts the item in the known_abuse bank)."""

from __future__ import annotations

import html

from sqlalchemy import select, update

from idolguard.incidents.models import Incident

from .conftest import STRONG, make_user, sign_in
from .seed import seed


def _in_an_incident(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.incidents.sync import sync
    from idolguard.pipeline.runner import analyze
    from idolguard.web.triage import add_to_known_abuse

    seeded = seed(app_ws, tmp_path / "media")
    add_to_known_abuse(app_ws, seeded.suspect)
    analyze(app_ws, [seeded.suspect])
    sync(app_ws)
    with app_ws.sessions() as session:
        incident_id = session.scalar(select(Incident.id))
    assert incident_id is not None
    return seeded, incident_id


def _links(page: str) -> str:
    page = html.unescape(page)
    return page.split('id="item-incidents"')[1].split("</p>")[0] if 'id="item-incidents"' in page else ""


def test_the_item_page_links_to_its_incident(client, new_client, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    seeded, incident_id = _in_an_incident(app_ws, tmp_path)
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    links = _links(client.get(f"/items/{seeded.suspect}").text)
    assert f'href="/incidents/{incident_id}"' in links and "Part of incident" in links and "(open)" in links
    assert client.get(f"/incidents/{incident_id}").status_code == 200  # the link opens
    assert _links(client.get(f"/items/{seeded.shapes}").text) == "", "an item outside any incident links nowhere"

    korean = sign_in(new_client(), make_user(app_ws, "kim", "viewer", [seeded.artist], password=STRONG), lang="ko")
    links = _links(korean.get(f"/items/{seeded.suspect}").text)
    assert f'href="/incidents/{incident_id}"' in links and "소속 인시던트" in links
    assert korean.get(f"/incidents/{incident_id}").status_code == 200

    # another artist's user sees neither the item nor its incident
    other = sign_in(new_client(), make_user(app_ws, "oth", "analyst", ["Someone Else"], password=STRONG))
    assert other.get(f"/items/{seeded.suspect}").status_code == 404
    assert other.get(f"/incidents/{incident_id}").status_code == 404


def test_a_merged_incident_links_to_its_surviving_root(client, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    seeded, incident_id = _in_an_incident(app_ws, tmp_path)
    with app_ws.sessions() as session, session.begin():
        root = Incident(title="The surviving incident", state="takedown_requested")
        session.add(root)
        session.flush()
        root_id = root.id
        session.execute(update(Incident).where(Incident.id == incident_id).values(merged_into=root_id))
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    links = _links(client.get(f"/items/{seeded.suspect}").text)
    assert f'href="/incidents/{root_id}"' in links and f'href="/incidents/{incident_id}"' not in links
    assert "The surviving incident" in links
    assert client.get(f"/incidents/{root_id}").status_code == 200
