"""REST API for cases and takedown notices: the pages' rules (``cases`` to change, ``read`` to read, a write
token for changes, artist scope as 404), pagination and filters, each change a custody event acting as the
token's user, a draft missing required elements answered 422 with one error per field, and schemathesis over
these operations with a token that may change them (no 5xx, answers conform to the schema)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from sqlalchemy import select

from idolguard.db.models import LedgerEntry

from .seed import seed
from .test_api import bearer, is_error, token_for


@pytest.fixture
def world(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.intake.ingest import Ingestor, SightingInfo

    s = seed(app_ws, tmp_path / "media")
    info = SightingInfo(source_url="https://x.example/p/1", platform="x", account="@a")
    list(Ingestor(app_ws, info).ingest([s.folder / "suspect.jpg"]))
    return s


def actions_by(ws, actor: str) -> list[str]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return list(session.scalars(select(LedgerEntry.action).where(LedgerEntry.actor == actor)))


def test_cases_open_link_status_paginate_and_scope(client, app_ws, world):
    counsel = token_for(app_ws, "cora", "counsel", ["Eileen"])
    made = []
    for title in ("first", "second", "third"):
        response = client.post("/api/v1/cases", json={"title": title, "artist": "Eileen"}, headers=bearer(counsel))
        assert response.status_code == 201, response.text
        made.append(response.json()["number"])
    assert made[0].startswith("IG-") and response.json()["status"] == "open" and response.json()["items"] == []
    page = client.get("/api/v1/cases", params={"limit": 2}, headers=bearer(counsel)).json()
    assert [c["number"] for c in page["cases"]] == made[:2] and page["next_offset"] == 2
    rest = client.get("/api/v1/cases", params={"limit": 2, "offset": 2}, headers=bearer(counsel)).json()
    assert [c["number"] for c in rest["cases"]] == made[2:] and rest["next_offset"] is None
    assert [
        c["title"] for c in client.get("/api/v1/cases", params={"q": "SEC"}, headers=bearer(counsel)).json()["cases"]
    ] == ["second"]

    number = made[0]
    linked = client.post(f"/api/v1/cases/{number}/links", json={"refs": [world.suspect]}, headers=bearer(counsel))
    assert linked.status_code == 200 and linked.json() == [
        {"kind": "item", "ref": world.suspect, "added": True, "also_in": []}
    ]
    again = client.post(f"/api/v1/cases/{number}/links", json={"refs": [world.suspect[:12]]}, headers=bearer(counsel))
    assert again.json()[0]["added"] is False
    is_error(
        client.post(f"/api/v1/cases/{number}/links", json={"refs": ["incident:999"]}, headers=bearer(counsel)),
        422,
        "invalid",
    )
    # The unattributed item is not counsel's to see: refused as absent.
    is_error(
        client.post(f"/api/v1/cases/{number}/links", json={"refs": [world.shapes]}, headers=bearer(counsel)),
        404,
        "not_found",
    )
    moved = client.post(f"/api/v1/cases/{number}/status", json={"status": "gathering"}, headers=bearer(counsel))
    assert moved.status_code == 200 and moved.json()["previous"] == "open"
    unfiled = client.post(f"/api/v1/cases/{number}/status", json={"status": "filed"}, headers=bearer(counsel))
    is_error(unfiled, 422, "refused")
    # The refusal's stable code and values, for clients that say it in their own language.
    assert unfiled.json()["error"]["reason"] == "case.filed_needs"
    assert unfiled.json()["error"]["params"] == {"fields": "kind,ref,date"}
    filed = client.post(
        f"/api/v1/cases/{number}/status",
        json={"status": "filed", "kind": "police", "reference": "SPD-2026-118", "filed_on": "2026-01-05"},
        headers=bearer(counsel),
    )
    assert filed.status_code == 200 and filed.json()["filing"]["reference"] == "SPD-2026-118"
    detail = client.get(f"/api/v1/cases/{number}", headers=bearer(counsel)).json()
    assert detail["status"] == "filed" and [i["sha256"] for i in detail["items"]] == [world.suspect]
    assert detail["filings"][0]["kind"] == "police" and "https://x.example/p/1" in {
        x["url"] for x in detail["sightings"]
    }
    assert (
        client.get("/api/v1/cases", params={"status": "filed"}, headers=bearer(counsel)).json()["cases"][0]["number"]
        == number
    )

    # Every change is a custody event by the token's user.
    done = actions_by(app_ws, "web:cora")
    assert done.count("case.open") == 3 and done.count("case.link") == 1 and done.count("case.status") == 2

    # Other artists' users: absent; read-only tokens and roles without `cases`: forbidden.
    outsider = token_for(app_ws, "otto", "counsel", ["Someone Else"])
    is_error(client.get(f"/api/v1/cases/{number}", headers=bearer(outsider)), 404, "not_found")
    assert client.get("/api/v1/cases", headers=bearer(outsider)).json()["cases"] == []
    is_error(
        client.post("/api/v1/cases", json={"title": "x", "artist": "Eileen"}, headers=bearer(outsider)),
        404,
        "not_found",
    )
    reader = token_for(app_ws, "rhea", "counsel", ["Eileen"], scope="read")
    assert client.get(f"/api/v1/cases/{number}", headers=bearer(reader)).status_code == 200
    is_error(
        client.post(f"/api/v1/cases/{number}/status", json={"status": "closed"}, headers=bearer(reader)),
        403,
        "forbidden",
    )
    analyst = token_for(app_ws, "ana", "analyst")
    is_error(
        client.post("/api/v1/cases", json={"title": "x", "artist": "Eileen"}, headers=bearer(analyst)), 403, "forbidden"
    )
    # Bad input: a clear 422, nothing stored.
    is_error(
        client.post("/api/v1/cases", json={"title": "a\x00b", "artist": "Eileen"}, headers=bearer(counsel)),
        422,
        "invalid",
    )
    is_error(client.get("/api/v1/cases/not-a-case", headers=bearer(counsel)), 422, "invalid")
    is_error(client.get("/api/v1/cases/IG-2026-9999", headers=bearer(counsel)), 404, "not_found")


def test_takedown_draft_names_each_missing_element_then_drafts(client, app_ws, world):
    from idolguard.cases.service import add_to_case, open_case

    number = open_case(app_ws, "t", "Eileen")
    add_to_case(app_ws, number, [world.suspect])
    manager = token_for(app_ws, "mia", "manager")
    incomplete = client.post(
        "/api/v1/takedowns",
        json={"case": number, "recipient": "x", "basis": "dmca_512c3"},
        headers=bearer(manager),
    )
    is_error(incomplete, 422, "missing_elements")
    fields = incomplete.json()["error"]["fields"]
    names = [f["field"] for f in fields]
    assert len(names) == len(set(names)) and all(f["message"] for f in fields)
    assert {
        "reporter_name",
        "reporter_email",
        "signature",
        "copyrighted_work",
        "accuracy_under_perjury",
        "good_faith",  # never assumed: the sender affirms it
    } == set(names)
    unknown = client.post(
        "/api/v1/takedowns", json={"case": number, "recipient": "nobody", "basis": "nope"}, headers=bearer(manager)
    )
    assert {f["field"] for f in unknown.json()["error"]["fields"]} == {"recipient", "basis"}
    made = client.post(
        "/api/v1/takedowns",
        json={
            "case": number,
            "recipient": "x",
            "basis": "dmca_512c3",
            "lang": "ko",
            "reporter_name": "Kim",
            "reporter_email": "legal@agency.test",
            "signature": "/Kim/",
            "copyrighted_work": "Official MV (2025)",
            "affirm": ["good_faith", "accuracy"],
        },
        headers=bearer(manager),
    )
    assert made.status_code == 201, made.text
    notice = made.json()
    assert notice["status"] == "draft" and notice["case"] == number and notice["lang"] == "ko"
    assert notice["urls"] == ["https://x.example/p/1"] and all(r["ok"] for r in notice["required"])
    assert "takedown.draft" in actions_by(app_ws, "web:mia")
    listed = client.get("/api/v1/takedowns", params={"case": number}, headers=bearer(manager)).json()
    assert [n["id"] for n in listed["notices"]] == [notice["id"]] and listed["next_offset"] is None
    assert client.get("/api/v1/takedowns", params={"status": "sent"}, headers=bearer(manager)).json()["notices"] == []
    # The same URL to the same recipient again: refused unless `again`.
    dup = client.post(
        "/api/v1/takedowns",
        json={
            "case": number,
            "recipient": "x",
            "basis": "plain_letter",
            "reporter_name": "Kim",
            "reporter_email": "l@a.test",
        },
        headers=bearer(manager),
    )
    is_error(dup, 422, "refused")
    assert dup.json()["error"]["reason"] == "takedown.duplicate" and dup.json()["error"]["params"]["id"]
    outsider = token_for(app_ws, "otto", "counsel", ["Someone Else"])
    is_error(client.get(f"/api/v1/takedowns/{notice['id']}", headers=bearer(outsider)), 404, "not_found")
    assert client.get("/api/v1/takedowns", headers=bearer(outsider)).json()["notices"] == []
    is_error(
        client.post(
            "/api/v1/takedowns",
            json={"case": number, "recipient": "x", "basis": "plain_letter"},
            headers=bearer(outsider),
        ),
        404,
        "not_found",
    )


def test_case_and_takedown_operations_conform_to_the_schema(app, app_ws, world):  # type: ignore[no-untyped-def]
    """schemathesis over the case and takedown operations with a manager's write token (changes allowed).

    ``positive_data_acceptance`` is left out: a request the schema allows can still be refused with a
    documented 422 (a notice missing the elements its legal basis requires, a reference to no record, a
    status change the case cannot make); every other check runs (no 5xx, status codes and bodies as
    documented, schema-invalid data rejected)."""
    from idolguard.cases.service import add_to_case, open_case

    number = open_case(app_ws, "schema", "Eileen")
    add_to_case(app_ws, number, [world.suspect])
    token = token_for(app_ws, "schema", "manager")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(("/cases", "/takedowns")):
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            if "number" in (case.path_parameters or {}):
                case.path_parameters["number"] = number  # reach the handler, not only the 404
            case.call_and_validate(headers=bearer(token), excluded_checks=[ignored_auth, positive_data_acceptance])

        check()
        checked += 1
    assert checked == 8
