"""Capture one URL end to end, recording each step in the custody ledger as it completes.

Order: SSRF check -> fetch the page (redirects recorded) -> parse context and media links (yt-dlp for the
sites it knows) -> download media and ingest them as evidence items -> render screenshot + PDF in Chromium
(every browser request answered from the same fetcher, so what is shown is what is archived) -> WARC + WACZ
-> manifest (ingested as an item; artifacts are its derived objects) -> RFC 3161 timestamps -> done.
A failing step adds an error and the capture goes on; whatever was preserved before a limit is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from idolguard import __version__
from idolguard.capture import archive, tsa
from idolguard.capture.browser import RENDER_FORMS, BrowserPool, render
from idolguard.capture.errors import CaptureError, CaptureRefused, LimitExceeded
from idolguard.capture.extract import MediaLink, PageInfo, decode_html, parse_page, platform_for
from idolguard.capture.fetch import Budget, Exchange, FetchResult, SafeFetcher, decode_body, decode_to_file
from idolguard.capture.models import Capture, CaptureMedia
from idolguard.capture.netpolicy import NetPolicy
from idolguard.capture.settings import CaptureSettings
from idolguard.coded_text import coded, recognise
from idolguard.db.base import utcnow
from idolguard.db.models import DerivedObject
from idolguard.errors import ErrorCode, code_of, error_params
from idolguard.evidence.actions import Action
from idolguard.intake.ingest import Ingestor, SightingInfo
from idolguard.media.sniff import sniff_bytes
from idolguard.workspace import Workspace

CAPTURE_VERSION = "1"
MANIFEST_FORMAT = "idolguard-capture-manifest/1"
TSA_TIMEOUT_S = 30.0
DROP_TO_BROWSER = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
FORWARD_FROM_BROWSER_SKIP = {"host", "connection", "accept-encoding", "content-length", "cookie2", "upgrade"}


@dataclass
class MediaOutcome:
    url: str
    via: str
    sha256: str | None = None
    media_type: str | None = None
    mime: str | None = None
    size: int | None = None
    error: str | None = None  # why the file was not kept, in English (stored as evidence)
    # ... and its stable code and values (``idolguard.errors.ErrorCode``): said in the reader's language
    error_code: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)

    def fail(self, text: str, code: ErrorCode | str, **params: Any) -> None:
        """Record why this file was not kept: the English ``text`` and its code with the values it names."""
        self.error, self.error_code, self.error_params = text, str(code), params

    def public(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "mime": self.mime,
            "size": self.size,
            "via": self.via,
            "error": self.error,
            "error_code": self.error_code,
            "error_params": self.error_params if self.error_code else None,
        }


@dataclass
class CaptureOutcome:
    """What ``capture --json`` prints for one URL."""

    url: str
    capture_id: int | None = None
    final_url: str | None = None
    status: int | None = None
    state: str = "running"
    captured_at: datetime = field(default_factory=utcnow)
    server_ip: str | None = None
    redirect_chain: list[dict[str, Any]] = field(default_factory=list)
    title: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    tls: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    screenshot_sha256: str | None = None
    pdf_sha256: str | None = None
    page_sha256: str | None = None
    warc_sha256: str | None = None
    wacz_sha256: str | None = None
    wacz_path: str | None = None
    media: list[MediaOutcome] = field(default_factory=list)
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    blocked_requests: list[dict[str, str]] = field(default_factory=list)
    browser: dict[str, Any] = field(default_factory=dict)  # requests, popups closed, downloads refused
    errors: list[str] = field(default_factory=list)
    # Stable codes (``idolguard.errors.ErrorCode``) and values of the errors that have one, by their index in
    # ``errors``: pages in other languages explain the first error from its code, not its English text.
    error_codes: dict[int, tuple[ErrorCode, dict[str, Any]]] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return self.errors[0] if self.errors else None

    @property
    def error_code(self) -> ErrorCode | None:
        """The first error's code (None when it has none, or there is no error)."""
        return self.error_codes[0][0] if 0 in self.error_codes else None

    @property
    def error_params(self) -> dict[str, Any]:
        return self.error_codes[0][1] if 0 in self.error_codes else {}

    def add_error(self, error: BaseException | str, code: ErrorCode | None = None, **params: Any) -> None:
        """Record an error with its code (an exception's own, else ``code``)."""
        if isinstance(error, BaseException):
            code, params = code or code_of(error), {**error_params(error), **params}
        if code is not None:
            self.error_codes[len(self.errors)] = (code, params)
        self.errors.append(str(error))

    def coded_errors(self) -> list[dict[str, Any] | None]:
        """Each error's code and values (``{"code", "params"}``) or ``None``, in the order of ``errors``: what
        ``captures.error_codes`` stores beside the English texts."""
        found = (self.error_codes.get(index) for index in range(len(self.errors)))
        return [coded(str(code[0]), **code[1]) if code else None for code in found]

    def public(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "capture_id": self.capture_id,
            "final_url": self.final_url,
            "status": self.status,
            "state": self.state,
            "captured_at": self.captured_at.isoformat(),
            "server_ip": self.server_ip,
            "redirect_chain": self.redirect_chain,
            "title": self.title,
            "context": self.context,
            "tls_trusted": None if self.tls is None else self.tls.get("trusted"),
            "manifest_sha256": self.manifest_sha256,
            "screenshot_sha256": self.screenshot_sha256,
            "pdf_sha256": self.pdf_sha256,
            "page_sha256": self.page_sha256,
            "warc_sha256": self.warc_sha256,
            "wacz_sha256": self.wacz_sha256,
            "wacz_path": self.wacz_path,
            "media": [m.public() for m in self.media],
            "timestamps": self.timestamps,
            "blocked_requests": len(self.blocked_requests),
            "browser": self.browser,
            "error": self.error,
            "errors": self.errors,
            "error_codes": self.coded_errors(),
        }


