"""An HTTP(S) client for hostile servers: SSRF-checked, byte- and time-bounded, recording every exchange.

Why not ``urllib``/``requests``: they resolve the host name again at connect time (DNS rebinding), follow
redirects without asking the SSRF guard, decode gzip without a size cap and have no wall-clock deadline.
Here each hop is checked by ``NetPolicy``, the socket connects to the IP that was checked (Host header and
TLS SNI still carry the name), a watchdog closes the socket when the per-URL deadline passes (slow-loris),
bodies are read in bounded chunks and decompression is capped (gzip bombs).

Each request/response is handed to observers as an ``Exchange`` with the body exactly as received (after
transfer-decoding, before content-decoding), which is what the WARC writer stores.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit

from idolguard.capture.errors import CaptureError, CaptureRefused, LimitExceeded
from idolguard.capture.netpolicy import NetPolicy, Target
from idolguard.errors import ErrorCode, code_of, error_params

CHUNK = 64 * 1024
SPOOL_BYTES = 4 * 1024 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
DECODABLE = {"gzip", "x-gzip", "deflate", "identity", ""}


@dataclass
class Exchange:
    """One request and its response as seen on the wire."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    started_at: datetime
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # as received: transfer-decoded, still content-encoded (empty when spooled to disk)
    body_file: Path | None = None  # large bodies live here instead (the capture's temp folder)
    body_size: int = 0
    truncated: bool = False
    server_ip: str | None = None
    server_port: int | None = None
    tls: dict[str, Any] | None = None
    elapsed_ms: int = 0
    error: str | None = None
    error_code: ErrorCode | None = None  # why the body stopped early, for pages in other languages

    def open_body(self) -> BinaryIO:
        """The body as received, from memory or from its spool file."""
        if self.body_file is not None:
            return open(self.body_file, "rb")  # noqa: SIM115 - the caller closes it
        return io.BytesIO(self.body)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.response_headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def location(self) -> str | None:
        if self.status in REDIRECT_STATUSES and self.header("location"):
            return urljoin(self.url, self.header("location") or "")
        return None

    def summary(self) -> dict[str, Any]:
        """The hop as recorded in the capture record's redirect chain."""
        return {
            "url": self.url,
            "status": self.status,
            "location": self.location,
            "server_ip": self.server_ip,
            "error": self.error,
        }


