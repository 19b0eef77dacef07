"""Hash banks to an artist-scoped user (webtry left item 12): banks are the workspace's, so names, kinds,
thresholds and states are shown, but entries and matches are counted over the items the reader sees, on the
page and in ``GET /api/v1/banks`` alike; the match debugger compares with those entries only; enabling,
disabling, importing and exporting a bank (every artist's hashes) need a user who sees the whole workspace."""

from __future__ import annotations

import html
import io

from sqlalchemy import select

from idolguard.signals.banks import NewEntry, add_entries, create_bank
from idolguard.signals.models import BankEntry, EntryHit
from idolguard.web import accounts

from .conftest import STRONG, csrf_of, make_user, sign_in
from .test_job_access import _items


def _world(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A bank with an entry of Eileen's item, two of Sally's, two of an unattributed one and one imported;
    Eileen's and Sally's entries each matched their item, Sally's also an unattributed item."""
    sha = _items(ws)
    create_bank(ws, "shared", "known_abuse")
    entries = [("eileen", 1), ("sally", 2), ("sally", 3), ("none", 4), ("none", 5), (None, 6)]
    add_entries(
        ws,
        "shared",
        [
            NewEntry(
                "pdq",
                format(n << 200, "064x"),
                100,
                source_kind="import" if who is None else "item",
                source_item=sha.get(who),
            )
            for who, n in entries
        ],
        event_details={"test": True},
    )
    with ws.sessions() as session, session.begin():
        ids = dict(session.execute(select(BankEntry.source_item, BankEntry.id)).tuples().all())
        session.add(EntryHit(entry_id=ids[sha["eileen"]], item_sha256=sha["eileen"], signal="pdq", distance=0))
        session.add(EntryHit(entry_id=ids[sha["sally"]], item_sha256=sha["sally"], signal="pdq", distance=0))
        session.add(EntryHit(entry_id=ids[sha["sally"]], item_sha256=sha["none"], signal="pdq", distance=3))
        for source, count in ((sha["eileen"], 1), (sha["sally"], 2)):  # as incidents.sync counts a first hit
            session.get(BankEntry, ids[source]).match_count = count
    return sha


def _counts(page: str) -> tuple[str, str]:
    row = html.unescape(page).split("<td>shared</td>", 1)[1].split("</tr>", 1)[0]
    cells = [c.split("</td>", 1)[0] for c in row.split("<td>")[1:]]
    return cells[1], cells[2]


def test_a_scoped_user_counts_only_the_bank_entries_and_matches_of_items_they_see(app_ws, new_client) -> None:  # type: ignore[no-untyped-def]
    _world(app_ws)
    viewers = {  # entries, matches
        "root": ("admin", [], (6, 3)),
        "eadm": ("admin", ["Eileen Collins"], (4, 2)),  # Eileen's, the unattributed two, the imported one
        "sadm": ("admin", ["Sally Ride"], (5, 2)),
        "vic": ("viewer", ["Eileen Collins"], (1, 1)),  # a viewer sees no unattributed item
    }
    for name, (role, artists, (entries, matches)) in viewers.items():
        browser = sign_in(new_client(), make_user(app_ws, name, role, artists, password=STRONG), lang="en")
        token = accounts.create_token(app_ws, name, "read", "1d", by="test")
        page = browser.get("/banks").text
        assert _counts(page) == (str(entries), str(matches)), name
        api = browser.get("/api/v1/banks", headers={"authorization": f"Bearer {token}"}).json()
        assert [(b["name"], b["entries"], b["matches"]) for b in api] == [("shared", entries, matches)], name
        assert ('id="banks-scoped"' in page) == bool(artists), name


def test_a_scoped_admin_may_not_change_import_or_export_a_bank(app_ws, new_client) -> None:  # type: ignore[no-untyped-def]
    sha = _world(app_ws)
    scoped = sign_in(new_client(), make_user(app_ws, "eadm", "admin", ["Eileen Collins"], password=STRONG), lang="ko")
    page = scoped.get("/banks").text
    assert 'action="/banks/shared/export"' not in page and 'action="/banks/shared/toggle"' not in page
    assert "항목 수와 매칭 수는 볼 수 있는 자료만 셉니다" in html.unescape(page)
    csrf = csrf_of(page)
    export = scoped.post("/banks/shared/export", data={"csrf": csrf})
    assert export.status_code == 403 and sha["sally"] not in export.text
    assert "작업 공간 전체를 보는 사용자만" in html.unescape(export.text)
    assert scoped.post("/banks/shared/toggle", data={"csrf": csrf}).status_code == 403
    files = {"file": ("h.csv", io.BytesIO(b"signal_type,signal\n"))}
    assert scoped.post("/banks/shared/import", data={"csrf": csrf, "format": "csv"}, files=files).status_code == 403
    root = sign_in(new_client(), make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    page = root.get("/banks").text
    assert 'action="/banks/shared/export"' in page and 'id="banks-scoped"' not in page
    exported = root.post("/banks/shared/export", data={"csrf": csrf_of(page)})
    assert exported.status_code == 200 and format(2 << 200, "064x") in exported.text


def test_the_match_debugger_compares_a_scoped_user_only_with_entries_they_see(app_ws, new_client) -> None:  # type: ignore[no-untyped-def]
    from idolguard.web.pages_more import nearest_entries
    from idolguard.web.roles import Principal

    from .test_authz_matrix import jpeg

    sha = _world(app_ws)
    path = app_ws.home / "probe.jpg"
    path.write_bytes(jpeg(1))
    with app_ws.sessions() as session:
        ids = dict(session.execute(select(BankEntry.source_item, BankEntry.id)).tuples().all())
    every = {e["entry"] for e in nearest_entries(app_ws, path, Principal(1, "root", "admin", ()))["entries"]}
    scoped = {
        e["entry"] for e in nearest_entries(app_ws, path, Principal(2, "v", "viewer", ("Eileen Collins",)))["entries"]
    }
    assert len(every) == 6  # every entry of the bank
    assert scoped == {ids[sha["eileen"]]}
