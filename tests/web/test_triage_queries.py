"""The triage page's "why only possible" reasons (``triage.review_reasons``) cost a bounded number of database
queries per page, not one per row: the page's rows are read in one batch (``item_objects``: two queries per
500 items, plus the gallery's), so a page of six ``possible`` rows costs what a page of one does. Real
workspace, real face pipeline: reposts scanned under references of the older kind (capped at ``possible``
with ``reference_embedding_mismatch``, as ``tests/faces/test_reembed.py`` builds them), and a gallery changed
after the scan, so the stored face results are re-matched when the page reads them.

Measured (SQLite, 2026-12-03): ``review_reasons`` 5 statements for 1 row and for 6 (items, stage results, the
gallery's revision check); the whole ``GET /triage`` (session, user, queue, reasons) 9 for 1 row and for 6.
The same code with one ``item_objects`` call per row (what this test guards against): 5 and 30, 34 and 34."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select

from idolguard.web import triage
from idolguard.web.models import Review
from tests.conftest import astronaut
from tests.faces.helpers import jpeg
from tests.faces.test_reembed import _enrol, _make_legacy

from .conftest import STRONG, make_user, sign_in

REASON = "embedded otherwise than the thresholds"


@contextmanager
def statements(ws) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Every SQL statement the workspace's engine runs inside the block."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(ws.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ws.engine, "before_cursor_execute", count)


def _scan_reposts(cli, folder: Path, sizes: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    """Reposts of the enrolled portrait, scanned (the triage page syncs their rows when it lists them)."""
    folder.mkdir()
    for side in sizes:
        (folder / f"repost{side}.jpg").write_bytes(jpeg(astronaut().resize((side, side)), quality=60))
    objs = cli.json_lines("scan", folder, "--json")
    assert [o["faces"][0].get("review_reason") for o in objs] == ["reference_embedding_mismatch"] * len(sizes)
    return [o["sha256"] for o in objs]


def _changed_gallery(app_ws, cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """Another artist enrolled (references of the older kind too): the gallery's revision changes, so the
    stored face results are re-matched when the page reads them."""
    _enrol(cli, tmp_path, name)
    _make_legacy(app_ws)


def _measure(app_ws, client, shas: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(statements of ``review_reasons`` for these rows, statements of the whole page), warm."""
    client.get("/triage")  # syncs the new rows; builds the gallery index of this revision once
    with app_ws.sessions() as session:
        rows = list(session.scalars(select(Review).where(Review.item_sha256.in_(shas))))
    with statements(app_ws) as direct:
        reasons = triage.review_reasons(app_ws, rows)
    assert all(r.artist_decision == "possible" for r in rows)  # every row is looked up
    # (a row whose re-matched best face is now a look-alike enrolled later gets no reason: its row is behind)
    assert reasons and set(reasons) <= set(shas) and set(reasons.values()) == {"reference_embedding_mismatch"}
    with statements(app_ws) as page:
        text = html.unescape(client.get("/triage").text)
    queue = text.split('id="queue"')[1].split("</table>")[0]
    assert queue.count(REASON) >= len(reasons)
    assert all(sha[:12] in queue for sha in shas)
    return len(direct), len(page)


def test_the_reasons_cost_the_same_queries_for_one_row_and_for_six(app_ws, client, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _enrol(cli, tmp_path)
    _make_legacy(app_ws)
    first = _scan_reposts(cli, tmp_path / "one", [400])
    _changed_gallery(app_ws, cli, tmp_path, "Sally Ride")
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    client.get("/triage")
    with app_ws.sessions() as session:
        assert list(session.scalars(select(Review.item_sha256))) == first, "a page of one row"
    measured = {1: _measure(app_ws, client, first)}
    rest = _scan_reposts(cli, tmp_path / "more", [388, 376, 364, 352, 340])
    _changed_gallery(app_ws, cli, tmp_path, "Judith Resnik")
    measured[6] = _measure(app_ws, client, first + rest)
    print("statements (review_reasons, GET /triage) by rows:", measured)
    assert measured[6] == measured[1], f"queries grow with the rows: {measured}"
    assert measured[1][0] <= 6, f"review_reasons: {measured[1][0]} statements for one page"
