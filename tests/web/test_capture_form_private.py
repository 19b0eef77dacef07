"""The team's URL capture (form and API) refuses private and local addresses before anything is queued, with
the portal's checker and capture's allowlist; before, the job was queued and refused each URL only when it ran."""

from __future__ import annotations

import pytest

from idolguard.web.models import Job

from .conftest import STRONG, csrf_of, make_user, sign_in

PRIVATE = [
    "http://127.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://2130706433/",
    "http://localhost:8000/",
    "http://10.1.2.3/a",
]


def _jobs(ws) -> int:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.query(Job).count()


def test_the_form_refuses_each_private_line_and_queues_nothing(app_ws, client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    text = "https://example.org/post/1\n" + "\n".join(PRIVATE)
    response = client.post("/intake/capture", data={"csrf": csrf_of(client.get("/intake").text), "urls": text})
    assert response.status_code == 422
    for line in range(2, len(PRIVATE) + 2):
        assert f"{line}번째 줄: 수집하지 않음:" in response.text, line
    assert "1번째 줄" not in response.text and "사설·내부 네트워크 주소" in response.text
    assert "169.254.169.254" in response.text  # the lines come back as typed
    assert _jobs(app_ws) == 0
    sign_in(client, make_user(app_ws, "bo", "analyst", password=STRONG), lang="en")
    english = client.post("/intake/capture", data={"csrf": csrf_of(client.get("/intake").text), "urls": PRIVATE[0]})
    assert english.status_code == 422 and "Line 1: Not captured: http://127.0.0.1/ leads to a private" in english.text
    assert _jobs(app_ws) == 0


def test_the_allowlist_lets_a_private_host_through(app_ws, client, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    csrf = csrf_of(client.get("/intake").text)
    still = client.post("/intake/capture", data={"csrf": csrf, "urls": "http://127.0.0.2/"})
    assert still.status_code == 422 and _jobs(app_ws) == 0  # only what is allowed
    allowed = client.post("/intake/capture", data={"csrf": csrf, "urls": "http://127.0.0.1:9/page"})
    assert allowed.status_code == 303 and _jobs(app_ws) == 1


def test_the_api_refuses_a_private_address_with_its_code(app_ws, client):  # type: ignore[no-untyped-def]
    from idolguard.web.accounts import create_token

    make_user(app_ws, "ana", "analyst", password=STRONG)
    token = create_token(app_ws, "ana", "write", "1d", by="test")
    headers = {"authorization": f"Bearer {token}"}
    for url in ("http://169.254.169.254/latest/", "http://[::1]:8080/"):
        refused = client.post("/api/v1/captures", json={"urls": ["https://example.org/p", url]}, headers=headers)
        assert refused.status_code == 422, refused.text
        body = refused.json()["error"]
        assert body["reason"] == "capture.private_address" and body["params"]["url"] == url, body
    assert _jobs(app_ws) == 0
