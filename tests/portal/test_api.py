"""The portal's JSON API and pages over real HTTP: reports, receipts, status, challenges, limits, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.portal.conftest import ARTISTS, PortalServer, report, solved


def count(workspace, model) -> int:  # type: ignore[no-untyped-def]
    with workspace.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_report_receipt_status_and_custody(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.db.models import LedgerEntry
    from idolguard.portal.models import PortalJob, PortalLink, PortalReport

    with portal_server.client() as client:
        created = report(client, ["https://x.com/someone/status/123"], note="seen in a group chat")
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["receipt"].startswith("R-") and body["status_url"].startswith(portal_server.base + "/status/")
        token = body["status_url"].rsplit("/", 1)[1]
        page = client.get(f"/status/{token}", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
        assert page.status_code == 200
        assert body["receipt"] in page.text and "접수됨" in page.text
        assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        english = client.get(f"/status/{token}?lang=en")
        assert "Received" in english.text
        api = client.get(f"/api/status/{token}").json()
        assert api == {"receipt": body["receipt"], "status": "received", "submitted_at": api["submitted_at"]}
        assert client.get("/status/" + "x" * 32).status_code == 404
    assert (
        count(workspace, PortalReport) == 1 and count(workspace, PortalLink) == 1 and count(workspace, PortalJob) == 1
    )
    with workspace.sessions() as session:
        stored = session.scalars(select(PortalReport)).one()
        assert stored.note == "seen in a group chat" and stored.status_token_sha256 != token
        events = session.scalars(select(LedgerEntry).where(LedgerEntry.action == "portal.report")).all()
    assert len(events) == 1 and events[0].details["receipt"] == body["receipt"]
    assert events[0].details["urls"] == ["https://x.com/someone/status/123"]


def test_form_page_in_four_languages_without_inline_script(portal_server: PortalServer) -> None:
    with portal_server.client() as client:
        for lang, phrase in [("ko", "내려받거나"), ("en", "Never download"), ("ja", "ダウンロード"), ("zh", "下载")]:
            page = client.get(f"/?lang={lang}")
            assert page.status_code == 200 and phrase in page.text, lang
            assert f'<html lang="{lang}">' in page.text
            assert "<script>" not in page.text and "onclick" not in page.text.lower()
        accept = client.get("/", headers={"Accept-Language": "ja-JP"})
        assert '<html lang="ja">' in accept.text
        # An artist name with markup (configured by the agency) is escaped, never interpreted.
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in accept.text and "<b>Bold</b>" not in accept.text
        js = client.get("/static/portal.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def test_duplicates_and_canonical_forms_count_as_one_link(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.jobs import triage_rows
    from idolguard.portal.models import PortalJob

    with portal_server.client() as client:
        first = report(client, ["https://mobile.twitter.com/someone/status/9?utm_source=share&s=20"])
        second = report(client, ["https://x.com/someone/status/9"], category="harassment")
        third = report(client, ["https://youtu.be/abcDEF12345?si=track", "https://bit.ly/3xyz"])
    assert {r.status_code for r in (first, second, third)} == {201}
    rows = {row["url"]: row for row in triage_rows(workspace)}
    post = rows["https://x.com/someone/status/9"]
    assert post["report_count"] == 2 and post["categories"] == {"ai_deepfake": 1, "harassment": 1}
    assert "https://www.youtube.com/watch?v=abcDEF12345" in rows
    assert rows["https://bit.ly/3xyz"]["short_link"] is True  # kept as reported, never followed here
    assert count(workspace, PortalJob) == 3


def test_replayed_expired_forged_and_unsolved_challenges(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal import challenge
    from idolguard.portal.models import PortalReport

    with portal_server.client() as client:
        ch = solved(client)
        assert report(client, ["https://example.org/a"], challenge=ch).status_code == 201
        replay = report(client, ["https://example.org/b"], challenge=ch)
        assert replay.status_code == 422 and replay.json()["errors"]["challenge"][0]["code"] == "replayed"
        secret = portal_server.portal.secret
        old = challenge.issue(secret, 8, now=0)
        expired = report(
            client, ["https://example.org/c"], challenge={"token": old, "solution": challenge.solve(old, 8)}
        )
        assert expired.json()["errors"]["challenge"][0]["code"] == "expired"
        forged_token = challenge.issue(b"another-secret" * 2, 8)
        forged = report(
            client,
            ["https://example.org/d"],
            challenge={"token": forged_token, "solution": challenge.solve(forged_token, 8)},
        )
        assert forged.json()["errors"]["challenge"][0]["code"] == "invalid"
        easy = challenge.issue(secret, 1)
        cheap = report(
            client, ["https://example.org/e"], challenge={"token": easy, "solution": challenge.solve(easy, 1)}
        )
        assert cheap.json()["errors"]["challenge"][0]["code"] == "invalid"
        ch = solved(client)
        wrong = str(int(ch["solution"]) + 1)
        while (
            challenge.leading_zero_bits(__import__("hashlib").sha256(f"{ch['token']}:{wrong}".encode()).digest()) >= 8
        ):
            wrong = str(int(wrong) + 1)
        unsolved = report(client, ["https://example.org/f"], challenge={"token": ch["token"], "solution": wrong})
        assert unsolved.json()["errors"]["challenge"][0]["code"] == "unsolved"
        missing = client.post(
            "/api/reports", json={"urls": ["https://example.org/g"], "category": "other", "artist": ARTISTS[0]}
        )
        assert missing.status_code == 422 and missing.json()["errors"]["challenge"][0]["code"] == "missing"
    assert count(workspace, PortalReport) == 1


BAD_URLS = [
    ("javascript:alert(document.cookie)", "scheme"),
    ("data:text/html;base64,PHNjcmlwdD4=", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("ftp://example.org/x", "scheme"),
    ("http://127.0.0.1/admin", "private_address"),
    ("http://10.0.0.5/", "private_address"),
    ("http://169.254.169.254/latest/meta-data", "private_address"),
    ("http://[::1]:8080/", "private_address"),
    ("http://[::ffff:192.168.0.1]/", "private_address"),
    ("http://2130706433/", "private_address"),
    ("http://0x7f000001/", "private_address"),
    ("http://localhost:5432/", "private_address"),
    ("http://printer.local/", "private_address"),
    ("http://intranet/", "private_address"),
    ("https://user:pass@example.org/", "credentials"),
    ("https://example.org/" + "a" * 3000, "too_long"),
    ("https://exa mple.org/", "control_chars"),
    ("https://example.org/\r\nSet-Cookie: x=1", "control_chars"),
    ("http://[::1/", "malformed"),
    ("https://", "no_host"),
    ("", "empty"),
]


def test_bad_links_get_a_message_per_link(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.models import PortalReport

    with portal_server.client() as client:
        for start in range(0, len(BAD_URLS), 10):
            chunk = BAD_URLS[start : start + 10]
            got = report(client, [u for u, _ in chunk] + ["https://example.org/fine"])
            assert got.status_code == 422
            by_index = {e["index"]: e["code"] for e in got.json()["errors"]["urls"]}
            assert by_index == {i: code for i, (_, code) in enumerate(chunk)}
        korean = client.post(
            "/api/reports",
            json={
                "urls": ["javascript:alert(1)"],
                "category": "other",
                "artist": ARTISTS[0],
                "challenge": solved(client),
            },
            headers={"Accept-Language": "ko"},
        )
        assert "http:// 또는 https://" in korean.json()["errors"]["urls"][0]["message"]
        not_list = client.post("/api/reports", json={"urls": 5, "category": "x", "artist": "nobody", "contact": "no"})
        fields = not_list.json()["errors"]
        assert not_list.status_code == 422 and set(fields) == {"urls", "category", "artist", "contact"}
    assert count(workspace, PortalReport) == 0


def test_size_limits_and_body_format(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.models import PortalReport

    with portal_server.client() as client:
        thousand = [f"https://example.org/post/{n}" for n in range(1000)]
        many = report(client, thousand)
        assert many.status_code == 422 and many.json()["errors"]["urls"][0]["code"] == "too_many_urls"
        big = client.post(
            "/api/reports",
            content=b'{"urls": ["' + b"a" * 70_000 + b'"]}',
            headers={"Content-Type": "application/json"},
        )
        assert big.status_code == 413
        chunked = client.post(
            "/api/reports",
            content=iter([b'{"note": "', b"b" * 70_000, b'"}']),
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413
        form = client.post("/api/reports", data={"urls": "https://example.org"})
        assert form.status_code == 415  # a cross-site HTML form cannot post a report
        broken = client.post("/api/reports", content=b"{not json", headers={"Content-Type": "application/json"})
        assert broken.status_code == 400 and broken.json()["errors"]["body"][0]["code"] == "bad_json"
        long_note = report(client, ["https://example.org/n"], note="n" * 2001)
        assert long_note.json()["errors"]["note"][0]["code"] == "note_too_long"
    assert count(workspace, PortalReport) == 0


def test_header_injection_and_markup_in_the_note(portal_server: PortalServer, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.models import PortalReport

    with portal_server.client() as client:
        injected = report(client, ["https://example.org/h"], contact="fan@example.org\r\nBcc: all@example.org")
        assert injected.status_code == 422 and injected.json()["errors"]["contact"][0]["code"] == "contact_invalid"
        # A forged Host header does not change where the status link points.
        ok = report(client, ["https://example.org/h"], note="<script>alert('x')</script><img src=x onerror=alert(1)>")
        assert ok.status_code == 201
        poisoned = client.post(
            "/api/reports",
            json={
                "urls": ["https://example.org/i"],
                "category": "other",
                "artist": ARTISTS[0],
                "challenge": solved(client),
            },
            headers={"Host": "evil.example"},
        )
        assert poisoned.status_code == 201 and poisoned.json()["status_url"].startswith(portal_server.base)
        # An untrusted peer cannot choose its address with X-Forwarded-For.
        assert portal_server.portal.trusted == []
        page = client.get(ok.json()["status_url"].replace(portal_server.base, ""))
        assert "<script>alert" not in page.text and "<img src=x onerror" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    with workspace.sessions() as session:
        notes = set(session.scalars(select(PortalReport.note)))
    assert "<script>alert('x')</script><img src=x onerror=alert(1)>" in notes  # stored exactly as sent


@pytest.mark.parametrize("store", ["database", "redis"])
def test_flood_from_one_address_is_throttled_while_others_get_through(home: Path, store: str, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.models import PortalReport

    overrides: dict = {"per_ip_per_minute": 3, "per_ip_per_hour": 100, "challenges_per_ip_per_minute": 100}
    if store == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
        except Exception:  # noqa: BLE001
            pytest.skip("no Redis on 127.0.0.1:6379")
        overrides["redis_url"] = "redis://127.0.0.1:6379/0"  # keys are per-workspace-secret hashes: no clashes
    server = PortalServer(home, **overrides)
    try:
        with server.client("127.0.0.2") as flooder, server.client("127.0.0.3") as other:
            statuses = [report(flooder, [f"https://example.org/flood/{n}"]).status_code for n in range(6)]
            assert statuses[:3] == [201, 201, 201] and statuses[3:] == [429, 429, 429]
            limited = report(flooder, ["https://example.org/flood/x"])
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            # Refused at the gate, before the body is read: still the portal's headers and a localised message.
            assert limited.headers["content-security-policy"].startswith("default-src 'none'")
            assert limited.json()["errors"]["body"][0]["code"] == "rate_limited"
            # No language asked for: Korean, the portal's default (tryout #13); English on request.
            assert "너무 많습니다" in limited.json()["errors"]["body"][0]["message"]
            english = flooder.post("/api/reports?lang=en", content=b"not even json", headers={"content-type": "x"})
            assert (
                english.status_code == 429
                and english.json()["errors"]["body"][0]["message"] != (limited.json()["errors"]["body"][0]["message"])
            )
            assert report(other, ["https://example.org/fine"]).status_code == 201
    finally:
        server.stop()
    assert count(workspace, PortalReport) == 4


def test_global_limit(home: Path) -> None:
    server = PortalServer(home, global_per_second=2, per_ip_per_minute=100, challenges_per_ip_per_minute=100)
    try:
        with server.client() as client:
            challenges = [solved(client) for _ in range(6)]
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                codes = list(
                    pool.map(
                        lambda ch: report(client, [f"https://example.org/{ch['solution']}"], challenge=ch).status_code,
                        challenges,
                    )
                )
        assert 429 in codes and 201 in codes
    finally:
        server.stop()


def test_challenge_endpoint_is_rate_limited_and_documented(home: Path) -> None:
    server = PortalServer(home, challenges_per_ip_per_minute=3)
    try:
        with server.client() as client:
            codes = [client.get("/api/challenge").status_code for _ in range(5)]
            assert codes[:3] == [200, 200, 200] and codes[-1] == 429
            described = client.get("/api").json()
            assert "SHA-256(token + ':' + c)" in described["challenge_algorithm"]
            assert json.dumps(described)  # plain JSON
    finally:
        server.stop()


def test_limits_hold_across_portal_processes(home: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    """Two portal instances on one database: each alone has seen too few reports to refuse, the database has not."""
    from idolguard.portal.models import PortalReport

    limits = {"per_ip_per_minute": 4, "per_ip_per_hour": 100, "challenges_per_ip_per_minute": 100}
    one, two = PortalServer(home, **limits), PortalServer(home, **limits)
    try:
        with one.client("127.0.0.2") as c1, two.client("127.0.0.2") as c2:
            codes = [report(c, [f"https://example.org/x/{n}"]).status_code for n, c in enumerate([c1, c2] * 3)]
        assert codes == [201, 201, 201, 201, 429, 429]
    finally:
        one.stop()
        two.stop()
    assert count(workspace, PortalReport) == 4
