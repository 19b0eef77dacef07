"""Triage, item page, decisions with optimistic locking, blurred previews, reveal with reason, scoping."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.web.models import Reveal, Review

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed


@pytest.fixture
def seeded(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    return seed(app_ws, tmp_path / "media")


def ledger(ws, action: str) -> list[LedgerEntry]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)))


def review(ws, sha: str) -> Review:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.get(Review, sha)


def test_triage_ranks_by_risk_and_the_analysis_is_projected(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    row = review(app_ws, seeded.suspect)
    assert row.artist == "Eileen" and row.artist_decision == "match" and row.status == "new"
    assert row.risk > review(app_ws, seeded.shapes).risk
    page = client.get("/triage")
    assert page.status_code == 200
    assert page.text.index(seeded.suspect[:12]) < page.text.index(seeded.shapes[:12])
    filtered = client.get("/triage", params={"decision": "none"})
    assert seeded.suspect[:12] not in filtered.text and seeded.shapes[:12] in filtered.text


def test_preview_is_blurred_greyscale_and_never_the_original(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    response = client.get(f"/items/{seeded.suspect}/preview.png")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    preview = Image.open(io.BytesIO(response.content))
    assert preview.mode == "L" and max(preview.size) <= 256
    original = Image.open(seeded.folder / "suspect.jpg").convert("L").resize(preview.size)
    # Blur removes detail: far less high-frequency energy than the same-size original.
    import numpy as np

    def detail(img: Image.Image) -> float:
        a = np.asarray(img, dtype=np.float32)
        return float(np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean())

    assert detail(preview) < 0.35 * detail(original)
    page = client.get(f"/items/{seeded.suspect}")
    assert f"/items/{seeded.suspect}/preview.png" in page.text
    assert "/original/" not in page.text  # nothing revealed until asked


def test_decision_conflict_and_custody(client, new_client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    other = sign_in(new_client(), make_user(app_ws, "bob", "analyst", password=STRONG))
    sha = seeded.suspect
    page_a = client.get(f"/items/{sha}").text
    page_b = other.get(f"/items/{sha}").text
    first = client.post(
        f"/items/{sha}/decision",
        data={"csrf": csrf_of(page_a), "status": "confirmed_abuse", "version": "1", "add_to_bank": "1"},
    )
    assert first.status_code == 303
    second = other.post(f"/items/{sha}/decision", data={"csrf": csrf_of(page_b), "status": "authentic", "version": "1"})
    assert second.status_code == 409
    assert review(app_ws, sha).status == "confirmed_abuse" and review(app_ws, sha).version == 2
    decisions = ledger(app_ws, "web.decision")
    assert len(decisions) == 1 and decisions[0].actor == "web:ana" and decisions[0].details["to"] == "confirmed_abuse"
    # Confirming put the item in the known_abuse bank (real signals code) and so in an incident.
    from idolguard.signals.banks import list_banks

    banks = {b["name"]: b for b in list_banks(app_ws)}
    assert banks["known_abuse"]["entries"] >= 1


def test_reveal_needs_reason_is_short_lived_and_recorded(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    sha = seeded.suspect
    csrf = csrf_of(client.get(f"/items/{sha}").text)
    refused = client.post(f"/items/{sha}/reveal", data={"csrf": csrf, "reason": "other", "other": " "})
    assert refused.status_code == 400 and not ledger(app_ws, "web.reveal")
    posted = client.post(f"/items/{sha}/reveal", data={"csrf": csrf, "reason": "identity_check"})
    assert posted.status_code == 303
    shown = client.get(posted.headers["location"])
    assert shown.status_code == 200
    with app_ws.sessions() as session:
        grant = session.scalar(select(Reveal))
    assert f"/items/{sha}/original/{grant.id}" in shown.text
    original = client.get(f"/items/{sha}/original/{grant.id}")
    assert original.status_code == 200 and original.headers["cache-control"] == "no-store"
    assert original.content == (seeded.folder / "suspect.jpg").read_bytes()
    events = ledger(app_ws, "web.reveal")
    assert len(events) == 1 and events[0].item_sha256 == sha and "identity_check" in events[0].details["reason"]
    assert grant.ledger_seq == events[0].seq
    assert "1" in client.get("/account").text.split('id="reveal-counter"')[1][:80]
    with app_ws.sessions() as session, session.begin():
        session.get(Reveal, grant.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.get(f"/items/{sha}/original/{grant.id}").status_code == 403


def test_viewer_is_denied_reveal(client, new_client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    csrf = csrf_of(client.get(f"/items/{seeded.suspect}").text)
    client.post(f"/items/{seeded.suspect}/reveal", data={"csrf": csrf, "reason": "identity_check"})
    with app_ws.sessions() as session:
        grant_id = session.scalar(select(Reveal.id))
    viewer = sign_in(new_client(), make_user(app_ws, "vic", "viewer", ["Eileen"], password=STRONG))
    page = viewer.get(f"/items/{seeded.suspect}")
    assert page.status_code == 200 and 'id="no-reveal"' in page.text and "reveal-form" not in page.text
    denied = viewer.post(
        f"/items/{seeded.suspect}/reveal", data={"csrf": csrf_of(page.text), "reason": "identity_check"}
    )
    assert denied.status_code == 403
    assert viewer.get(f"/items/{seeded.suspect}/original/{grant_id}").status_code == 403  # someone else's grant
    assert len(ledger(app_ws, "web.reveal")) == 1


def test_never_reveal_setting(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "cara", "counsel", password=STRONG))
    csrf = csrf_of(client.get("/account").text)
    client.post("/account", data={"csrf": csrf, "lang": "ko", "timezone": "Asia/Seoul", "never_reveal": "1"})
    page = client.get(f"/items/{seeded.suspect}")
    assert "reveal-form" not in page.text
    denied = client.post(f"/items/{seeded.suspect}/reveal", data={"csrf": csrf_of(page.text), "reason": "legal_review"})
    assert denied.status_code == 403 and not ledger(app_ws, "web.reveal")


def test_artist_scoping(client, new_client, app_ws, seeded):
    outsider = sign_in(client, make_user(app_ws, "oli", "analyst", ["Someone Else"], password=STRONG))
    assert seeded.suspect[:12] not in outsider.get("/triage").text
    assert outsider.get(f"/items/{seeded.suspect}").status_code == 404
    assert outsider.get(f"/items/{seeded.suspect}/preview.png").status_code == 404
    # Unattributed items: analysts and managers see them, counsel and viewers do not.
    assert outsider.get(f"/items/{seeded.shapes}").status_code == 200
    counsel = sign_in(new_client(), make_user(app_ws, "cara", "counsel", ["Eileen"], password=STRONG))
    assert counsel.get(f"/items/{seeded.suspect}").status_code == 200
    assert counsel.get(f"/items/{seeded.shapes}").status_code == 404
    text = counsel.get("/triage").text
    assert seeded.suspect[:12] in text and seeded.shapes[:12] not in text


def test_comments_and_names_are_escaped(client, app_ws, seeded):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    sha = seeded.suspect
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    csrf = csrf_of(client.get(f"/items/{sha}").text)
    assert client.post(f"/items/{sha}/comment", data={"csrf": csrf, "text": payload}).status_code == 303
    page = client.get(f"/items/{sha}")
    assert payload not in page.text and "&lt;script&gt;alert(" in page.text
    assert ledger(app_ws, "web.comment")[0].details["text"] == payload  # stored as typed, shown escaped
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_captions_accounts_and_artist_names_are_escaped(client, app_ws, tmp_path):
    """Hostile text from intake (caption, account) and an artist name with markup: shown as text."""
    from idolguard.intake.ingest import Ingestor, SightingInfo

    artist = '<b onmouseover="alert(1)">Eve</b>'
    world = seed(app_ws, tmp_path / "media", artist=artist)
    caption = "<script>document.title='pwned'</script>"
    info = SightingInfo(platform="x", account="<i>@acct</i>", note=caption)
    list(Ingestor(app_ws, info).ingest([world.folder / "suspect.jpg"]))
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    triage_page = client.get("/triage").text
    assert artist not in triage_page and "&lt;b onmouseover=&#34;alert(1)&#34;&gt;Eve&lt;/b&gt;" in triage_page
    item_page = client.get(f"/items/{world.suspect}").text
    assert caption not in item_page and "&lt;script&gt;document.title=" in item_page
    assert "<i>@acct</i>" not in item_page and "&lt;i&gt;@acct&lt;/i&gt;" in item_page
    assert "<title>" in item_page and "pwned" not in item_page.split("</title>")[0]  # no media/text in titles


def test_manager_closes_an_incident(client, new_client, app_ws, seeded):
    from idolguard.incidents.models import Incident
    from idolguard.incidents.sync import sync
    from idolguard.pipeline.runner import analyze
    from idolguard.web.triage import add_to_known_abuse

    add_to_known_abuse(app_ws, seeded.suspect)
    analyze(app_ws, [seeded.suspect])
    sync(app_ws)
    with app_ws.sessions() as session:
        incident_id = session.scalar(select(Incident.id))
    analyst = sign_in(new_client(), make_user(app_ws, "ana", "analyst", password=STRONG))
    page = analyst.get(f"/incidents/{incident_id}")
    assert page.status_code == 200 and "incident-state" not in page.text
    assert (
        analyst.post(
            f"/incidents/{incident_id}/state", data={"csrf": csrf_of(page.text), "state": "closed"}
        ).status_code
        == 403
    )
    manager = sign_in(client, make_user(app_ws, "max", "manager", password=STRONG))
    page = manager.get(f"/incidents/{incident_id}")
    r = manager.post(
        f"/incidents/{incident_id}/state", data={"csrf": csrf_of(page.text), "state": "closed", "reason": "removed"}
    )
    assert r.status_code == 303
    with app_ws.sessions() as session:
        assert session.get(Incident, incident_id).state == "closed"
    events = ledger(app_ws, "incident.status")
    assert events[-1].actor == "web:max" and events[-1].details["to"] == "closed"


def test_verdict_filter_finds_rows_stored_under_the_old_name(client, app_ws, seeded):
    """Rows projected before the rename hold ``no_evidence``; filtering by ``not_detected`` must still find them."""
    from sqlalchemy import update

    with app_ws.sessions() as session, session.begin():
        session.execute(update(Review).where(Review.item_sha256 == seeded.shapes).values(verdict="no_evidence"))
        session.execute(update(Review).where(Review.item_sha256 == seeded.suspect).values(verdict="likely_manipulated"))
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    page = client.get("/triage", params={"verdict": "not_detected", "status": "all"})
    assert page.status_code == 200
    assert seeded.shapes[:12] in page.text and seeded.suspect[:12] not in page.text


@pytest.mark.parametrize("lang, words", [("en", "web upload"), ("ko", "웹 업로드")])
def test_a_web_upload_is_said_in_words_not_as_its_internal_platform_code(new_client, app_ws, seeded, lang, words):
    """Items uploaded through the web are recorded with the platform ``web-upload``, IdolGuard's own name: the
    triage row and the item's sightings say it in the reader's words (webtry finding), while a platform a
    person recorded is shown as recorded."""
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.web.triage import sync_reviews

    list(Ingestor(app_ws, SightingInfo(platform="web-upload")).ingest([seeded.folder / "suspect.jpg"]))
    list(Ingestor(app_ws, SightingInfo(platform="x.example")).ingest([seeded.folder / "shapes.jpg"]))
    sync_reviews(app_ws, [seeded.suspect, seeded.shapes])
    client = sign_in(new_client(), make_user(app_ws, f"ana{lang}", "analyst", password=STRONG), lang=lang)
    for page in (client.get("/triage").text, client.get(f"/items/{seeded.suspect}").text):
        assert f"<td>{words}</td>" in page and "web-upload" not in page
    assert "<td>x.example</td>" in client.get("/triage").text
