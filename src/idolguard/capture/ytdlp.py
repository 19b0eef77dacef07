"""Media in original quality from the sites yt-dlp knows (video platforms hide files behind APIs and players).

yt-dlp is used as a library and only for URLs a dedicated (non-generic) extractor claims: the generic
extractor would crawl arbitrary hosts and embedded URLs. All of yt-dlp's HTTP goes through a request
handler backed by our SSRF-checked fetcher (the only handler its director gets), so an extractor following
an API answer or an embed to an internal address is refused like anything else. yt-dlp only *extracts*;
the chosen file is downloaded by the capture's fetcher (progressive HTTP formats only: streams that need
ffmpeg are reported, not fetched).
"""

from __future__ import annotations

import contextvars
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from idolguard.capture.errors import CaptureError
from idolguard.capture.extract import MediaLink
from idolguard.capture.fetch import SafeFetcher, decode_body
from idolguard.capture.settings import CaptureSettings

MAX_API_BYTES = 16 * 1024 * 1024
FORMAT = "best[protocol=https][vcodec!=none]/best[protocol=http][vcodec!=none]/best[protocol^=http]/best"
_ACTIVE: contextvars.ContextVar[SafeFetcher] = contextvars.ContextVar("idolguard_ytdlp_fetcher")


@dataclass
class Found:
    media: list[MediaLink] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


# Extractors an agency adds for platforms yt-dlp lacks (``register_extractor``); tried before the built-ins.
EXTRA_EXTRACTORS: list[type] = []


def register_extractor(extractor: type) -> None:
    """Add a yt-dlp ``InfoExtractor`` subclass; its HTTP goes through the same SSRF-checked fetcher."""
    if extractor not in EXTRA_EXTRACTORS:
        EXTRA_EXTRACTORS.append(extractor)


@cache
def _builtin_extractors() -> tuple[Any, ...]:
    from yt_dlp.extractor import gen_extractor_classes

    return tuple(ie for ie in gen_extractor_classes() if ie.ie_key() != "Generic")


def _extractors() -> tuple[Any, ...]:
    return (*EXTRA_EXTRACTORS, *_builtin_extractors())


def extractor_for(url: str) -> str | None:
    """The dedicated yt-dlp extractor for this URL, or None (the generic extractor is never used)."""
    try:
        for ie in _extractors():
            if ie.suitable(url) and ie.working():
                return str(ie.ie_key())
    except ImportError:
        return None
    return None


def _handler_class() -> type:
    from yt_dlp.networking.common import RequestHandler, Response
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    class IdolGuardSafeRH(RequestHandler):
        """yt-dlp request handler that sends everything through the capture's SSRF-checked fetcher."""

        _SUPPORTED_URL_SCHEMES = ("http", "https")
        _SUPPORTED_PROXY_SCHEMES = None  # proxies are ignored: we always connect to the checked IP
        _SUPPORTED_FEATURES = ()

        def _check_extensions(self, extensions: dict[str, Any]) -> None:
            super()._check_extensions(extensions)
            for key in ("cookiejar", "timeout", "legacy_ssl", "keep_header_casing"):
                extensions.pop(key, None)

        def _send(self, request: Any) -> Any:
            fetcher = _ACTIVE.get()
            headers = self._get_headers(request)
            data = request.data
            if data is not None and not isinstance(data, bytes):
                data = data.read() if hasattr(data, "read") else b"".join(data)
            try:
                if request.method == "GET" and data is None:
                    result = fetcher.get(request.url, max_bytes=MAX_API_BYTES, headers=headers)
                    if result.final is None or (result.error and result.final.location is not None):
                        raise CaptureError(result.error or "no response")
                    exchange = result.final
                else:
                    exchange = fetcher.request(
                        request.url, method=request.method, headers=headers, body=data, max_bytes=MAX_API_BYTES
                    )
                if exchange.truncated:
                    raise CaptureError(exchange.error or "response truncated")
                body = decode_body(exchange, MAX_API_BYTES)
            except CaptureError as exc:
                raise TransportError(msg=str(exc), cause=exc) from exc
            response_headers = {k: v for k, v in exchange.response_headers if k.lower() != "content-encoding"}
            response = Response(
                io.BytesIO(body),
                url=exchange.url,
                headers=response_headers,
                status=exchange.status or 502,
                reason=exchange.reason,
            )
            if not 200 <= response.status < 300:
                raise HTTPError(response)
            return response

    return IdolGuardSafeRH


