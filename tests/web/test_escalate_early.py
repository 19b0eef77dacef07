"""Tryout #15: escalating a notice before its due time needs an explicit confirmation, and the notice drafted
then never claims that no action was seen before the deadline."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed


def _sent_notice(app_ws, tmp_path) -> int:  # type: ignore[no-untyped-def]
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.takedowns.notices import DraftOptions, draft, mark

    s = seed(app_ws, tmp_path / "media")
    list(Ingestor(app_ws, SightingInfo(source_url="https://x.example/p/9")).ingest([s.folder / "suspect.jpg"]))
    number = open_case(app_ws, "early", s.artist)
    add_to_case(app_ws, number, [s.suspect])
    [notice] = draft(
        app_ws,
        DraftOptions(
            number,
            "naver",
            "kr_tba_22_5",
            reporter_name="김담당",
            reporter_email="legal@agency.test",
            authority="소속사 법무팀",
            again=True,
        ),
    )
    mark(app_ws, notice, "sent", "N-1", None)
    return notice


def test_early_escalation_needs_confirmation_and_says_the_deadline_has_not_passed(client, app_ws, tmp_path):
    from idolguard.takedowns.models import Notice
    from idolguard.takedowns.notices import TakedownError, escalate

    notice = _sent_notice(app_ws, tmp_path)
    with pytest.raises(TakedownError, match="--early"):
        escalate(app_ws, notice)
    sign_in(client, make_user(app_ws, "cora", "counsel", password=STRONG), lang="ko")
    page = client.get(f"/takedowns/{notice}").text
    assert 'id="escalate-early"' in page and 'name="early"' in page
    refused = client.post(f"/takedowns/{notice}/escalate", data={"csrf": csrf_of(page)})
    assert refused.status_code == 422 and "처리 기한이 아직 남아 있습니다" in html.unescape(refused.text)
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 1  # nothing drafted

    confirmed = client.post(f"/takedowns/{notice}/escalate", data={"csrf": csrf_of(page), "early": "1"})
    assert confirmed.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]*)", html.unescape(confirmed.text))
    second = int(confirmed.headers["location"].rsplit("/", 1)[1])
    with app_ws.sessions() as session:
        body = session.get(Notice, second).body
    assert "조치가 확인되지 않아" not in body and "아직 지나지 않았지만" in body

    # Once the recipient's time has run out: no confirmation needed, and the notice says no action was seen.
    with app_ws.sessions() as session, session.begin():
        session.execute(update(Notice).where(Notice.id == notice).values(due_at=datetime.now(UTC) - timedelta(hours=1)))
    page = client.get(f"/takedowns/{notice}").text
    assert 'id="escalate-early"' not in page
    late = client.post(f"/takedowns/{notice}/escalate", data={"csrf": csrf_of(page)})
    assert late.status_code == 303
    with app_ws.sessions() as session:
        body = session.get(Notice, int(late.headers["location"].rsplit("/", 1)[1])).body
    assert "조치가 확인되지 않아" in body
