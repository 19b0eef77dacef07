"""Reveal counters for the team: managers (not only admins) see per-user counts, scoped to their artists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from idolguard.web import accounts, reveal
from idolguard.web.models import Reveal
from idolguard.web.roles import Principal

from .conftest import STRONG, make_user, sign_in
from .seed import seed


def counts(html: str) -> dict[str, tuple[int, int]]:
    import re

    rows = re.findall(
        r'<tr><td>([^<]+)</td><td>[^<]*</td><td class="today">(\d+)</td><td class="week">(\d+)</td>', html
    )
    return {name: (int(today), int(week)) for name, today, week in rows}


def test_managers_see_reveal_counts_of_their_artists(client, new_client, app_ws, tmp_path):
    s = seed(app_ws, tmp_path / "media")  # s.suspect shows Eileen; s.shapes has no artist
    make_user(app_ws, "ana", "analyst", password=STRONG)
    make_user(app_ws, "bo", "analyst", ["Someone Else"], password=STRONG)
    with app_ws.sessions() as session:
        ana = accounts.principal_of(accounts.get_user(session, "ana"))
        bo = accounts.principal_of(accounts.get_user(session, "bo"))
    for _ in range(3):
        reveal.grant(app_ws, ana, s.suspect, "identity_check")
    reveal.grant(app_ws, ana, s.shapes, "manipulation_check")
    old = reveal.grant(app_ws, bo, s.suspect, "legal_review")
    with app_ws.sessions() as session, session.begin():  # bo's reveal was three days ago
        session.execute(update(Reveal).where(Reveal.id == old.id).values(created_at=accounts.now() - timedelta(days=3)))

    # A manager scoped to Eileen: her item's reveals and unattributed ones (managers triage those).
    sign_in(client, make_user(app_ws, "mia", "manager", ["Eileen"], password=STRONG))
    page = client.get("/team/reveals")
    assert page.status_code == 200
    seen = counts(page.text)
    assert seen["ana"] == (4, 4) and seen["bo"] == (0, 1)
    # A manager scoped to another artist counts none of them (the suspect is out of scope), but still sees
    # the unattributed item's reveal.
    other = sign_in(new_client(), make_user(app_ws, "max", "manager", ["Nobody"], password=STRONG))
    seen = counts(other.get("/team/reveals").text)
    assert seen["ana"] == (1, 1) and "bo" not in seen  # bo works on another artist and revealed nothing here
    # Analysts do not get the team view (their own counter is on their pages).
    analyst = sign_in(new_client(), make_user(app_ws, "ari", "analyst", password=STRONG))
    assert analyst.get("/team/reveals").status_code == 403
    assert "/team/reveals" not in analyst.get("/triage").text
    assert "/team/reveals" in client.get("/triage").text


def test_counts_use_the_managers_day(app_ws, tmp_path):
    from idolguard.web.pages_team import reveal_counts

    s = seed(app_ws, tmp_path / "media")
    make_user(app_ws, "ana", "analyst", password=STRONG)
    with app_ws.sessions() as session:
        ana = accounts.principal_of(accounts.get_user(session, "ana"))
    grant = reveal.grant(app_ws, ana, s.suspect, "identity_check")
    manager = Principal(99, "mia", "manager", (), timezone="Asia/Seoul")
    start = reveal.day_start("Asia/Seoul")
    with app_ws.sessions() as session, session.begin():  # one second before the manager's day began
        session.execute(update(Reveal).where(Reveal.id == grant.id).values(created_at=start - timedelta(seconds=1)))
    [row] = [r for r in reveal_counts(app_ws, manager) if r["user"] == "ana"]
    assert row["today"] == 0 and row["week"] == 1
