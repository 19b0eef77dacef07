"""Multipart uploads that never reach a disk as plaintext, in bounded memory.

Starlette parses ``multipart/form-data`` into ``SpooledTemporaryFile``s: up to 1 MiB per file part in memory,
then an unlinked file in the system temp folder (``/tmp``), in plaintext unless ``/tmp`` happens to be a
tmpfs. For an encrypted workspace that is a copy of each uploaded original outside the workspace's control.

Routes built with :class:`SealedRoute` parse forms with :class:`SealedMultiPartParser` instead when the
workspace's vault is encrypted: every file part goes into a :class:`SealedSpool`, an unlinked file in the
vault's own ``tmp/`` folder (same filesystem and permissions as the vault), encrypted as it is written
(``crypto.SegmentWriter``, IGV1 format) under a random key that exists only in this process's memory. A
crash leaves nothing readable (the file is unlinked at once and its key dies with the process); memory per
part is one 1 MiB segment. The route then reads the part back (decrypted segment by segment) and spools it
into the job's folder under the vault key (``uploads.store``). Every other form limit (``max_files``,
``max_fields``, ``max_part_size``) is Starlette's, as given by the route.

Nothing of the body is read before the request may send it. A route's gate (:func:`gated`; the API upload's
bearer token and role) runs before the handler, which is where FastAPI would parse a form with ``File``/``Form``
parameters; pages check sign-in and role in their dependency before the CSRF token (``deps.need_csrf``). A
page form's CSRF token comes from the ``X-CSRF-Token`` header, or from the ``csrf`` field, which must then come
before any file part (browsers send fields in page order; every upload form starts with it): a file part that
arrives before a matching token ends the request with 403 before a byte of it is spooled
(:class:`CsrfBeforeFiles`).

The whole body is limited too (``[web] max_upload_bytes`` plus 1 MiB for the other fields and the multipart
framing): FastAPI parses a route's form *before* its dependencies run, so without a limit anyone, signed in or
not, could stream an endless body into the spool on the vault's filesystem. A declared ``Content-Length`` over
the limit is refused before a byte is read; a chunked body is counted as it arrives and cut off at the limit
(its parts closed at once). Either way the answer is 413 ("The upload is too large.", KO/EN on web pages).

Only file forms get that limit. A route that takes files (:func:`takes_files`, and every :func:`gated` one)
refuses any other body with 415 before reading it, and every url-encoded form, on any route, is limited to
``FORM_LIMIT`` (1 MiB) by :class:`FormBodyLimit` (413 "The form is too large."): Starlette reads such a form
into memory whole, so without it a signed-in user could make an upload route hold ``max_upload_bytes`` of
form in memory. Any other body on a :class:`SealedRoute` (every API and page route: the JSON of cases, links, notices,
decisions; or any other content type, which FastAPI also reads whole) is limited to ``SMALL_BODY_LIMIT``
(1 MiB) the same way, declared or counted, before the token is checked (FastAPI reads the body first). The
limit follows the route, not the client's ``Content-Type``: a multipart body sent to a route that takes no
files gets the small limit too (FastAPI reads a JSON route's body whole whatever its label):
413 :class:`RequestTooLarge`, with the typed code ``request.too_large`` and the limit (the API's ``reason``
and ``params``; pages say it from the shared catalog).
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idolguard.errors import ErrorCode
from idolguard.evidence import crypto

log = logging.getLogger(__name__)
PREFIX = "part"
CSRF_FAILED = "The form expired or came from another site (CSRF check failed). Reload and retry."
IN_MEMORY = 1024 * 1024  # ciphertext bytes a part keeps in memory before it gets a (nameless) file
BODY_MARGIN = 1024 * 1024  # the non-file fields and multipart framing around the files
FORM_LIMIT = 1024 * 1024  # a url-encoded form (sign-in, decisions, notes): read into memory whole
# Any other body that is not a file form (the API's JSON: cases, links, notices, decisions) is read into memory
# whole and parsed there too: a decision or a notice is a few kilobytes, a megabyte is generous.
SMALL_BODY_LIMIT = 1024 * 1024
FORM_TOO_LARGE = "The form is too large."
NOT_MULTIPART = "Files must be sent as a multipart form (multipart/form-data)."


class BodyTooLarge(MultiPartException):
    """The request body went over the upload limit; parsing stops and every part spooled so far is closed."""

    def __init__(self) -> None:
        super().__init__("The upload is too large.")


class SealedSpool:
    """A write-then-read temporary file for one uploaded part (see the module docstring). Supports what the
    form parser and ``uploads.store`` use: ``write``, ``seek(0)``, ``read``, ``tell`` and ``close``."""

    def __init__(self, folder: Path) -> None:
        # Ciphertext stays in memory until the part outgrows one segment: a form of many tiny parts never
        # holds a descriptor per part (which could exhaust the process's descriptors).
        self._folder = folder
        self._file: BinaryIO = io.BytesIO()
        self._key = os.urandom(32)
        self._writer: crypto.SegmentWriter | None = crypto.SegmentWriter(self._key, self._file)
        self._reader: Iterator[bytes] | None = None
        self._buffer = b""
        self._written = 0
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        if self._writer is None:
            raise ValueError("a sealed upload part is written once, then read")
        self._writer.write(bytes(data))
        if isinstance(self._file, io.BytesIO) and self._file.tell() > IN_MEMORY:
            self._to_disk()
        self._written += len(data)
        self._position = self._written
        return len(data)

    def _to_disk(self) -> None:
        fd, name = tempfile.mkstemp(dir=self._folder, prefix=f"{PREFIX}-{os.getpid()}-")
        os.unlink(name)  # nameless from the start: nothing to clean up after a crash
        on_disk = os.fdopen(fd, "w+b")
        assert isinstance(self._file, io.BytesIO) and self._writer is not None
        on_disk.write(self._file.getbuffer())
        self._file = on_disk
        self._writer.retarget(on_disk)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if (offset, whence) != (0, os.SEEK_SET):
            raise ValueError("a sealed upload part can only be rewound to its start")
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._file.flush()
        self._file.seek(0)
        self._reader = crypto.decrypt_stream(self._key, self._file, "upload part")
        self._buffer = b""
        self._position = 0
        return 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._reader is None:
            self.seek(0)
        assert self._reader is not None
        want = None if size is None or size < 0 else size
        while want is None or len(self._buffer) < want:
            segment = next(self._reader, None)
            if segment is None:
                break
            self._buffer += segment
        if want is None:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:want], self._buffer[want:]
        self._position += len(out)
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._file.close()

    def __enter__(self) -> SealedSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class CsrfNotFirst(MultiPartException):
    """A file part began before a ``csrf`` field matching the session's token: refused before it is spooled."""

    def __init__(self) -> None:
        super().__init__(CSRF_FAILED)


