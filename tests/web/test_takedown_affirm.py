"""The draft form never affirms a statement for the sender: good faith (DSA, DMCA) and accuracy under penalty of
perjury (DMCA) are checkboxes the sender ticks; without them the form names the missing element and nothing is
drafted, a drafted notice without them (a re-upload follow-up) offers an affirmation form and cannot be sent,
and ticking a statement the basis does not have is refused. Lists and statistics show names, not keys; the
recipient notes are in the page's language. SQLite, and PostgreSQL with IDOLGUARD_TEST_PG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from idolguard.workspace import Workspace

from .conftest import STRONG, csrf_of, make_user, sign_in
from .test_cases_pages import world  # noqa: F401  (fixture)


@pytest.fixture
def web(home: Path, world):  # type: ignore[no-untyped-def]  # noqa: F811
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.web.app import create_app
    from tests.cases.helpers import set_config_table

    set_config_table(
        home,
        "takedowns",
        'reporter_name = "Agency Legal"\nreporter_email = "legal@agency.test"\nauthority = "POA-2026-01"',
    )
    ws = Workspace.open(home)
    app = create_app(ws)

    def client() -> TestClient:
        return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)

    number = open_case(ws, "t", world.artist)
    add_to_case(ws, number, [world.suspect])
    try:
        yield ws, number, client
    finally:
        ws.close()


def _signed_in(client: TestClient, login, lang: str) -> TestClient:  # type: ignore[no-untyped-def]
    signed = sign_in(client, login)
    signed.get(f"/lang/{lang}")
    return signed


def _post(client: TestClient, path: str, data: dict, page: str = "/account"):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf": csrf_of(client.get(page).text)})


def test_form_affirmations_are_ticked_never_assumed(web) -> None:  # type: ignore[no-untyped-def]
    ws, number, client = web
    counsel = _signed_in(client(), make_user(ws, "counsel1", "counsel", password=STRONG), "en")
    form = counsel.get(f"/cases/{number}/takedowns/new").text
    assert 'name="affirm_good_faith"' in form and 'name="affirm_accuracy"' in form
    assert 'name="affirm_good_faith" value="1" >' in form and "checked" not in form.split('id="affirmations"')[1][:600]
    dsa = {"recipient": "web_host", "basis": "eu_dsa_16", "to": "abuse@host.test", "lang": "en"}
    unticked = _post(counsel, f"/cases/{number}/takedowns", dsa)
    assert unticked.status_code == 422 and 'id="err-good_faith"' in unticked.text
    assert "never assumed" in unticked.text
    from idolguard.takedowns.models import Notice

    with ws.sessions() as session:
        assert session.query(Notice).count() == 0  # nothing drafted
    wrong = _post(counsel, f"/cases/{number}/takedowns", {**dsa, "affirm_good_faith": "1", "affirm_accuracy": "1"})
    assert wrong.status_code == 422 and 'id="err-affirm_accuracy"' in wrong.text

    dmca = {"recipient": "web_host", "basis": "dmca_512c3", "to": "abuse@host.test", "lang": "en"}
    dmca |= {"signature": "K. Legal", "copyrighted_work": "Official video"}
    half = _post(counsel, f"/cases/{number}/takedowns", {**dmca, "affirm_good_faith": "1"})
    assert half.status_code == 422 and 'id="err-accuracy_under_perjury"' in half.text
    assert 'id="err-good_faith"' not in half.text
    both = _post(counsel, f"/cases/{number}/takedowns", {**dmca, "affirm_good_faith": "1", "affirm_accuracy": "1"})
    assert both.status_code == 303
    page = counsel.get(both.headers["location"]).text
    assert 'id="missing-' not in page and "under penalty of perjury, I am authorized" in page
    assert 'data-field="good_faith"' in page and 'id="affirm-form"' not in page
    ok = _post(counsel, f"/cases/{number}/takedowns", {**dsa, "affirm_good_faith": "1", "again": "1"})
    assert ok.status_code == 303 and "bona fide belief" in counsel.get(ok.headers["location"]).text


def test_draft_without_affirmation_offers_the_form_and_cannot_be_sent(web) -> None:  # type: ignore[no-untyped-def]
    from idolguard.takedowns.notices import DraftOptions, draft

    ws, number, client = web
    counsel = _signed_in(client(), make_user(ws, "counsel1", "counsel", password=STRONG), "ko")
    analyst = sign_in(client(), make_user(ws, "analyst1", "analyst", password=STRONG))
    [notice_id] = draft(ws, DraftOptions(case=number, recipient="x", basis="eu_dsa_16"))  # as a follow-up would
    path = f"/takedowns/{notice_id}"
    page = counsel.get(path).text
    assert 'id="missing-good_faith"' in page and 'id="affirm-form"' in page
    assert "선의" in page and 'data-field="good_faith"' not in page  # no "yes" to paste
    assert "본 신고에 기재한 정보와 주장이" not in page and "bona fide" not in page
    refused = _post(counsel, f"{path}/mark", {"status": "sent"}, page=path)
    assert refused.status_code == 422 and "good_faith" in refused.text
    nothing = _post(counsel, f"{path}/affirm", {}, page=path)
    assert nothing.status_code == 422
    assert _post(analyst, f"{path}/affirm", {"affirm_good_faith": "1"}, page=path).status_code == 403
    assert counsel.post(f"{path}/affirm", data={"affirm_good_faith": "1", "csrf": "forged"}).status_code == 403
    done = _post(counsel, f"{path}/affirm", {"affirm_good_faith": "1"}, page=path)
    assert done.status_code == 303
    page = counsel.get(path).text
    assert 'id="missing-' not in page and 'id="affirm-form"' not in page and 'data-field="good_faith"' in page
    events = [json.loads(line) for line in (ws.home / "ledger.jsonl").read_text().splitlines()]
    [affirmed] = [e for e in events if e["action"] == "takedown.affirm"]
    assert affirmed["actor"] == "web:counsel1" and affirmed["details"]["affirmed"] == ["good_faith"]
    assert _post(counsel, f"{path}/mark", {"status": "sent"}, page=path).status_code == 303


def test_lists_and_form_show_names_in_the_page_language(web) -> None:  # type: ignore[no-untyped-def]
    from idolguard.takedowns.notices import DraftOptions, draft, mark

    ws, number, client = web
    [notice_id] = draft(ws, DraftOptions(case=number, recipient="x", basis="eu_dsa_16", affirm=("good_faith",)))
    mark(ws, notice_id, "sent", "X-1")
    ko = _signed_in(client(), make_user(ws, "counsel1", "counsel", password=STRONG), "ko")
    listing = ko.get("/takedowns").text
    table = listing.split('id="notices"')[1]
    assert "X(구 트위터)" in table and "EU DSA 제16조" in table
    assert "<td>x</td>" not in listing and "<td>eu_dsa_16</td>" not in listing
    form = ko.get(f"/cases/{number}/takedowns/new").text
    assert "웹 신고 양식" in form and "web_form" not in form.split('name="recipient"')[1].split("</select>")[0]
    assert "검색 결과만 삭제됩니다" in form and "Removes search results only" not in form
    en = _signed_in(client(), make_user(ws, "counsel2", "counsel", password=STRONG), "en")
    form_en = en.get(f"/cases/{number}/takedowns/new").text
    assert "Removes search results only" in form_en and "X (formerly Twitter) (Web form:" in form_en
    assert "EU DSA Art. 16" in en.get("/takedowns").text