def safe_youtube_dl(fetcher: SafeFetcher, settings: CaptureSettings | None = None) -> Any:
    """A ``YoutubeDL`` whose only network path is ``fetcher``; use it as a context manager."""
    from yt_dlp import YoutubeDL

    handler = _handler_class()

    class SafeYoutubeDL(YoutubeDL):
        def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
            return super().build_request_director([handler], None)

    _ACTIVE.set(fetcher)
    params: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "skip_download": True,
        "noplaylist": True,
        "playlist_items": "1-20",
        "format": FORMAT,
        "proxy": "",
        "allowed_extractors": ["default", "-generic"],
        "socket_timeout": settings.read_timeout_s if settings else 20,
        "cachedir": False,
        "logger": _QuietLogger(),
    }
    ydl = SafeYoutubeDL(params)
    for extractor in EXTRA_EXTRACTORS:
        ydl.add_info_extractor(extractor())
    return ydl


class _QuietLogger:
    """yt-dlp writes to stdout by default, which carries ``--json`` output: collect instead."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        self.messages.append(msg)

    def error(self, msg: str) -> None:
        self.messages.append(msg)


def extract(url: str, fetcher: SafeFetcher, settings: CaptureSettings) -> Found:
    """Ask yt-dlp what media the post has; returns links for the capture's fetcher and post context."""
    from yt_dlp.utils import DownloadError

    try:
        with safe_youtube_dl(fetcher, settings) as ydl:
            info = ydl.extract_info(url, download=False)
    except DownloadError as exc:
        raise CaptureError(str(exc).removeprefix("ERROR: ")[:500]) from exc
    except Exception as exc:  # noqa: BLE001 - an extractor bug must not abort the capture
        raise CaptureError(f"extractor failed: {exc!r}"[:500]) from exc
    if not info:
        raise CaptureError("no information extracted")
    entries = info.get("entries") or [info]
    found = Found()
    for entry in list(entries)[:20]:
        if not entry:
            continue
        # The selected format's fields are merged into the entry; a merged selection lists its parts.
        chosen = [entry] if entry.get("url") else (entry.get("requested_formats") or [])
        for fmt in chosen:
            media_url = fmt.get("url")
            protocol = str(fmt.get("protocol") or "")
            if not media_url:
                continue
            if not protocol.startswith("http"):
                raise CaptureError(f"only a {protocol} stream is offered; it is not downloaded (needs ffmpeg)")
            kind = "video" if fmt.get("vcodec") not in (None, "none") else "image"
            headers = {str(k): str(v) for k, v in (fmt.get("http_headers") or {}).items()}
            found.media.append(MediaLink(media_url, "yt-dlp", kind, headers))
    timestamp = info.get("timestamp")
    found.context = {
        "platform": str(info.get("extractor_key") or "").lower() or None,
        "author_handle": info.get("uploader_id") or info.get("channel_id"),
        "author_name": info.get("uploader") or info.get("channel"),
        "post_time": datetime.fromtimestamp(timestamp, UTC).isoformat() if isinstance(timestamp, int) else None,
        "caption": (info.get("description") or "")[:5000] or None,
        "headline": info.get("title"),
        "post_id": info.get("id"),
        "views": info.get("view_count"),
        "likes": info.get("like_count"),
        "shares": info.get("repost_count"),
        "comments": info.get("comment_count"),
    }
    return found