class CsrfBeforeFiles(MultiPartParser):
    """Starlette's parser that, when ``csrf`` (the session's token) is given, refuses the first file part unless
    a ``csrf`` field holding that token came before it. Fields before it are bounded (``BODY_MARGIN`` bytes), so
    at most that much is read before the request is known to be genuine."""

    def __init__(
        self, headers: Headers, stream: AsyncGenerator[bytes, None], *, csrf: str | None = None, **limits: Any
    ) -> None:
        super().__init__(headers, stream, **limits)
        self.csrf = csrf
        self._before_token = 0

    def _token_seen(self) -> bool:
        from idolguard.web import security

        assert self.csrf is not None
        return any(
            name == "csrf" and isinstance(value, str) and security.same(value, self.csrf) for name, value in self.items
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.csrf is not None and self._current_part.file is None and not self._token_seen():
            self._before_token += end - start
            if self._before_token > BODY_MARGIN:
                raise CsrfNotFirst()
        super().on_part_data(data, start, end)

    def on_headers_finished(self) -> None:
        if self.csrf is not None:
            _, options = parse_options_header(self._current_part.content_disposition)
            if b"filename" in options and not self._token_seen():
                raise CsrfNotFirst()
        super().on_headers_finished()


class SealedMultiPartParser(CsrfBeforeFiles):
    """The parser with each file part's spool replaced by a :class:`SealedSpool` in ``folder``."""

    def __init__(self, headers: Headers, stream: AsyncGenerator[bytes, None], *, folder: Path, **limits: Any) -> None:
        super().__init__(headers, stream, **limits)
        self.folder = folder

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        upload = self._current_part.file
        if upload is None:
            return
        spooled = upload.file
        sealed = SealedSpool(self.folder)
        upload.file = sealed  # type: ignore[assignment]
        upload._max_mem_size = 0  # never "in memory": writes and reads go through the thread pool
        spooled.close()  # still empty: nothing was written to it
        self._files_to_close_on_error[-1] = sealed  # type: ignore[call-overload]


def body_limit(request: Request) -> int:
    """The most bytes a request body may carry on a file-upload route: the workspace's upload limit plus a
    margin for the other fields."""
    from idolguard.web import uploads

    ws = getattr(request.app.state, "ws", None)
    limit = ws.config.section("web").get("max_upload_bytes") if ws is not None else None
    return int(limit or uploads.MAX_TOTAL_BYTES) + BODY_MARGIN


def spool_folder(request: Request) -> Path | None:
    """The vault's ``tmp/`` when the workspace encrypts at rest, else None (Starlette's own spooling)."""
    ws = getattr(request.app.state, "ws", None)
    if ws is None or not ws.vault.encrypted:
        return None
    folder: Path = ws.vault.tmp
    return folder


class SealedRequest(Request):
    async def _get_form(
        self, *, max_files: int | float = 1000, max_fields: int | float = 1000, max_part_size: int = 1024 * 1024
    ) -> FormData:
        if self._form is None and self.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            folder = spool_folder(self)
            try:
                async with aclosing(self.stream()) as stream:
                    limits: dict[str, Any] = {
                        "max_files": max_files,
                        "max_fields": max_fields,
                        "max_part_size": max_part_size,
                        "csrf": getattr(self.state, "csrf_expected", None),  # set by deps._check (pages)
                    }
                    parser = (
                        CsrfBeforeFiles(self.headers, stream, **limits)
                        if folder is None
                        else SealedMultiPartParser(self.headers, stream, folder=folder, **limits)
                    )
                    self._form = await parser.parse()
            except BodyTooLarge as exc:
                raise HTTPException(status_code=413, detail=exc.message) from exc
            except CsrfNotFirst as exc:
                from idolguard.web.deps import Denied

                raise Denied(403, CSRF_FAILED) from exc
            except OSError as exc:  # out of descriptors or space: the parts spooled so far are closed already
                # Said as the upload route says the same condition (507, ``upload.not_stored``), and logged
                # for the admin the page sends: the error's kind and errno only, never the client's file name.
                from idolguard.error_messages import MESSAGES
                from idolguard.web.deps import Denied

                log.warning("an upload's parts could not be spooled: %s (errno %s)", type(exc).__name__, exc.errno)
                raise Denied(507, MESSAGES[ErrorCode.UPLOAD_NOT_STORED]) from exc
            except MultiPartException as exc:
                raise HTTPException(status_code=400, detail=exc.message) from exc
        return await super()._get_form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)