class CaptureJob:
    """The state of one URL's capture; ``run`` never raises for capture problems."""

    def __init__(
        self,
        ws: Workspace,
        url: str,
        settings: CaptureSettings,
        pool: BrowserPool | None,
        note: str | None,
        analyze_media: bool,
        policy: NetPolicy | None = None,
    ) -> None:
        self.ws = ws
        self.url = url.strip()
        self.settings = settings
        self.pool = pool
        self.note = note
        self.analyze_media = analyze_media
        self.policy = policy or NetPolicy(settings.allow)
        self.budget = Budget(settings.max_total_bytes, settings.timeout_s)
        self.fetcher = self._fetcher(self.budget)
        self.out = CaptureOutcome(self.url)
        self.cache: dict[str, Exchange] = {}
        self.fetcher.observers.append(self._remember)
        self.artifacts: dict[str, dict[str, Any]] = {}
        self.page: PageInfo | None = None
        self.final: Exchange | None = None  # the page's response (None when the fetch never reached one)
        self.page_exchange: Exchange | None = None  # what the WACZ page list points at

    def _fetcher(self, budget: Budget) -> SafeFetcher:
        s = self.settings
        return SafeFetcher(
            self.policy,
            budget,
            max_redirects=s.max_redirects,
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            user_agent=s.user_agent,
        )

    def _remember(self, exchange: Exchange) -> None:
        if exchange.method == "GET" and exchange.url not in self.cache:
            self.cache[exchange.url] = exchange

    # -- driver ------------------------------------------------------------------------------------------
    def run(self) -> CaptureOutcome:
        self._start()
        try:
            return self._run()
        except Exception as exc:  # noqa: BLE001 - one broken capture must not lose the others or its record
            self.out.add_error(f"internal error during capture: {exc!r}", ErrorCode.CAPTURE_INTERNAL)
            try:
                self._finish("error")
            except Exception:  # noqa: BLE001 - the database itself failed; the outcome still reports it
                self.out.state = "error"
            return self.out

    def _run(self) -> CaptureOutcome:
        try:
            self.policy.check_url(self.url)
        except CaptureRefused as exc:
            self.out.add_error(exc)
            self._finish("refused")
            return self.out
        with tempfile.TemporaryDirectory(prefix="idolguard-capture-") as tmp_name:
            tmp = Path(tmp_name)
            self.fetcher.spool_dir = tmp / "spool"
            self.fetcher.spool_dir.mkdir()
            recorder = archive.WarcRecorder(tmp / f"capture-{self.out.capture_id}.warc.gz")
            self.fetcher.observers.append(recorder)
            try:
                result = self.fetcher.get(self.url, max_bytes=self.settings.max_html_bytes, keep_partial=True)
                self._record_fetch(result)
                if self.final is not None:
                    self._media(self._links(), tmp)
                    self._render(recorder)
                recorder.add_metadata(f"urn:idolguard:capture:{self.out.capture_id}", self._context_record())
            finally:
                recorder.close()
            if not result.exchanges:  # nothing answered: nothing to archive
                self._finish("refused" if result.refused else "error")
                return self.out
            self.page_exchange = self.final or result.exchanges[-1]
            self._archive(recorder, tmp)
            self._manifest(tmp)
            self._timestamp()
        if self.final is None:
            self._finish("error")
            return self.out
        self._finish("partial" if self.out.errors else "ok")
        return self.out

    # -- steps -------------------------------------------------------------------------------------------
    def _start(self) -> None:
        with self.ws.write() as (session, ledger):
            row = Capture(
                requested_url=self.url,
                state="running",
                captured_at=self.out.captured_at,
                actor=self.ws.actor,
                note=self.note,
            )
            session.add(row)
            session.flush()
            self.out.capture_id = row.id
            ledger.append(
                Action.CAPTURE_START,
                details={"capture_id": row.id, "url": self.url, "note": self.note, "tool": f"IdolGuard {__version__}"},
            )

    def _record_fetch(self, result: FetchResult) -> None:
        self.out.redirect_chain = [e.summary() for e in result.exchanges]
        if result.error:
            self.out.add_error(result.error, result.error_code, **result.error_params)
        final = result.final
        if final is None or final.status is None:
            return
        if final.location is not None:  # stopped on a redirect (loop, limit, refused target): no page
            self.out.final_url, self.out.status, self.out.server_ip = final.url, final.status, final.server_ip
            self.final = None
            return
        self.final = final
        out = self.out
        out.final_url, out.status, out.server_ip, out.tls = final.url, final.status, final.server_ip, final.tls
        if final.status >= 400:  # still preserved: a "gone" page at capture time is evidence too
            out.add_error(
                f"the page answered HTTP {final.status} {final.reason}".rstrip(),
                ErrorCode.CAPTURE_HTTP_STATUS,
                status=final.status,
            )
        if final.tls is not None and not final.tls.get("trusted"):
            reason = final.tls.get("verify_error")
            out.add_error(
                f"TLS certificate not trusted: {reason} (captured anyway)",
                ErrorCode.CAPTURE_TLS_UNTRUSTED,
                reason=reason,
            )
        try:
            body = decode_body(final, self.settings.max_html_bytes)
        except CaptureError as exc:
            out.add_error(f"page body: {exc}", ErrorCode.CAPTURE_PAGE_BODY)
            with final.open_body() as raw:  # keep the bytes as served (bounded by the page cap)
                body = raw.read()
        self._store_artifact("page", body, final.content_type or "application/octet-stream")
        out.page_sha256 = self.artifacts["page"]["sha256"]
        sniffed = sniff_bytes(body[:512])
        if sniffed.media_type in ("image", "video") or final.content_type.startswith(("image/", "video/")):
            self.page = PageInfo(title=None, context={"platform": platform_for(final.url)})
            self.page.media = [MediaLink(final.url, "direct", sniffed.media_type)]
        else:
            self.page = parse_page(decode_html(body, final.header("content-type")), final.url, max_media=1000)
        out.title = self.page.title
        out.context = {k: v for k, v in self.page.context.items() if v}
        with self.ws.write() as (_session, ledger):
            ledger.append(
                Action.CAPTURE_FETCH,
                item=out.page_sha256,
                details={
                    "capture_id": out.capture_id,
                    "final_url": out.final_url,
                    "http_status": out.status,
                    "server_ip": out.server_ip,
                    "hops": len(result.exchanges),
                    "page_sha256": out.page_sha256,
                    "truncated": final.truncated,
                    "tls_trusted": None if final.tls is None else final.tls.get("trusted"),
                    "tls_leaf_sha256": (final.tls or {}).get("chain", [{}])[0].get("sha256") if final.tls else None,
                },
            )

    def _context_record(self) -> dict[str, Any]:
        """What the archive alone should tell a replay user about this visit (the manifest has the rest)."""
        return {
            "capture_id": self.out.capture_id,
            "requested_url": self.url,
            "final_url": self.out.final_url,
            "captured_at": self.out.captured_at.isoformat(),
            "actor": self.ws.actor,
            "redirect_chain": self.out.redirect_chain,
            "page": {"title": self.out.title, "context": self.out.context},
            "media": [m.public() for m in self.out.media],
            "browser": self.out.browser,
            "blocked_requests": self.out.blocked_requests,
            "errors": self.out.errors,
            "tool": f"IdolGuard {__version__}",
        }

    def _links(self) -> list[MediaLink]:
        assert self.page is not None
        links = list(self.page.media)
        if self.settings.ytdlp and self.settings.media:
            from idolguard.capture import ytdlp

            extractor = ytdlp.extractor_for(self.url)
            if extractor is not None:
                try:
                    found = ytdlp.extract(self.url, self.fetcher, self.settings)
                    self.out.context.update({k: v for k, v in found.context.items() if v})
                    links = found.media + [m for m in links if m.url not in {f.url for f in found.media}]
                except CaptureError as exc:
                    self.out.add_error(f"yt-dlp ({extractor}): {exc}", ErrorCode.CAPTURE_EXTRACTOR, extractor=extractor)
        if not self.settings.media:
            return []
        if len(links) > self.settings.max_media:
            skipped = len(links) - self.settings.max_media
            self.out.add_error(
                f"media limit of {self.settings.max_media} files per URL reached; {skipped} more links skipped",
                ErrorCode.CAPTURE_MEDIA_LIMIT,
                limit=self.settings.max_media,
                skipped=skipped,
            )
        return links[: self.settings.max_media]

    def _media(self, links: list[MediaLink], tmp: Path) -> None:
        if not links:
            return
        folder = tmp / "media"
        folder.mkdir()
        stored: list[tuple[MediaOutcome, Path]] = []
        for index, link in enumerate(links):
            media = MediaOutcome(link.url, link.via)
            self.out.media.append(media)
            try:
                exchange = self._get_cached(link.url, self.settings.max_file_bytes, link.headers)
                if exchange.truncated or exchange.error:
                    message = exchange.error or "download incomplete"
                    limit = any(k in message for k in ("limit", "timed out"))
                    raise LimitExceeded(message) if limit else CaptureError(message)
                if exchange.status != 200:
                    raise CaptureError(
                        f"HTTP {exchange.status}", code=ErrorCode.CAPTURE_MEDIA_HTTP, status=exchange.status
                    )
                path = folder / f"{index:03d}-download"
                decode_to_file(exchange, self.settings.max_file_bytes, path)  # streamed: never all in memory
            except LimitExceeded as exc:
                if "total download limit" in str(exc) or "time limit" in str(exc):
                    # the rest of the page's media are skipped: the reader is told how many were not captured
                    skipped = len(links) - index - 1
                    media.fail(str(exc), ErrorCode.CAPTURE_MEDIA_BUDGET, url=link.url, skipped=skipped)
                    self.out.add_error(
                        f"media {link.url}: {exc}", ErrorCode.CAPTURE_MEDIA_BUDGET, url=link.url, skipped=skipped
                    )
                    for rest in links[index + 1 :]:
                        later = MediaOutcome(rest.url, rest.via)
                        later.fail(f"skipped: {exc}", ErrorCode.CAPTURE_MEDIA_SKIPPED)
                        self.out.media.append(later)
                    break
                media.fail(str(exc), ErrorCode.CAPTURE_MEDIA_DOWNLOAD)
                self.out.add_error(f"media {link.url}: {exc}", ErrorCode.CAPTURE_MEDIA_FAILED, url=link.url)
                continue
            except CaptureError as exc:
                if isinstance(exc, CaptureRefused):
                    media.fail(str(exc), ErrorCode.CAPTURE_MEDIA_REFUSED)
                elif code_of(exc) is ErrorCode.CAPTURE_MEDIA_HTTP:
                    media.fail(str(exc), ErrorCode.CAPTURE_MEDIA_HTTP, **error_params(exc))
                else:
                    media.fail(str(exc), ErrorCode.CAPTURE_MEDIA_DOWNLOAD)
                continue
            with open(path, "rb") as handle:
                sniffed = sniff_bytes(handle.read(512))
            if sniffed.media_type not in ("image", "video"):
                mime = exchange.content_type or sniffed.mime
                media.fail(f"not an image or video ({mime})", ErrorCode.CAPTURE_MEDIA_NOT_MEDIA, mime=mime)
                path.unlink()
                continue
            named = path.rename(folder / f"{index:03d}-{_file_name(link.url, sniffed.mime)}")
            stored.append((media, named))
        self._ingest_media(stored)

    def _get_cached(self, url: str, max_bytes: int, headers: dict[str, str] | None = None) -> Exchange:
        cached = self.cache.get(url)
        if cached is not None and cached.location is None and not cached.truncated:
            return cached  # e.g. a direct media URL fetched as "the page" (a truncated page is fetched again)
        result = self.fetcher.get(url, max_bytes=max_bytes, headers=headers or None)
        if result.final is None:
            if result.refused:
                raise CaptureRefused(result.error or "refused")
            raise CaptureError(result.error or "no response")
        if result.error and not result.final.error:
            raise CaptureError(result.error)
        return result.final

    def _ingest_media(self, stored: list[tuple[MediaOutcome, Path]]) -> None:
        """Ingest all media in one batch; the sighting's source is the post (each file's own URL is linked
        in ``capture_media`` and its custody event)."""
        context = self.out.context
        info = SightingInfo(
            source_url=self.out.final_url or self.url,
            platform=context.get("platform"),
            account=context.get("author_handle"),
            seen_at=self.out.captured_at,
            note=f"capture #{self.out.capture_id} of {self.url}" + (f" ({self.note})" if self.note else ""),
        )
        by_name = {path.name: media for media, path in stored}  # names are unique: index-prefixed
        shas: list[str] = []
        for result in Ingestor(self.ws, info).ingest([path for _media, path in stored]):
            media = by_name.get(Path(result.path).name)
            if media is None:
                continue
            if result.error or not result.sha256:  # refused at intake (its own code: empty, too large...)
                code = result.error_code or ErrorCode.CAPTURE_MEDIA_NOT_STORED
                media.fail(
                    result.error or "not stored", code, **((result.error_params or {}) if result.error_code else {})
                )
                continue
            media.sha256, media.size = result.sha256, result.size
            media.media_type, media.mime = result.media_type, result.mime
            shas.append(result.sha256)
        with self.ws.write() as (session, ledger):
            for media in self.out.media:
                session.add(
                    CaptureMedia(
                        capture_id=self.out.capture_id,
                        url=media.url,
                        via=media.via[:32],
                        item_sha256=media.sha256,
                        media_type=media.media_type,
                        error=media.error,
                        error_code=media.error_code,
                        error_params=media.error_params if media.error_code else None,
                    )
                )
                if media.sha256:
                    ledger.append(
                        Action.CAPTURE_MEDIA,
                        item=media.sha256,
                        details={"capture_id": self.out.capture_id, "url": media.url, "via": media.via},
                    )
        if shas and self.analyze_media:
            from idolguard.pipeline.runner import analyze

            analyze(self.ws, list(dict.fromkeys(shas)))

    def _browser_fetch(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, seconds: float
    ) -> tuple[int, dict[str, str], bytes | Path]:
        """Answer a browser request from the cache or the fetcher, following redirects here.

        Chromium does not accept a fulfilled redirect, so each hop is fetched (and SSRF-checked) by us and
        the browser gets the final response; the hops are still archived.
        """
        forward = {k: v for k, v in headers.items() if k.lower() not in FORWARD_FROM_BROWSER_SKIP}
        seen: set[str] = set()
        current = url
        while True:
            exchange = self.cache.get(current) if method in ("GET", "HEAD") else None
            if exchange is None or exchange.status is None:
                exchange = self.fetcher.request(
                    current,
                    method=method,
                    headers=forward,
                    body=body,
                    max_bytes=self.settings.max_file_bytes,
                    timeout_s=seconds,
                )
            seen.add(current)
            nxt = exchange.location
            if nxt is None:
                break
            if nxt in seen or len(seen) > self.settings.max_redirects:
                raise CaptureError(f"redirect loop or too many redirects from {url}")
            current = nxt
            if exchange.status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", None
        content: bytes | Path
        if exchange.body_file is not None and self.fetcher.spool_dir is not None:
            handle, name = tempfile.mkstemp(dir=self.fetcher.spool_dir, prefix="browser-")
            os.close(handle)
            content = Path(name)
            decode_to_file(exchange, self.settings.max_file_bytes, content)  # a large video: from disk
        else:
            content = decode_body(exchange, self.settings.max_file_bytes)
        merged: dict[str, str] = {}
        for key, value in exchange.response_headers:
            lowered = key.lower()
            if lowered in DROP_TO_BROWSER:
                continue
            merged[lowered] = f"{merged[lowered]}\n{value}" if lowered in merged else value
        return exchange.status or 502, merged, content

    def _render(self, recorder: archive.WarcRecorder) -> None:
        if not self.settings.browser or self.pool is None:
            return
        reason = self.pool.unavailable_reason()
        if reason:
            self.out.add_error(f"screenshot skipped: {reason}", ErrorCode.CAPTURE_NO_BROWSER)
            return
        seconds = min(self.settings.browser_timeout_s, max(1.0, self.budget.remaining_s()))
        try:
            rendered = render(
                self.pool,
                self.out.final_url or self.url,  # the redirect chain was recorded by the HTTP fetch
                self._browser_fetch,
                timeout_s=seconds,
                max_requests=self.settings.max_browser_requests,
                user_agent=self.settings.user_agent,
                max_height=self.settings.screenshot_max_height,
            )
        except CaptureError as exc:
            self.out.add_error(f"browser: {exc}", ErrorCode.CAPTURE_BROWSER)
            return
        self.out.blocked_requests = rendered.blocked
        self.out.browser = {
            "version": self.pool.version,
            "requests": rendered.requests,
            "blocked": len(rendered.blocked),
            "popups_closed": rendered.popups_closed,
            "downloads_refused": rendered.downloads_refused,
        }
        for problem in rendered.errors:  # the browser's text, said from its code (``browser.RENDER_FORMS``)
            found = recognise(problem, RENDER_FORMS) or coded(str(ErrorCode.CAPTURE_BROWSER))
            self.out.add_error(f"browser: {problem}", ErrorCode(found["code"]), **found["params"])
        target = self.out.final_url or self.url
        if rendered.screenshot:
            self._store_artifact("screenshot", rendered.screenshot, "image/png")
            self.out.screenshot_sha256 = self.artifacts["screenshot"]["sha256"]
            recorder.add_resource(f"urn:screenshot:{target}", rendered.screenshot, "image/png")
        if rendered.pdf:
            self._store_artifact("pdf", rendered.pdf, "application/pdf")
            self.out.pdf_sha256 = self.artifacts["pdf"]["sha256"]
            recorder.add_resource(f"urn:pdf:{target}", rendered.pdf, "application/pdf")
        with self.ws.write() as (_session, ledger):
            ledger.append(
                Action.CAPTURE_RENDER,
                item=self.out.screenshot_sha256,
                details={
                    "capture_id": self.out.capture_id,
                    "screenshot_sha256": self.out.screenshot_sha256,
                    "pdf_sha256": self.out.pdf_sha256,
                    "browser": f"Chromium {self.pool.version}",
                    "requests": rendered.requests,
                    "blocked_requests": len(rendered.blocked),
                    "popups_closed": rendered.popups_closed,
                    "downloads_refused": rendered.downloads_refused,
                    "errors": rendered.errors[:10],
                },
            )

    def _archive(self, recorder: archive.WarcRecorder, tmp: Path) -> None:
        warc_path = recorder.path
        self._store_artifact("warc", warc_path.read_bytes(), "application/warc")
        self.out.warc_sha256 = self.artifacts["warc"]["sha256"]
        if self.settings.wacz and self.page_exchange is not None:
            wacz = tmp / f"capture-{self.out.capture_id}.wacz"
            try:
                archive.build_wacz(
                    warc_path,
                    wacz,
                    url=self.page_exchange.url,
                    title=self.out.title,
                    captured_at=self.page_exchange.started_at,
                )
                self._store_artifact("wacz", wacz.read_bytes(), "application/wacz")
                self.out.wacz_sha256 = self.artifacts["wacz"]["sha256"]
                self.out.wacz_path = self._export_wacz(wacz)
            except CaptureError as exc:
                self.out.add_error(str(exc), ErrorCode.CAPTURE_ARCHIVE)
        with self.ws.write() as (_session, ledger):
            ledger.append(
                Action.CAPTURE_ARCHIVE,
                item=self.out.wacz_sha256 or self.out.warc_sha256,
                details={
                    "capture_id": self.out.capture_id,
                    "warc_sha256": self.out.warc_sha256,
                    "warc_records": recorder.records,
                    "wacz_sha256": self.out.wacz_sha256,
                    "wacz_path": self.out.wacz_path,
                },
            )

    def _export_wacz(self, wacz: Path) -> str | None:
        """A plain copy the user can open in ReplayWeb.page; skipped when evidence is encrypted at rest."""
        if self.ws.vault.encrypted:
            return None
        folder = self.ws.home / "captures"
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"capture-{self.out.capture_id}-{self.out.wacz_sha256[:12]}.wacz"  # type: ignore[index]
        if not dest.exists():
            shutil.copyfile(wacz, dest)
            dest.chmod(0o444)
        return str(dest)

    def _manifest(self, tmp: Path) -> None:
        out = self.out
        final = self.final
        manifest = {
            "format": MANIFEST_FORMAT,
            "capture_id": out.capture_id,
            "tool": {"name": "IdolGuard", "version": __version__, "browser": self.pool.version if self.pool else None},
            "actor": self.ws.actor,
            "note": self.note,
            "requested_url": self.url,
            "final_url": out.final_url,
            "captured_at": out.captured_at.isoformat(),
            "manifest_written_at": datetime.now(UTC).isoformat(),
            "redirect_chain": out.redirect_chain,
            "http": {
                "status": out.status,
                "reason": final.reason if final else None,
                "version": final.http_version if final else None,
                "headers": [list(h) for h in final.response_headers] if final else [],
                "server_ip": out.server_ip,
                "server_port": final.server_port if final else None,
                "truncated": final.truncated if final else None,
            },
            "tls": out.tls,
            "page": {"title": out.title, "context": out.context, "meta": self.page.meta if self.page else {}},
            "artifacts": self.artifacts,
            "media": [m.public() for m in out.media],
            "blocked_requests": out.blocked_requests,
            "browser": out.browser,
            "errors": out.errors,
            "limits": self.settings.recorded(),
        }
        data = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
        path = tmp / f"capture-{out.capture_id}-manifest.json"
        path.write_bytes(data)
        info = SightingInfo(
            source_url=self.url,
            platform=out.context.get("platform"),
            account=out.context.get("author_handle"),
            seen_at=out.captured_at,
            note=f"capture #{out.capture_id} manifest" + (f" ({self.note})" if self.note else ""),
        )
        results = list(Ingestor(self.ws, info).ingest([path]))
        if not results or results[0].error or not results[0].sha256:
            out.add_error(
                f"manifest not stored: {results[0].error if results else 'unknown'}", ErrorCode.CAPTURE_MANIFEST
            )
            return
        out.manifest_sha256 = results[0].sha256
        with self.ws.write() as (session, ledger):
            for kind, artifact in self.artifacts.items():
                self._derived(session, artifact["sha256"], f"capture_{kind}", artifact["mime"])
            ledger.append(
                Action.CAPTURE_MANIFEST,
                item=out.manifest_sha256,
                details={
                    "capture_id": out.capture_id,
                    "artifacts": {k: v["sha256"] for k, v in self.artifacts.items()},
                    "media": [m.sha256 for m in out.media if m.sha256],
                },
            )

    def _derived(self, session: Any, sha: str, kind: str, mime: str) -> None:
        assert self.out.manifest_sha256 is not None
        exists = session.execute(
            select(DerivedObject.id).where(
                DerivedObject.sha256 == sha,
                DerivedObject.parent_sha256 == self.out.manifest_sha256,
                DerivedObject.kind == kind,
            )
        ).first()
        if exists is None:
            session.add(
                DerivedObject(
                    sha256=sha,
                    parent_sha256=self.out.manifest_sha256,
                    kind=kind,
                    stage="capture",
                    stage_version=CAPTURE_VERSION,
                    mime=mime,
                    meta={"capture_id": self.out.capture_id},
                )
            )

    def _timestamp(self) -> None:
        if not self.settings.tsa_urls or self.out.manifest_sha256 is None:
            return
        data = self.ws.vault.read_bytes(self.out.manifest_sha256)
        budget = Budget(tsa.MAX_REPLY_BYTES * (len(self.settings.tsa_urls) + 1), TSA_TIMEOUT_S * 2)
        fetcher = self._fetcher(budget)
        for url in self.settings.tsa_urls:
            try:
                result = tsa.timestamp(fetcher, url, data, timeout_s=TSA_TIMEOUT_S)
            except CaptureRefused as exc:
                result = tsa.TimestampResult(url, ok=False, error=str(exc))
            token_sha = None
            if result.token:
                token_sha = self.ws.vault.put_bytes(result.token).sha256
            record = result.record(token_sha)
            self.out.timestamps.append(record)
            if not result.ok:
                self.out.add_error(f"timestamp from {url} failed: {result.error}", ErrorCode.CAPTURE_TIMESTAMP, tsa=url)
            with self.ws.write() as (session, ledger):
                if token_sha:
                    self._derived(session, token_sha, "capture_tsa_token", "application/timestamp-token")
                ledger.append(
                    Action.CAPTURE_TIMESTAMP,
                    item=self.out.manifest_sha256,
                    details={"capture_id": self.out.capture_id, **record},
                )

    def _store_artifact(self, kind: str, data: bytes, mime: str) -> None:
        put = self.ws.vault.put_bytes(data)
        self.artifacts[kind] = {"sha256": put.sha256, "size": put.size, "mime": mime}

    def _finish(self, state: str) -> None:
        out = self.out
        out.state = state
        with self.ws.write() as (session, ledger):
            row = session.get(Capture, out.capture_id)
            assert row is not None
            row.state = state
            row.final_url = out.final_url
            row.http_status = out.status
            row.finished_at = utcnow()
            row.server_ip = out.server_ip
            row.redirect_chain = out.redirect_chain
            row.response_headers = [list(h) for h in self.final.response_headers] if self.final else []
            row.tls = out.tls
            row.page_title = out.title
            row.context = out.context
            row.artifacts = self.artifacts
            row.manifest_sha256 = out.manifest_sha256
            row.screenshot_sha256 = out.screenshot_sha256
            row.wacz_sha256 = out.wacz_sha256
            row.timestamps = out.timestamps
            row.errors = out.errors
            row.error_codes = out.coded_errors()  # beside the texts, in their order
            row.error = out.error
            ledger.append(
                Action.CAPTURE_FINISH,
                item=out.manifest_sha256,
                details={
                    "capture_id": out.capture_id,
                    "url": self.url,
                    "state": state,
                    "final_url": out.final_url,
                    "http_status": out.status,
                    "manifest_sha256": out.manifest_sha256,
                    "media": len([m for m in out.media if m.sha256]),
                    "timestamps_ok": len([t for t in out.timestamps if t.get("ok")]),
                    "error": out.error,
                },
            )


def _file_name(url: str, mime: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "media"
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:80] or "media"
    if "." not in name:
        name += "." + mime.split("/")[-1]
    return name


def capture_urls(
    ws: Workspace,
    urls: list[str],
    settings: CaptureSettings,
    *,
    pool: BrowserPool | None = None,
    note: str | None = None,
    analyze_media: bool = True,
) -> list[CaptureOutcome]:
    """Capture each URL in turn with one shared browser; one outcome per URL, in order."""
    own_pool = pool is None and settings.browser
    if own_pool:
        pool = BrowserPool(settings.chromium_path)
    try:
        return [CaptureJob(ws, url, settings, pool, note, analyze_media).run() for url in urls]
    finally:
        if own_pool and pool is not None:
            pool.close()
