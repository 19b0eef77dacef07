"""Only a file form may be as large as ``max_upload_bytes``: a route that takes files refuses any other body
(415) before reading it, and a url-encoded form is limited to 1 MiB on every route (413, KO/EN), so a
signed-in user cannot make the server hold an upload-sized form in memory.

Real uvicorn on 127.0.0.1 and a raw-socket client: the headers declare a large url-encoded body and only a
first slice is sent; an answer that comes at once shows the body was not waited for (the client gives up
after 30 s otherwise). A chunked body with no declared length is cut off once it passes the limit."""

from __future__ import annotations

import socket

from idolguard.web import sealed_form

from .conftest import STRONG, make_user, page_csrf, sign_in
from .test_upload_gate import app_ws, port  # noqa: F401 - the fixtures: a real server on an encrypted workspace

DECLARED = 48 * 1024 * 1024  # under the upload limit of that workspace (64 MiB)


def _answer(conn: socket.socket) -> bytes:
    answer = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
        if length and len(rest) >= int(length[0].split(b":")[1]):
            break
    return answer


URLENCODED = "application/x-www-form-urlencoded"


def send_declared(
    to_port: int, path: str, headers: dict[str, str], start: bytes, content_type: str = URLENCODED
) -> tuple[int, bytes]:
    """A POST (url-encoded unless told) declaring ``DECLARED`` bytes, of which only ``start`` is sent."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{to_port}\r\nContent-Length: {DECLARED}\r\n"
    head += f"Content-Type: {content_type}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", to_port), timeout=30) as conn:
        conn.sendall(head.encode() + start)
        answer = _answer(conn)
    return int(answer.split(b" ", 2)[1]), answer


def send_chunked(
    to_port: int,
    path: str,
    headers: dict[str, str],
    total: int,
    content_type: str = URLENCODED,
    start: bytes | None = None,
) -> tuple[int, bytes]:
    """A POST (url-encoded unless told) sent chunked (no declared length), ``total`` bytes in 64 KiB chunks,
    stopping early if the server answers (or closes) first. JSON: one string that never ends; ``start``: what
    comes before the run of bytes instead (a multipart file part's headers: a file that never ends)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{to_port}\r\nTransfer-Encoding: chunked\r\n"
    head += f"Content-Type: {content_type}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    chunk = b"note=" + b"a" * (64 * 1024 - 5)
    if content_type != URLENCODED:
        chunk = b"a" * len(chunk)
        conn_start = b'{"n":"'
    else:
        conn_start = b""
    if start is not None:
        conn_start = start
    with socket.create_connection(("127.0.0.1", to_port), timeout=30) as conn:
        conn.sendall(head.encode())
        if conn_start:
            conn.sendall(f"{len(conn_start):x}\r\n".encode() + conn_start + b"\r\n")
        sent = 0
        try:
            while sent < total:
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest was never wanted
        answer = _answer(conn)
    return int(answer.split(b" ", 2)[1]), answer


def _signed_in(ws, client, role: str = "analyst") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    user = make_user(ws, f"u{role}", role, password=STRONG)
    sign_in(client, user, lang="ko")
    return f"ig_session={client.cookies.get('ig_session')}", page_csrf(client)


def test_upload_routes_refuse_a_url_encoded_body_before_reading_it(app_ws, port, client) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    from idolguard.web import accounts

    cookie, csrf = _signed_in(app_ws, client)
    start = f"csrf={csrf}&files=".encode() + b"a" * (256 * 1024)
    for path in ("/intake/upload", "/banks/debug"):
        status, answer = send_declared(port, path, {"Cookie": cookie, "X-CSRF-Token": csrf}, start)
        assert status == 415, (path, answer[:300])
        assert "multipart 양식".encode() in answer  # the reader's language (signed in in Korean)
    token = accounts.create_token(app_ws, "uanalyst", "write", "1d", by="test")
    status, answer = send_declared(port, "/api/v1/uploads", {"Authorization": f"Bearer {token}"}, start)
    assert status == 415 and b"unsupported_media_type" in answer


def test_url_encoded_forms_are_limited_on_every_route(app_ws, port, client) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    cookie, csrf = _signed_in(app_ws, client)
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    start = f"csrf={csrf}&body=".encode() + b"a" * 1024
    # Declared over the limit: answered at once, before the body (the client sent only ``start``).
    status, answer = send_declared(port, "/account/password", headers, start)
    assert status == 413, answer[:300]
    assert "양식 내용이 너무 깁니다".encode() in answer
    # Chunked, no declared length: cut off once past the limit (the client would send 8 MiB).
    status, answer = send_chunked(port, "/account/password", headers, 8 * 1024 * 1024)
    assert status == 413, answer[:300]
    # A form under the limit is read as before (here: a wrong current password, an ordinary answer).
    small = f"csrf={csrf}&current=wrong&new=x&again=x".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        head = f"POST /account/password HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(small)}\r\n"
        head += f"Content-Type: application/x-www-form-urlencoded\r\nCookie: {cookie}\r\n\r\n"
        conn.sendall(head.encode() + small)
        answer = _answer(conn)
    assert int(answer.split(b" ", 2)[1]) not in (413, 415)
    assert sealed_form.FORM_LIMIT == 1024 * 1024


def test_json_bodies_are_limited_to_a_megabyte_with_a_coded_413(app_ws, port, client) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    """The API's JSON (cases, links, notices, decisions) is read into memory whole, before the token is even
    checked: it gets the small limit, not the upload's (64 MiB here). Declared over it: 413 at once, to anyone;
    streamed: cut off past it. The answer carries the typed reason and the limit; a page says it in the reader's
    language. A body under the limit is read as before."""
    import json

    from idolguard.web import accounts

    limit = sealed_form.SMALL_BODY_LIMIT
    assert limit == 1024 * 1024 < 64 * 1024 * 1024
    make_user(app_ws, "counsel", "counsel", password=STRONG)
    token = accounts.create_token(app_ws, "counsel", "write", "1d", by="test")
    for headers in ({}, {"Authorization": f"Bearer {token}"}):  # anonymous too: the body comes before the token
        status, answer = send_declared(port, "/api/v1/cases", headers, b'{"title": "', "application/json")
        assert status == 413, answer[:300]
        error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
        assert error["code"] == "too_large" and error["reason"] == "request.too_large"
        assert error["params"] == {"limit": limit} and f"{limit} bytes" in error["message"]
    status, answer = send_chunked(
        port, "/api/v1/cases", {"Authorization": f"Bearer {token}"}, 8 * 1024 * 1024, "application/json"
    )
    assert status == 413 and json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["reason"] == "request.too_large"
    # Another content type is read whole by FastAPI just the same: the same limit.
    status, answer = send_declared(port, "/api/v1/cases", {}, b"x", "text/plain")
    assert status == 413 and b"request.too_large" in answer
    # Under the limit: read and answered as before (the artist is unknown here: not a size refusal).
    body = json.dumps({"title": "t" * 200, "artist": "Nobody", "note": "n" * (limit // 2)}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        head = f"POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
        head += f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n\r\n"
        conn.sendall(head.encode() + body)
        answer = _answer(conn)
    assert int(answer.split(b" ", 2)[1]) not in (413, 415), answer[:300]
    # A page route (Korean reader): the coded message from the shared catalog, with the limit.
    cookie, csrf = _signed_in(app_ws, client)
    status, answer = send_declared(
        port, "/banks/known_abuse/toggle", {"Cookie": cookie, "X-CSRF-Token": csrf}, b"{", "application/json"
    )
    assert status == 413, answer[:300]
    assert f"파일 업로드가 아닌 요청은 최대 {limit}바이트까지 받을 수 있습니다".encode() in answer


MULTIPART = "multipart/form-data; boundary=xx"
# A file part that never ends: a form route would spool it to disk, a JSON route read it into memory, whole.
ENDLESS_FILE = b'--xx\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'


def test_a_multipart_label_does_not_give_a_route_without_files_the_upload_limit(app_ws, port, client) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    """The limit follows the route, not the client's Content-Type. FastAPI reads a JSON route's body whole (and
    a form route's form) before the token or sign-in is checked, so a route that takes no files gets the small
    limit even when the body says it is a multipart form: anonymous, declared or chunked, it is refused at
    1 MiB, not read to the upload limit (64 MiB here; 2 GiB by default) and answered 401 after it. A route
    that takes files still receives an upload larger than the small limit."""
    import json

    from idolguard.web import accounts

    limit = sealed_form.SMALL_BODY_LIMIT
    # The API's JSON route, anonymous: declared (refused before the body) and chunked (cut off past 1 MiB of
    # the 8 MiB the client would send; read to the end, it would be answered 401).
    status, answer = send_declared(port, "/api/v1/cases", {}, b"--xx\r\n", MULTIPART)
    assert status == 413, answer[:300]
    error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert error["reason"] == "request.too_large" and error["params"] == {"limit": limit}
    status, answer = send_chunked(port, "/api/v1/cases", {}, 8 * 1024 * 1024, MULTIPART, ENDLESS_FILE)
    assert status == 413, answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["reason"] == "request.too_large"
    # Page routes without files: a sealed router's (known_abuse toggle) and a plain one's (sign-in, anonymous).
    cookie, csrf = _signed_in(app_ws, client)
    status, answer = send_declared(
        port, "/banks/known_abuse/toggle", {"Cookie": cookie, "X-CSRF-Token": csrf}, ENDLESS_FILE, MULTIPART
    )
    assert status == 413, answer[:300]
    assert f"{limit}바이트".encode() in answer  # the coded message, in the reader's language
    status, answer = send_chunked(port, "/login", {}, 8 * 1024 * 1024, MULTIPART, ENDLESS_FILE)
    assert status == 413, answer[:300]
    # A route that takes files still gets the upload limit: a 3 MiB upload is received and queued.
    token = accounts.create_token(app_ws, "uanalyst", "write", "1d", by="test")
    from .test_jobs import jpeg

    picture = jpeg(7)
    picture += b"\0" * (3 * 1024 * 1024 - len(picture))  # trailing bytes after the JPEG's end: still a JPEG
    body = b'--xx\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n'
    body += b"Content-Type: image/jpeg\r\n\r\n" + picture + b"\r\n--xx--\r\n"
    assert len(body) > limit
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        head = f"POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
        head += f"Content-Type: {MULTIPART}\r\nAuthorization: Bearer {token}\r\n\r\n"
        conn.sendall(head.encode() + body)
        answer = _answer(conn)
    assert int(answer.split(b" ", 2)[1]) == 202, answer[:300]
