"""The incident pages in Korean: the title and member reasons the incidents area writes as English sentences
are said from their codes; a title a person wrote (no code) is shown as written."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from .conftest import STRONG, make_user, sign_in
from .seed import seed

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_incident_page_says_reasons_and_title_in_korean(client, app_ws, tmp_path):
    from idolguard.incidents.models import Incident, IncidentMember
    from idolguard.incidents.sync import sync
    from idolguard.pipeline.runner import analyze
    from idolguard.web.triage import add_to_known_abuse

    world = seed(app_ws, tmp_path / "media")
    add_to_known_abuse(app_ws, world.suspect)
    analyze(app_ws, [world.suspect])
    sync(app_ws)
    with app_ws.sessions() as session:
        incident = session.scalars(select(Incident)).one()
        reasons = [m.reason for m in session.scalars(select(IncidentMember))]
        incident_id, title = incident.id, incident.title
    assert title.startswith("copies of bank entry") and reasons
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    page = html.unescape(client.get(f"/incidents/{incident_id}").text)
    listing = html.unescape(client.get("/incidents").text)
    for english in [title, *reasons]:  # the stored English sentences never show on Korean pages
        assert english not in page and english not in listing, english
    assert "의 복제본" in page and "의 복제본" in listing
    # the list's columns: the number of items (not Jinja's dict.items method), times in the reader's zone (not
    # stored ISO strings), a sighting without a platform in Korean
    row = re.search(rf'<tr><td><a href="/incidents/{incident_id}">.*?</tr>', listing, re.S).group(0)
    assert '<td class="count">1</td>' in row and "built-in method" not in listing
    assert "KST" in row and "+00:00" not in row
    assert "unknown" not in row and "알 수 없음" in row
    assert "unknown" not in page.split("<h2>", 3)[2]  # the Accounts section
    assert "뱅크 항목" in page.split("<h2>", 2)[1]  # the members' reasons, in the Items section
    # A title a person gave (not one of the area's sentences) is shown as written, in any language.
    with app_ws.write() as (session, _ledger):
        session.get(Incident, incident_id).title = "leak of the March fan-meeting clip"
    page = html.unescape(client.get(f"/incidents/{incident_id}").text)
    assert "leak of the March fan-meeting clip" in page