@dataclass
class FetchResult:
    """A GET with its redirect chain; ``error`` says why it stopped early (data before it is kept)."""

    requested_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None
    refused: bool = False
    error_code: ErrorCode | None = None  # ``error`` as a stable code (``idolguard.errors``) and its values
    error_params: dict[str, Any] = field(default_factory=dict)

    def stop(self, error: BaseException | str, code: ErrorCode | None = None, **params: Any) -> None:
        """Record why the fetch stopped: the English text and its code (from the error, else ``code``)."""
        self.error = str(error)
        if isinstance(error, BaseException):
            self.error_code, self.error_params = code or code_of(error), {**error_params(error), **params}
        else:
            self.error_code, self.error_params = code or ErrorCode.CAPTURE_FAILED, params

    @property
    def final(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def final_url(self) -> str:
        return self.final.url if self.final else self.requested_url


class Budget:
    """What one URL's capture may still spend: bytes across all fetches and a wall-clock deadline."""

    def __init__(self, max_total_bytes: int, timeout_s: float) -> None:
        self.max_total_bytes = max_total_bytes
        self.used_bytes = 0
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def check_time(self, what: str) -> None:
        if self.remaining_s() <= 0:
            raise LimitExceeded(
                f"time limit of {self.timeout_s:g} s per URL reached during {what}", code=ErrorCode.CAPTURE_TIME_LIMIT
            )

    def remaining_bytes(self) -> int:
        return max(0, self.max_total_bytes - self.used_bytes)


class _Connection(http.client.HTTPConnection):
    """Connects to a pre-checked IP while keeping the host name for the Host header."""

    def __init__(self, target: Target, ip: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.ip = ip
        # http.client drops ``self.sock`` once a response owns the connection; the watchdog needs the socket.
        self.raw_socket: socket.socket | None = None

    def connect(self) -> None:
        self.sock = socket.create_connection((self.ip, self.port), self.timeout)
        self.raw_socket = self.sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _TLSConnection(_Connection):
    """TLS to a pre-checked IP with SNI/verification against the host name; records the peer chain."""

    def __init__(self, target: Target, ip: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target, ip, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        # An IP literal is matched against IP SANs (and no SNI is sent); a name against DNS SANs.
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host.strip("[]"))


def _verifying_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _untrusting_context() -> ssl.SSLContext:
    """Used only after verification failed, so the page can still be preserved and marked untrusted."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_info(sock: ssl.SSLSocket, trusted: bool, verify_error: str | None, sni: str) -> dict[str, Any]:
    """Protocol, cipher and the peer certificate chain (PEM + SHA-256/SHA-1 fingerprints)."""
    from cryptography import x509

    ders: list[bytes] = []
    try:
        chain = sock._sslobj.get_unverified_chain() or []  # type: ignore[union-attr]
        ders = [cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in chain]  # type: ignore[attr-defined]
    except (AttributeError, ssl.SSLError):
        leaf = sock.getpeercert(binary_form=True)
        ders = [leaf] if leaf else []
    certs = []
    for der in ders:
        entry: dict[str, Any] = {
            "sha256": hashlib.sha256(der).hexdigest(),
            "sha1": hashlib.sha1(der, usedforsecurity=False).hexdigest(),
            "pem": ssl.DER_cert_to_PEM_cert(der),
        }
        try:
            cert = x509.load_der_x509_certificate(der)
            entry.update(
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                serial=format(cert.serial_number, "x"),
                not_before=cert.not_valid_before_utc.isoformat(),
                not_after=cert.not_valid_after_utc.isoformat(),
            )
        except ValueError as exc:
            entry["parse_error"] = str(exc)
        certs.append(entry)
    cipher = sock.cipher()
    return {
        "version": sock.version(),
        "cipher": cipher[0] if cipher else None,
        "sni": sni,
        "trusted": trusted,
        "verify_error": verify_error,
        "chain": certs,
    }


class SafeFetcher:
    """Makes SSRF-checked, bounded HTTP(S) requests and reports each exchange to observers."""

    def __init__(
        self,
        policy: NetPolicy,
        budget: Budget,
        *,
        max_redirects: int = 10,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 20.0,
        user_agent: str = "IdolGuard",
    ) -> None:
        self.policy = policy
        self.budget = budget
        self.max_redirects = max_redirects
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.user_agent = user_agent
        self.observers: list[Callable[[Exchange], None]] = []
        self._untrusted_hosts: dict[tuple[str, int], str] = {}
        # Where bodies over SPOOL_BYTES go instead of memory (None: keep in memory, bounded by max_bytes).
        self.spool_dir: Path | None = None

    # -- one hop ---------------------------------------------------------------------------------------
    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int,
        timeout_s: float | None = None,
        keep_partial: bool = False,
    ) -> Exchange:
        """One request, no redirects. Raises before a response exists; afterwards errors go in ``.error``.

        ``timeout_s`` caps this request below the per-URL deadline (the browser gives each asset its share).
        ``keep_partial`` reads the first ``max_bytes`` of a body declared larger (a page) instead of skipping
        it at once (a media file too large to be useful).
        """
        target = self.policy.check_url(url)
        self.budget.check_time(f"request to {url}")
        if self.budget.remaining_bytes() <= 0:
            raise LimitExceeded(
                f"total download limit of {self.budget.max_total_bytes} bytes per URL reached",
                code=ErrorCode.CAPTURE_SIZE_LIMIT,
            )
        request_headers = self._headers(target, headers, body)
        exchange = Exchange(url, method, request_headers, body, datetime.now(UTC))
        started = time.monotonic()
        limit_s = min(self.budget.remaining_s(), timeout_s if timeout_s is not None else float("inf"))
        conn, response = self._open(target, method, request_headers, body, exchange, limit_s)
        try:
            self._read_body(conn, response, exchange, max_bytes, keep_partial)
        finally:
            exchange.elapsed_ms = int((time.monotonic() - started) * 1000)
            conn.close()
        for observer in self.observers:
            observer(exchange)
        return exchange

    def _headers(self, target: Target, extra: dict[str, str] | None, body: bytes | None) -> list[tuple[str, str]]:
        host = target.host if ":" not in target.host else f"[{target.host}]"
        default_port = 443 if target.scheme == "https" else 80
        headers = {
            "Host": host if target.port == default_port else f"{host}:{target.port}",
            "User-Agent": self.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/*,video/*,*/*;q=0.8",
            "Accept-Encoding": "gzip, deflate",
            "Accept-Language": "en;q=0.9,ko;q=0.8",
            "Connection": "close",
        }
        for key, value in (extra or {}).items():
            canonical = next((k for k in headers if k.lower() == key.lower()), key)
            if canonical.lower() in ("host", "connection", "accept-encoding", "content-length"):
                continue
            headers[canonical] = value
        if body is not None:
            headers["Content-Length"] = str(len(body))
        return list(headers.items())

    def _open(
        self,
        target: Target,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        exchange: Exchange,
        limit_s: float,
    ) -> tuple[_Connection, http.client.HTTPResponse]:
        last_error: Exception | None = None
        deadline = time.monotonic() + limit_s
        for ip in target.ips:
            timeout = max(0.1, min(self.connect_timeout_s, deadline - time.monotonic()))
            for trusted in (True, False):
                if trusted and (target.host, target.port) in self._untrusted_hosts:
                    continue
                conn = self._connection(target, ip, timeout, trusted)
                watchdog = _Watchdog(conn, deadline - time.monotonic(), limit_s)
                try:
                    conn.connect()
                    if isinstance(conn.sock, ssl.SSLSocket):
                        exchange.tls = tls_info(
                            conn.sock, trusted, self._untrusted_hosts.get((target.host, target.port)), target.host
                        )
                    conn.sock.settimeout(min(self.read_timeout_s, max(0.1, limit_s)))
                    conn.putrequest(method, _request_target(target.url), skip_host=True, skip_accept_encoding=True)
                    for key, value in headers:
                        conn.putheader(key, value)
                    conn.endheaders(body)
                    response = conn.getresponse()
                except ssl.SSLCertVerificationError as exc:
                    watchdog.cancel()
                    conn.close()
                    self._untrusted_hosts[(target.host, target.port)] = exc.verify_message or str(exc)
                    last_error = exc
                    continue  # retry without verification; the exchange is recorded as untrusted
                except ValueError as exc:  # e.g. a header value with a line break: never sent
                    watchdog.cancel()
                    conn.close()
                    raise CaptureRefused(
                        f"refused {target.url}: invalid request ({exc})", code=ErrorCode.CAPTURE_INVALID_URL
                    ) from exc
                except (OSError, http.client.HTTPException) as exc:
                    watchdog.cancel()
                    conn.close()
                    last_error = exc
                    # The watchdog thread can run late on a loaded machine, after the socket's own timeout
                    # (set to the same limit) has already fired: past the deadline it is the time limit either way.
                    if watchdog.fired or time.monotonic() >= deadline:
                        raise LimitExceeded(
                            f"time limit of {watchdog.limit_s:.1f} s reached waiting for {target.url}",
                            code=ErrorCode.CAPTURE_TIME_LIMIT,
                        ) from exc
                    break  # try the next address
                exchange.server_ip, exchange.server_port = ip, target.port
                exchange.status, exchange.reason = response.status, response.reason
                exchange.http_version = "HTTP/1.0" if response.version == 10 else "HTTP/1.1"
                exchange.response_headers = [(k, v) for k, v in response.getheaders()]
                conn._idolguard_watchdog = watchdog  # type: ignore[attr-defined]
                return conn, response
        raise CaptureError(
            f"cannot fetch {target.url}: {_describe(last_error)}", code=ErrorCode.CAPTURE_UNREACHABLE, host=target.host
        )

    def _connection(self, target: Target, ip: str, timeout: float, trusted: bool) -> _Connection:
        if target.scheme == "https":
            context = _verifying_context() if trusted else _untrusting_context()
            return _TLSConnection(target, ip, timeout, context)
        return _Connection(target, ip, timeout)

    def _read_body(
        self,
        conn: _Connection,
        response: http.client.HTTPResponse,
        exchange: Exchange,
        max_bytes: int,
        keep_partial: bool,
    ) -> None:
        watchdog: _Watchdog = conn._idolguard_watchdog  # type: ignore[attr-defined]
        declared = response.getheader("content-length")
        sink = _Sink(self.spool_dir)
        size = 0
        try:
            if not keep_partial and declared and declared.isdigit() and int(declared) > max_bytes:
                exchange.truncated = True
                exchange.error = f"response declares {declared} bytes, over the per-file limit of {max_bytes}"
                exchange.error_code = ErrorCode.CAPTURE_SIZE_LIMIT
                return
            while True:
                cap = min(max_bytes, size + self.budget.remaining_bytes())
                # read1: return what has arrived instead of waiting for a full chunk, so a body dripped by a
                # slow server is kept up to the moment the deadline shuts the socket (read() would lose it when
                # the socket's timeout fires first, as it can on a loaded machine).
                chunk = response.read1(min(CHUNK, cap - size + 1))
                if not chunk:
                    break
                if size + len(chunk) > cap:
                    keep = cap - size
                    sink.write(chunk[:keep])
                    size += keep
                    self.budget.used_bytes += keep
                    exchange.truncated = True
                    exchange.error_code = ErrorCode.CAPTURE_SIZE_LIMIT
                    if cap == max_bytes:
                        exchange.error = (
                            f"response exceeds the per-file limit of {max_bytes} bytes (kept the first part)"
                        )
                    else:
                        exchange.error = f"total download limit of {self.budget.max_total_bytes} bytes per URL reached"
                    break
                size += len(chunk)
                sink.write(chunk)
                self.budget.used_bytes += len(chunk)
            if watchdog.fired:  # a read-until-close body ends silently when the watchdog shuts the socket
                exchange.truncated = True
                exchange.error_code = ErrorCode.CAPTURE_TIME_LIMIT
                exchange.error = f"time limit of {watchdog.limit_s:.1f} s reached while reading the body"
        except LimitExceeded as exc:
            exchange.truncated = True
            exchange.error, exchange.error_code = str(exc), code_of(exc)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            exchange.truncated = True
            exchange.error_code = ErrorCode.CAPTURE_TIME_LIMIT if watchdog.fired else ErrorCode.CAPTURE_FAILED
            if watchdog.fired:
                exchange.error = f"time limit of {watchdog.limit_s:.1f} s reached while reading the body"
            else:
                exchange.error = f"connection failed while reading the body: {_describe(exc)}"
        finally:
            watchdog.cancel()
            exchange.body, exchange.body_file, exchange.body_size = sink.finish()

    # -- with redirects ----------------------------------------------------------------------------------
    def get(
        self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None, keep_partial: bool = False
    ) -> FetchResult:
        """GET following redirects (each hop SSRF-checked); never raises for capture errors."""
        result = FetchResult(url)
        seen: set[str] = set()
        current = url
        for _hop in range(self.max_redirects + 1):
            seen.add(current)
            try:
                exchange = self.request(current, headers=headers, max_bytes=max_bytes, keep_partial=keep_partial)
            except CaptureRefused as exc:
                result.stop(exc)
                if current != url:
                    result.error = f"redirect refused: {exc}"
                result.refused = True
                return result
            except CaptureError as exc:
                result.stop(exc)
                return result
            result.exchanges.append(exchange)
            if exchange.error:
                result.stop(exchange.error, exchange.error_code)
                return result
            nxt = exchange.location
            if nxt is None:
                return result
            if nxt in seen:
                result.stop(f"redirect loop: {exchange.url} redirects back to {nxt}", ErrorCode.CAPTURE_REDIRECTS)
                return result
            current = nxt
        result.stop(f"too many redirects (limit {self.max_redirects})", ErrorCode.CAPTURE_REDIRECTS)
        return result


class _Watchdog:
    """Shuts a socket down when the per-URL deadline passes, unblocking a read stuck on a slow server."""

    def __init__(self, conn: _Connection, seconds: float, limit_s: float) -> None:
        self.conn = conn
        self.limit_s = limit_s
        self.fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self.conn.raw_socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def _request_target(url: str) -> str:
    """Path and query as sent on the request line; non-ASCII characters are percent-encoded (UTF-8)."""
    parts = urlsplit(url)
    safe = "/%:@!$&'()*+,;=-._~?"
    path = quote(parts.path or "/", safe=safe)
    return f"{path}?{quote(parts.query, safe=safe)}" if parts.query else path


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no address could be reached"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text


def decode_body(exchange: Exchange, max_bytes: int) -> bytes:
    """The content-decoded body in memory, refusing to inflate beyond ``max_bytes`` (gzip/deflate bombs)."""
    return b"".join(decoded_chunks(exchange, max_bytes))


def decode_to_file(exchange: Exchange, max_bytes: int, dest: Path) -> int:
    """Stream the content-decoded body into ``dest`` (large media never sit in memory); returns its size."""
    size = 0
    with open(dest, "wb") as out:
        for chunk in decoded_chunks(exchange, max_bytes):
            out.write(chunk)
            size += len(chunk)
    return size


def decoded_chunks(exchange: Exchange, max_bytes: int) -> Iterator[bytes]:
    """The content-decoded body in chunks; identity bodies pass through, gzip/deflate inflate with a cap."""
    encoding = (exchange.header("content-encoding") or "").strip().lower()
    if encoding not in DECODABLE:
        raise CaptureError(f"unsupported content-encoding {encoding!r} for {exchange.url}")
    with exchange.open_body() as raw:
        if encoding in ("", "identity"):
            while chunk := raw.read(CHUNK):
                yield chunk
            return
        head = raw.read(2)
        raw.seek(0)
        if encoding == "deflate":
            # RFC 9110 says zlib-wrapped; some servers send raw deflate: the zlib header tells them apart.
            zlib_wrapped = len(head) == 2 and head[0] & 0x0F == 8 and (head[0] * 256 + head[1]) % 31 == 0
            wbits = zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS
        else:
            wbits = zlib.MAX_WBITS | 32
        try:
            yield from _inflate(raw, wbits, max_bytes)
        except zlib.error as exc:
            raise CaptureError(f"corrupt {encoding} body from {exchange.url}: {exc}") from exc


def _inflate(raw: BinaryIO, wbits: int, max_bytes: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    size = 0

    def counted(chunk: bytes) -> bytes:
        nonlocal size
        size += len(chunk)
        if size > max_bytes:
            raise LimitExceeded(
                f"decompressed body exceeds {max_bytes} bytes (compression bomb?)", code=ErrorCode.CAPTURE_SIZE_LIMIT
            )
        return chunk

    while data := raw.read(CHUNK):
        pending = data
        while pending:
            chunk = inflater.decompress(pending, CHUNK)
            yield counted(chunk)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                return
    yield counted(inflater.flush())


class _Sink:
    """Collects a body in memory, moving it to a temp file once it passes ``SPOOL_BYTES``."""

    def __init__(self, spool_dir: Path | None) -> None:
        self.spool_dir = spool_dir
        self.parts: list[bytes] = []
        self.size = 0
        self.file: BinaryIO | None = None
        self.path: Path | None = None

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.file is not None:
            self.file.write(chunk)
            return
        self.parts.append(chunk)
        if self.spool_dir is not None and self.size > SPOOL_BYTES:
            handle, name = tempfile.mkstemp(dir=self.spool_dir, prefix="body-")
            self.file = os.fdopen(handle, "wb")
            self.path = Path(name)
            self.file.write(b"".join(self.parts))
            self.parts = []

    def finish(self) -> tuple[bytes, Path | None, int]:
        if self.file is not None:
            self.file.close()
            return b"", self.path, self.size
        return b"".join(self.parts), None, self.size