def _limited(receive: Receive, limit: int, too_large: Callable[[], Exception] = BodyTooLarge) -> Receive:
    """``receive`` that raises ``too_large()`` (:class:`BodyTooLarge` for a file form) once the body has carried
    more than ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large()
        return message

    return counted


_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


class RequestTooLarge(HTTPException):
    """A body that is not a file form (the API's JSON) over ``SMALL_BODY_LIMIT``: 413 with a typed code
    (``request.too_large``, said in Korean from ``locales/errcodes.ko.po``) and the limit, so a client can tell
    it from an upload over ``max_upload_bytes`` and say it in its reader's language."""

    code = ErrorCode.REQUEST_TOO_LARGE

    def __init__(self, limit: int) -> None:
        from idolguard.error_messages import MESSAGES

        super().__init__(status_code=413, detail=MESSAGES[self.code].format(limit=limit))
        self.params: dict[str, Any] = {"limit": limit}


class FormTooLarge(HTTPException):
    """A url-encoded form over ``FORM_LIMIT`` (raised while its body is read, so the route's handlers answer)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=FORM_TOO_LARGE)


def _is_urlencoded(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/x-www-form-urlencoded"
    return False


class FormBodyLimit:
    """ASGI middleware: a url-encoded request body may carry at most ``limit`` bytes. A declared
    ``Content-Length`` over it is refused at the first read of the body, before a byte is pulled; a chunked one
    once it has carried more. The error (:class:`FormTooLarge`) is raised inside the route, so pages answer in
    the reader's language and the API as JSON; a route that never reads its body is not affected."""

    def __init__(self, app: ASGIApp, limit: int = FORM_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_urlencoded(scope.get("headers") or []):
            await self.app(scope, receive, send)
            return
        try:
            declared = int(Headers(scope=scope).get("content-length") or 0)
        except ValueError:
            declared = 0
        seen, limit = 0, self.limit

        async def counted() -> Message:
            nonlocal seen
            if declared > limit:
                raise FormTooLarge()
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise FormTooLarge()
            return message

        await self.app(scope, counted, send)


def takes_files(endpoint: _Endpoint) -> _Endpoint:
    """Mark a :class:`SealedRoute` endpoint that takes files: a body that is not ``multipart/form-data`` is
    refused with 415 before it is read (only a file form may be as large as ``max_upload_bytes``)."""
    endpoint.__dict__["takes_files"] = True
    return endpoint


Gate = Callable[[Request], Awaitable[object]]


def gated(check: Gate) -> Callable[[_Endpoint], _Endpoint]:
    """Give an upload endpoint the check (sign-in, role) that must pass before a byte of its body is read: its
    :class:`SealedRoute` awaits ``check(request)`` before the handler, so an anonymous or under-privileged
    request is answered (401/403) without the body being received, spooled or sealed. FastAPI would otherwise
    parse ``File``/``Form`` parameters before the route's dependencies run."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        endpoint.__dict__["upload_gate"] = check
        return takes_files(endpoint)

    return mark


class SealedRoute(APIRoute):
    """An API route whose request parses multipart forms with :class:`SealedMultiPartParser` (FastAPI's
    documented custom-route pattern: the handler gets a ``Request`` subclass), after its :func:`gated` check."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        gate: Gate | None = getattr(self.endpoint, "upload_gate", None)
        files = bool(getattr(self.endpoint, "takes_files", False)) and "POST" in (self.methods or set())

        async def sealed(request: Request) -> Response:
            if gate is not None:
                await gate(request)  # before any byte of the body is read
            multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
            if files and not multipart:
                raise HTTPException(status_code=415, detail=NOT_MULTIPART)  # nor of one that is not a file form
            # Only a route that takes files may receive an upload-sized body: chosen by the route, never by the
            # client's Content-Type (a JSON route labelled multipart is still read whole, before its token check).
            too_large: Callable[[], Exception]
            if files:
                limit, too_large = body_limit(request), BodyTooLarge
            elif _is_urlencoded(request.scope.get("headers") or []):
                limit, too_large = FORM_LIMIT, FormTooLarge  # the same answer as FormBodyLimit gives
            else:
                limit, too_large = SMALL_BODY_LIMIT, lambda: RequestTooLarge(SMALL_BODY_LIMIT)
            try:
                declared = int(request.headers.get("content-length") or 0)
            except ValueError:
                declared = 0
            if declared > limit:  # refused before a byte of the body is read
                raise HTTPException(status_code=413, detail="The upload is too large.") if files else too_large()
            wrapped = SealedRequest(request.scope, _limited(request.receive, limit, too_large))
            try:
                return await handler(wrapped)
            finally:
                await wrapped.close()  # the sealed parts (their descriptors) go with the request

        return sealed
