"""Sign-in, role and CSRF are checked before an upload's body is read: an anonymous or under-privileged request
(or a page form whose file part comes before a valid CSRF token) is answered at once, without the server
receiving, spooling or sealing the body.

Real uvicorn on 127.0.0.1 and a raw-socket client that sends the headers (declaring a large body) and only a
first slice of the body, then waits for the answer: if the server wanted the body, no answer would come (the
client gives up after 30 s and the test fails). The server counts the body bytes the app pulled and the bytes
it spooled (sealed); both must be 0 for a request refused by sign-in or role."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.web import accounts, sealed_form
from idolguard.web.models import Job
from idolguard.workspace import Workspace

from .conftest import STRONG, encrypted_workspace, make_user, page_csrf, sign_in
from .test_jobs import jpeg

BOUNDARY = "gateboundary"
DECLARED = 48 * 1024 * 1024  # under the limit below: the size check alone would let it in


@pytest.fixture
def app_ws(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    ws = encrypted_workspace(tmp_path, db_url, monkeypatch)
    ws.config.raw["web"] = {"max_upload_bytes": 64 * 1024 * 1024}
    yield ws
    ws.close()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Body bytes the app pulled from the server, and bytes written to sealed spools."""
    seen = {"received": 0, "spooled": 0}
    real_limited, real_write = sealed_form._limited, sealed_form.SealedSpool.write

    def limited(receive, limit, *how):  # type: ignore[no-untyped-def]
        async def counting():  # type: ignore[no-untyped-def]
            message = await receive()
            seen["received"] += len(message.get("body", b""))
            return message

        return real_limited(counting, limit, *how)

    def write(self, data):  # type: ignore[no-untyped-def]
        seen["spooled"] += len(data)
        return real_write(self, data)

    monkeypatch.setattr(sealed_form, "_limited", limited)
    monkeypatch.setattr(sealed_form.SealedSpool, "write", write)
    return seen


@pytest.fixture
def port(app_ws: Workspace) -> Iterator[int]:
    import uvicorn

    from idolguard.web.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        number = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(app_ws), host="127.0.0.1", port=number, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield number
    server.should_exit = True
    thread.join(timeout=10)


def file_first_body(first: bytes, *, csrf: str | None = None) -> bytes:
    """The start of a multipart body: an optional ``csrf`` field, then a file part beginning with ``first``."""
    out = b""
    if csrf is not None:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'.encode()
    out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'.encode()
    return out + b"Content-Type: image/jpeg\r\n\r\n" + first


def send_start(port: int, path: str, headers: dict[str, str], start: bytes) -> tuple[int, bytes]:
    """Send the headers (declaring ``DECLARED`` bytes) and ``start`` only; the status and head of the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {DECLARED}\r\n"
    head += f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode() + start)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)  # no answer while the server waits for the rest of the body: times out
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def test_refused_uploads_are_answered_before_the_body_is_read(app_ws, port, counted, client) -> None:  # type: ignore[no-untyped-def]
    start = file_first_body(jpeg(1) + os.urandom(256 * 1024))
    vera = make_user(app_ws, "vera", "viewer", password=STRONG)
    ana = make_user(app_ws, "ana", "analyst", password=STRONG)
    viewer_token = accounts.create_token(app_ws, "vera", "read", "1d", by="test")

    # API, no token / a viewer's token: 401 / 403 before a byte of the body is pulled.
    status, answer = send_start(port, "/api/v1/uploads", {}, start)
    assert status == 401 and b"www-authenticate" in answer.lower()
    status, _ = send_start(port, "/api/v1/uploads", {"Authorization": f"Bearer {viewer_token}"}, start)
    assert status == 403
    assert counted == {"received": 0, "spooled": 0}

    # Page, not signed in (a JSON client gets 401; a browser the sign-in redirect) and a viewer with a valid
    # CSRF header: refused before the body.
    status, _ = send_start(port, "/intake/upload", {"Accept": "application/json"}, start)
    assert status == 401
    status, answer = send_start(port, "/intake/upload", {}, start)
    assert status == 303 and b"location: /login" in answer.lower()
    sign_in(client, vera)
    counted["received"] = 0  # the sign-in form's own body (every page route counts through sealed_form now)
    viewer_csrf = page_csrf(client)
    cookie = f"ig_session={client.cookies.get('ig_session')}"
    status, _ = send_start(port, "/intake/upload", {"Cookie": cookie, "X-CSRF-Token": viewer_csrf}, start)
    assert status == 403
    assert counted == {"received": 0, "spooled": 0}

    # An analyst may upload, but the form's file part comes before any CSRF token (or after a wrong one):
    # refused at that part's headers, nothing spooled.
    client.cookies.clear()
    sign_in(client, ana)
    cookie = f"ig_session={client.cookies.get('ig_session')}"
    status, _ = send_start(port, "/intake/upload", {"Cookie": cookie}, start)
    assert status == 403
    status, _ = send_start(port, "/intake/upload", {"Cookie": cookie}, file_first_body(jpeg(2), csrf="forged"))
    assert status == 403
    assert counted["spooled"] == 0
    assert counted["received"] <= 2 * len(start)  # at most the slices sent, never the declared 48 MiB
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert not (app_ws.home / "uploads").exists() or not any((app_ws.home / "uploads").iterdir())
    assert list(app_ws.vault.tmp.iterdir()) == []  # (sealed parts are nameless: ``spooled`` above counts them)
