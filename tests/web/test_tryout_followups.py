"""The new-user tryout's open findings on the team pages: confirming abuse opens its incident at once (and a
later copy joins that incident), item pages answer hash prefixes as the command line does (without telling a
scoped user about items outside their scope), and empty manipulation cells in the queue say "-"."""

from __future__ import annotations

import html
import re

import pytest
from PIL import Image
from sqlalchemy import select

from idolguard.db.models import Item, LedgerEntry
from idolguard.incidents.models import Incident, IncidentMember
from idolguard.web.models import Review

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed


@pytest.fixture
def seeded(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    return seed(app_ws, tmp_path / "media")


def _events(ws, action: str) -> list[LedgerEntry]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)))


def _confirm(client, sha: str, version: int) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"/items/{sha}").text
    posted = client.post(
        f"/items/{sha}/decision",
        data={"csrf": csrf_of(page), "status": "confirmed_abuse", "version": str(version), "add_to_bank": "1"},
    )
    assert posted.status_code == 303, posted.text[:500]


def test_confirming_opens_the_incident_at_once_and_a_later_copy_joins_it(client, app_ws, seeded, tmp_path):
    from idolguard.incidents.sync import sync
    from idolguard.pipeline.scan import scan_paths

    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    assert "/incidents/1" not in client.get("/incidents").text
    _confirm(client, seeded.suspect, 1)
    # The incident is there right away, with the confirmed item as its first member, recorded as Ana's.
    with app_ws.sessions() as session:
        incidents = list(session.scalars(select(Incident)))
        members = {m.item_sha256: m for m in session.scalars(select(IncidentMember))}
    assert len(incidents) == 1 and list(members) == [seeded.suspect]
    assert members[seeded.suspect].reason.startswith("confirmed as abuse in triage")
    created, added = _events(app_ws, "incident.create"), _events(app_ws, "incident.add")
    assert [e.details["incident"] for e in created] == [incidents[0].id] and created[0].actor == "web:ana"
    assert [e.item_sha256 for e in added] == [seeded.suspect] and added[0].actor == "web:ana"
    listing = client.get("/incidents")
    assert f"/incidents/{incidents[0].id}" in listing.text
    page = html.unescape(client.get(f"/incidents/{incidents[0].id}").text)
    assert seeded.suspect[:12] in page and "confirmed as abuse in triage" in page
    # Confirming again (someone re-saves the decision) opens no second incident.
    _confirm(client, seeded.suspect, 2)
    # A copy found later matches the bank entry and joins the same incident instead of opening a second.
    copy = tmp_path / "copy.jpg"
    Image.open(seeded.folder / "suspect.jpg").resize((360, 360)).save(copy, quality=70)
    found = scan_paths(app_ws, [copy])
    sync(app_ws)
    with app_ws.sessions() as session:
        roots = list(session.scalars(select(Incident.id).where(Incident.merged_into.is_(None))))
        membership = dict(session.execute(select(IncidentMember.item_sha256, IncidentMember.incident_id)).all())
    assert roots == [incidents[0].id]
    assert membership == {seeded.suspect: incidents[0].id, found[0]["sha256"]: incidents[0].id}
    assert len(_events(app_ws, "incident.create")) == 1


def test_confirming_in_korean_shows_the_member_reason_in_korean(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    _confirm(client, seeded.suspect, 1)
    with app_ws.sessions() as session:
        incident_id = session.scalar(select(Incident.id))
    page = html.unescape(client.get(f"/incidents/{incident_id}").text)
    assert "분류에서 악용물로 확인됨" in page and "confirmed as abuse" not in page


def test_an_item_prefix_redirects_to_its_page(client, app_ws, seeded):
    from idolguard.cli_support import MIN_PREFIX
    from idolguard.web.triage import MIN_PREFIX as WEB_MIN

    assert WEB_MIN == MIN_PREFIX  # the same shortest prefix as the command line
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    for prefix in (seeded.suspect[:12], seeded.suspect[:MIN_PREFIX], seeded.suspect[:20].upper()):
        answer = client.get(f"/items/{prefix}")
        assert answer.status_code == 303 and answer.headers["location"] == f"/items/{seeded.suspect}", prefix
    assert client.get(f"/items/{seeded.suspect[: MIN_PREFIX - 1]}").status_code == 404  # too short to mean one
    nothing = "0123456789ab" if not seeded.suspect.startswith("0123") else "fedcba987654"
    assert client.get(f"/items/{nothing}").status_code == 404  # no item starts with it
    assert client.get("/items/not-a-hash").status_code == 404


def test_an_ambiguous_prefix_lists_the_items_it_could_mean(client, app_ws, seeded):
    # A second item whose hash shares the first 12 characters (a real collision of 12 hex characters is
    # 1 in 2**48: the row is written as intake would, then projected into triage by the real code).
    twin = seeded.suspect[:12] + "f" * 52 if seeded.suspect[12] != "f" else seeded.suspect[:12] + "e" * 52
    with app_ws.sessions() as session, session.begin():
        session.add(Item(sha256=twin, md5="0" * 32, size=1, media_type="other"))
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    answer = client.get(f"/items/{seeded.suspect[:12]}")
    assert answer.status_code == 300
    text = html.unescape(answer.text)
    assert "More than one item" in text and f"/items/{seeded.suspect}" in text and f"/items/{twin}" in text
    longer = client.get(f"/items/{seeded.suspect[:14]}")
    assert longer.status_code == 303 and longer.headers["location"] == f"/items/{seeded.suspect}"
    sign_in(client, make_user(app_ws, "bo", "analyst", password=STRONG), lang="ko")
    korean = html.unescape(client.get(f"/items/{seeded.suspect[:12]}").text)
    assert "둘 이상입니다" in korean


def test_a_prefix_tells_a_scoped_user_nothing_about_items_outside_their_scope(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "sam", "analyst", ["Someone Else"], password=STRONG))
    assert client.get(f"/items/{seeded.suspect}").status_code == 404
    hidden = client.get(f"/items/{seeded.suspect[:12]}")
    unknown = client.get("/items/" + ("0123456789ab" if not seeded.suspect.startswith("0123") else "fedcba987654"))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text  # the same page: nothing says the item exists


def test_an_empty_manipulation_cell_in_the_queue_says_dash(client, app_ws, seeded):
    with app_ws.sessions() as session, session.begin():
        row = session.get(Review, seeded.shapes)
        row.manipulation, row.verdict = None, None  # as for a zip or an unreadable image
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    page = client.get("/triage").text
    shapes_row = next(r for r in page.split("<tr") if seeded.shapes[:12] in r)
    cell = re.search(r'<td class="manipulation">(.*?)</td>', shapes_row, re.S)
    assert cell and cell.group(1).strip() == "-"
    suspect_row = next(r for r in page.split("<tr") if seeded.suspect[:12] in r)
    suspect_cell = re.search(r'<td class="manipulation">(.*?)</td>', suspect_row, re.S)
    assert suspect_cell and suspect_cell.group(1).strip() not in ("", "-")
