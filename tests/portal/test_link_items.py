"""Item -> reported links: an index probe of ``portal_link_items`` (was a scan of every link's JSON list),
checked with the databases' own query plans (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN`` after
``ANALYZE``) on 5,000 links, and the migration that copies existing lists over."""

from __future__ import annotations

import hashlib

from sqlalchemy import insert, select, text

from idolguard.db.base import utcnow
from idolguard.portal import jobs
from idolguard.portal.models import PortalLink, PortalLinkItem, PortalReport, PortalReportLink
from idolguard.workspace import Workspace
from tests.conftest import downgrade_to

LINKS = 5000


def sha(n: int) -> str:
    return hashlib.sha256(f"item-{n}".encode()).hexdigest()


def _links(ws: Workspace) -> None:
    now = utcnow()
    rows = [
        {
            "url": f"https://example.org/p/{i}",
            "url_sha256": hashlib.sha256(f"https://example.org/p/{i}".encode()).hexdigest(),
            "host": "example.org",
            "short_link": False,
            "state": "captured",
            "status": "under_review",
            "report_count": 1,
            "priority": 0.5,
            "item_sha256": [sha(i), sha(i + 1)],  # neighbours share an item, as re-uploads do
            "first_reported_at": now,
            "last_reported_at": now,
        }
        for i in range(LINKS)
    ]
    with ws.sessions() as session, session.begin():
        session.execute(insert(PortalLink), rows)
        ids = dict(session.execute(select(PortalLink.url, PortalLink.id)).all())
        items = [
            {"link_id": ids[r["url"]], "item_sha256": s}
            for r in rows
            for s in r["item_sha256"]  # type: ignore[attr-defined]
        ]
        session.execute(insert(PortalLinkItem), items)
        report = PortalReport(
            receipt="R-1",
            status_token_sha256="t" * 64,
            category="ai_deepfake",
            artist="",
            reporter_key="k",
            ip_key="i",
            lang="ko",
            url_count=2,
            challenge_nonce="n",
        )
        session.add(report)
        session.flush()
        for i in (10, 11):
            session.add(
                PortalReportLink(report_id=report.id, link_id=ids[f"https://example.org/p/{i}"], original_url="x")
            )


def _plan(ws: Workspace, statement) -> str:  # type: ignore[no-untyped-def]
    engine = ws.engine
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE portal_link_items"))
            conn.execute(text("ANALYZE portal_links"))
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        return "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_item_to_links_is_an_index_probe(workspace: Workspace) -> None:
    _links(workspace)
    # Item 11 came from links 10 and 11; one report named both, so it counts once.
    assert jobs.item_reports(workspace, [sha(11), sha(999_999)]) == {sha(11): (1, {"ai_deepfake": 1})}
    found = {link_id for link_id, _decision, _items in jobs.links_of_items(workspace, [sha(11)])}
    with workspace.sessions() as session:
        urls = set(session.scalars(select(PortalLink.url).where(PortalLink.id.in_(found))))
    assert urls == {"https://example.org/p/10", "https://example.org/p/11"}

    plan = _plan(workspace, jobs.links_of_item_query(sha(11)))
    assert "ix_portal_link_items_item" in plan, plan
    assert "SCAN portal_link" not in plan and "Seq Scan" not in plan, plan  # neither table is walked


def test_set_link_items_keeps_rows_and_list_together(workspace: Workspace) -> None:
    _links(workspace)
    with workspace.sessions() as session, session.begin():
        link = session.scalar(select(PortalLink).where(PortalLink.url == "https://example.org/p/3"))
        assert link is not None
        jobs.set_link_items(session, link, [sha(4), sha(77)])
        link_id = link.id
    with workspace.sessions() as session:
        rows = set(session.scalars(select(PortalLinkItem.item_sha256).where(PortalLinkItem.link_id == link_id)))
        assert rows == {sha(4), sha(77)} and session.get(PortalLink, link_id).item_sha256 == [sha(4), sha(77)]
    assert jobs.link_items(workspace, link_id) == [sha(4), sha(77)]


def test_migration_copies_existing_lists(workspace: Workspace) -> None:
    """A workspace from before the link table: its links' JSON lists become rows on upgrade."""
    from idolguard.db.session import upgrade

    engine = workspace.engine
    downgrade_to(workspace, "0860_portal")
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            PortalLink.__table__.insert(),
            [
                {
                    "url": "https://example.org/old",
                    "url_sha256": "a" * 64,
                    "host": "example.org",
                    "short_link": False,
                    "state": "captured",
                    "status": "under_review",
                    "decision": None,
                    "report_count": 1,
                    "priority": 0.5,
                    "known_as": None,
                    "capture_id": None,
                    "item_sha256": [sha(1), sha(2), sha(1)],
                    "first_reported_at": now,
                    "last_reported_at": now,
                    "error": None,
                }
            ],
        )
    upgrade(engine)
    with workspace.sessions() as session:
        assert set(session.scalars(select(PortalLinkItem.item_sha256))) == {sha(1), sha(2)}
