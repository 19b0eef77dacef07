"""Triage page and ``/api/v1/items`` server time with 100,000 items, on SQLite and PostgreSQL.

    python bench/web_queue.py [--items 100000] [--requests 60] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Builds a workspace whose ``items`` / ``web_reviews`` / ``web_review_artists`` hold N rows (bulk-inserted: the
rows a scan + ``sync_reviews`` would have written, with 20 artists, random scores and statuses; no media is
decoded, this measures the queries and page rendering), then times requests through the real ASGI app
in-process (httpx transport, so the time is server time plus a negligible in-process hop): the first triage
page, a filtered page (artist + verdict), page 41 by its cursor (the Next link), the same through the API (and
the older offset paging), each for an unscoped analyst, a viewer scoped to 2 artists and an analyst scoped to 2
artists (who also sees unattributed items). Prints median and p95 per case. Baselines in the same run: a
signed-in page that does not touch the queue (``/account``) and the API's ``/me`` (the fixed cost of a
request), so the ratio still means something on a loaded machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARTISTS = [f"Artist {i:02d}" for i in range(20)]
VERDICTS = ["likely_manipulated", "uncertain", "no_evidence"]
STATUSES = ["new"] * 6 + ["in_review"] * 2 + ["confirmed_abuse", "not_our_artist", "authentic", "duplicate"]


def fill(ws, count: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from idolguard.db.models import Item
    from idolguard.web.models import Review, ReviewArtist
    from idolguard.web.triage import risk

    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with ws.engine.begin() as conn:
        for offset in range(0, count, 5000):
            items, reviews, links = [], [], []
            for i in range(offset, min(count, offset + 5000)):
                sha = f"{i:064x}"
                when = start + timedelta(minutes=i)
                decision = rng.choice(["match", "possible", None, None])
                artist = rng.choice(ARTISTS) if decision else None
                manip = rng.random()
                matches, sightings = rng.randint(0, 3), rng.randint(1, 5)
                items.append(
                    {
                        "sha256": sha,
                        "md5": sha[:32],
                        "size": 1000,
                        "media_type": "image",
                        "media_meta": {},
                        "encrypted": False,
                        "first_seen_at": when,
                    }
                )
                reviews.append(
                    {
                        "item_sha256": sha,
                        "status": rng.choice(STATUSES),
                        "version": 1,
                        "artist": artist,
                        "artist_decision": decision,
                        "similarity": 0.5 if decision else None,
                        "manipulation": manip,
                        "verdict": rng.choice(VERDICTS),
                        "platform": rng.choice(["x", "telegram", "web"]),
                        "matches": matches,
                        "sightings": sightings,
                        "fan_reported": False,
                        "media_type": "image",
                        "risk": risk(decision, manip, matches, sightings),
                        "first_seen_at": when,
                        "updated_at": when,
                    }
                )
                if artist:
                    links.append({"item_sha256": sha, "artist": artist, "risk": reviews[-1]["risk"]})
            conn.execute(insert(Item), items)
            conn.execute(insert(Review), reviews)
            if links:
                conn.execute(insert(ReviewArtist), links)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def page_cursor(ws, role: str, artists: list[str], pages: int) -> str:  # type: ignore[no-untyped-def]
    """The cursor after ``pages`` pages of the default queue (what the Next links carry)."""
    from idolguard.web import triage
    from idolguard.web.roles import Principal

    who = Principal(0, role, role, tuple(artists))
    after, last = None, None
    for _ in range(pages):  # (fewer when the queue is shorter)
        rows, more = triage.queue(ws, who, triage.Filters(), limit=50, after=after)
        if not rows or not more:
            break
        last = rows[-1]
        after = (last.risk, last.item_sha256)
    assert last is not None, "the queue has a single page"
    return triage.cursor_text(last)


def timed(client, url: str, headers: dict | None, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def run(db_url: str | None, count: int, n: int) -> list[tuple[str, float, float]]:
    import os

    from fastapi.testclient import TestClient

    from idolguard.web import accounts
    from idolguard.web.app import create_app
    from idolguard.workspace import Workspace, init_workspace
    from tests.web.conftest import STRONG, make_user, sign_in

    home = Path(tempfile.mkdtemp(prefix="igbench-")) / "ws"
    if db_url:
        os.environ["IDOLGUARD_DB_URL"] = db_url
    else:
        os.environ.pop("IDOLGUARD_DB_URL", None)
    init_workspace(home)
    ws = Workspace.open(home)
    started = time.perf_counter()
    fill(ws, count)
    print(f"  filled {count} items in {time.perf_counter() - started:.1f} s", flush=True)
    rows = []
    app = create_app(ws)
    for label, name, role, artists in (
        ("analyst (all artists)", "analyst", "analyst", []),
        ("viewer (2 artists)", "viewer", "viewer", ARTISTS[:2]),
        ("analyst (2 artists + unattributed)", "scoped", "analyst", ARTISTS[:2]),
    ):
        login = make_user(ws, name, role, artists, password=STRONG)

        client = sign_in(TestClient(app, base_url="http://127.0.0.1", follow_redirects=False), login)
        token = accounts.create_token(ws, name, "read", "1d", by="bench")
        bearer = {"authorization": f"Bearer {token}"}
        cursor = page_cursor(ws, role, artists, 40)
        cases = [
            ("baseline: /account (signed-in page, no queue)", "/account", None),
            ("baseline: API /me (token, no queue)", "/api/v1/me", bearer),
            ("triage page 1", "/triage", None),
            (
                "triage filtered (artist + verdict)",
                f"/triage?artist={ARTISTS[1].replace(' ', '+')}&verdict=uncertain",
                None,
            ),
            ("triage page 41 (cursor)", f"/triage?after={quote(cursor)}", None),
            ("API /items limit 50", "/api/v1/items?limit=50", bearer),
            ("API /items filtered", f"/api/v1/items?artist={ARTISTS[1].replace(' ', '+')}&verdict=uncertain", bearer),
            ("API /items page 41 (cursor)", f"/api/v1/items?limit=50&cursor={quote(cursor)}", bearer),
            # The deepest offset the API still serves (MAX_OFFSET; deeper answers 400, use the cursor).
            ("API /items offset 500 (legacy paging, deepest served)", "/api/v1/items?limit=50&offset=500", bearer),
        ]
        for name, url, headers in cases:
            timed(client, url, headers, 3)  # warm caches
            values = timed(client, url, headers, n)
            rows.append((f"{label}: {name}", statistics.median(values), p95(values)))
            print(f"  {rows[-1][0]:70} median {rows[-1][1]:7.1f} ms  p95 {rows[-1][2]:7.1f} ms", flush=True)
        client.close()
    ws.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (a fresh database is created there)")
    args = parser.parse_args()
    print(f"SQLite, {args.items} items")
    run(None, args.items, args.requests)
    if args.pg:
        import uuid

        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(args.pg).set(drivername="postgresql+psycopg")
        name = f"igbench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"PostgreSQL, {args.items} items")
            run(url.set(database=name).render_as_string(hide_password=False), args.items, args.requests)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


if __name__ == "__main__":
    main()
