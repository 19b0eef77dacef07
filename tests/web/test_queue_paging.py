"""The triage queue's keyset pagination and per-artist streams give exactly the pages a plain scoped
``ORDER BY risk DESC`` would, for unscoped, scoped and unattributed-seeing users, with filters; and the
page and API links walk the whole queue without gaps or repeats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from idolguard.db.models import Item
from idolguard.web import accounts, triage
from idolguard.web.models import Review, ReviewArtist
from idolguard.web.roles import Principal

from .conftest import STRONG, make_user, sign_in

ARTISTS = ["A", "B", "C", "D"]


def fill(ws, count: int = 260) -> None:  # type: ignore[no-untyped-def]
    """Triage rows as sync_reviews writes them (bulk, so the test is about the queries), with ties in risk
    and items shown for two artists."""
    rng = random.Random(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items, reviews, links = [], [], []
    for i in range(count):
        sha = f"{i:064x}"
        shown = rng.sample(ARTISTS, rng.choice([0, 0, 1, 1, 1, 2]))
        value = round(rng.choice([0.25, 0.5, rng.random()]), 6)  # many ties
        items.append({"sha256": sha, "md5": sha[:32], "size": 1, "media_type": "image", "media_meta": {}})
        reviews.append(
            {
                "item_sha256": sha,
                "status": rng.choice(["new", "new", "in_review", "authentic"]),
                "artist": shown[0] if shown else None,
                "artist_decision": "match" if shown else None,
                "verdict": rng.choice(["uncertain", "not_detected"]),
                "media_type": "image",
                "risk": value,
                "first_seen_at": start + timedelta(minutes=i),
                "updated_at": start,
            }
        )
        links += [{"item_sha256": sha, "artist": a, "risk": value} for a in shown]
    with ws.engine.begin() as conn:
        conn.execute(insert(Item), items)
        conn.execute(insert(Review), reviews)
        conn.execute(insert(ReviewArtist), links)


def brute(ws, who: Principal, filters: triage.Filters) -> list[str]:  # type: ignore[no-untyped-def]
    query = triage.scoped(filters.apply(select(Review.item_sha256)), who)
    with ws.sessions() as session:
        return list(session.scalars(query.order_by(Review.risk.desc(), Review.item_sha256.desc())))


def test_keyset_pages_equal_the_plain_ordering(app_ws):
    fill(app_ws)
    people = [
        Principal(1, "all", "analyst", ()),
        Principal(2, "viewer-ab", "viewer", ("A", "B")),
        Principal(3, "analyst-b", "analyst", ("B",)),  # also sees unattributed items
        Principal(4, "counsel-all", "counsel", ()),  # never unattributed items
    ]
    filters = [
        triage.Filters(),
        triage.Filters(status="all"),
        triage.Filters(artist="B", verdict="uncertain"),
        triage.Filters(status="authentic", decision="none"),
        triage.Filters(artist="Z"),
    ]
    for who in people:
        for f in filters:
            want = brute(app_ws, who, f)
            got: list[str] = []
            after = None
            while True:
                rows, more = triage.queue(app_ws, who, f, limit=17, after=after)
                got += [r.item_sha256 for r in rows]
                if not more:
                    break
                after = (rows[-1].risk, rows[-1].item_sha256)
            assert got == want, (who.name, f)
            # The older offset paging agrees too.
            rows, _more = triage.queue(app_ws, who, f, offset=20, limit=10)
            assert [r.item_sha256 for r in rows] == want[20:30]


def test_page_and_api_links_walk_the_queue(client, app_ws):
    fill(app_ws, 130)
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    want = brute(app_ws, Principal(1, "ana", "analyst", ()), triage.Filters())
    seen: list[str] = []
    url = "/triage"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += [part.split('"', 1)[0] for part in page.text.split('<tr data-sha="')[1:]]
        nxt = page.text.split('id="next"', 1)[0].rsplit('href="', 1)[-1] if 'id="next"' in page.text else ""
        url = "/triage" + nxt.split('"', 1)[0].replace("&amp;", "&") if nxt else ""
    assert seen == want
    token = accounts.create_token(app_ws, "ana", "read", "1d", by="t")
    headers = {"authorization": f"Bearer {token}"}
    got: list[str] = []
    params: dict[str, str] = {"limit": "40"}
    while True:
        body = client.get("/api/v1/items", params=params, headers=headers).json()
        got += [i["sha256"] for i in body["items"]]
        if not body["next_cursor"]:
            break
        params = {"limit": "40", "cursor": body["next_cursor"]}
    assert got == want
    bad = client.get("/api/v1/items", params={"cursor": "1.0:xyz"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    assert client.get("/triage?after=not-a-cursor").status_code == 200  # a malformed cursor: the first page
