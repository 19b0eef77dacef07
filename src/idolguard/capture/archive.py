"""The web archive of a visit: every HTTP exchange as WARC records (``warcio``), packaged as a WACZ.

WARC is the ISO 28500 format courts and archives already accept; WACZ bundles the WARC with a CDXJ index,
a page list and a hashed ``datapackage.json`` so the capture opens directly in ReplayWeb.page. Bodies are
stored exactly as received (still content-encoded); a body cut short by a limit carries ``WARC-Truncated``.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from idolguard import __version__
from idolguard.capture.errors import CaptureError
from idolguard.capture.fetch import Exchange

HOP_BY_HOP = {"transfer-encoding", "connection", "keep-alive"}


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WarcRecorder:
    """Appends records to one gzipped WARC file as the capture proceeds (an observer of the fetcher)."""

    def __init__(self, path: Path, *, software: str | None = None) -> None:
        self.path = path
        self._handle = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.writer = WARCWriter(self._handle, gzip=True, warc_version="WARC/1.1")
        self.records = 0
        self.first_page_ts: datetime | None = None
        info = {
            "software": software or f"IdolGuard/{__version__} (warcio)",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        }
        record = self.writer.create_warcinfo_record(path.name, info)
        self.writer.write_record(record)

    def __call__(self, exchange: Exchange) -> None:
        self.add_exchange(exchange)

    def add_exchange(self, exchange: Exchange) -> None:
        date = _warc_date(exchange.started_at)
        status_line = f"{exchange.status} {exchange.reason}".strip()
        headers = []
        for key, value in exchange.response_headers:
            if key.lower() in HOP_BY_HOP:
                headers.append((f"X-Archive-Orig-{key}", value))  # body is stored de-chunked
            else:
                headers.append((key, value))
        http_headers = StatusAndHeaders(status_line, headers, protocol=exchange.http_version)
        warc_headers: dict[str, str] = {"WARC-Date": date}
        if exchange.server_ip:
            warc_headers["WARC-IP-Address"] = exchange.server_ip
        if exchange.truncated:
            reason = "time" if "time limit" in (exchange.error or "") else "length"
            warc_headers["WARC-Truncated"] = reason
        payload = exchange.open_body()
        response = self.writer.create_warc_record(
            exchange.url,
            "response",
            payload=payload,
            length=exchange.body_size,
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        path = exchange.url.split("#")[0]
        from urllib.parse import urlsplit

        parts = urlsplit(path)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = StatusAndHeaders(
            f"{exchange.method} {target} {exchange.http_version}",
            list(exchange.request_headers),
            is_http_request=True,
        )
        body = exchange.request_body or b""
        request = self.writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=request_headers,
            warc_headers_dict={"WARC-Date": date},
        )
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        try:
            self.writer.write_record(response)
        finally:
            payload.close()
        self.writer.write_record(request)
        self.records += 2

    def add_resource(self, uri: str, data: bytes, mime: str, moment: datetime | None = None) -> None:
        """A file made during the capture (screenshot, PDF) as a WARC resource record."""
        record = self.writer.create_warc_record(
            uri,
            "resource",
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type=mime,
            warc_headers_dict={"WARC-Date": _warc_date(moment or datetime.now(UTC))},
        )
        self.writer.write_record(record)
        self.records += 1

    def add_metadata(self, uri: str, data: dict[str, Any]) -> None:
        payload = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
        record = self.writer.create_warc_record(
            uri,
            "metadata",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": _warc_date(datetime.now(UTC))},
        )
        self.writer.write_record(record)
        self.records += 1

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            self._handle.close()


def build_wacz(warc: Path, out: Path, *, url: str, title: str | None, captured_at: datetime) -> None:
    """Package the WARC as WACZ (index, pages, datapackage with hashes) using the ``wacz`` library.

    ``captured_at`` must be the WARC-Date of the page's response record: the page list points at it.
    """
    from wacz.main import main as wacz_main

    with tempfile.TemporaryDirectory(prefix="idolguard-wacz-") as tmp:
        pages = Path(tmp) / "pages.jsonl"
        header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
        page = {"id": "1", "url": url, "ts": _warc_date(captured_at), "title": title or url}
        pages.write_text(json.dumps(header) + "\n" + json.dumps(page, ensure_ascii=False) + "\n", encoding="utf-8")
        ts14 = captured_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")  # the CDX timestamp form the indexer matches
        args = ["create", "-o", str(out), "-p", str(pages), "--url", url, "--ts", ts14]
        args += ["--title", (title or url)[:200], "--desc", "IdolGuard evidence capture", str(warc)]
        sink = io.StringIO()
        try:
            # The library prints progress; keep it off stdout, which carries --json output.
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                code = wacz_main(args)
        except Exception as exc:  # noqa: BLE001 - the library raises bare exceptions on odd input
            raise CaptureError(f"WACZ packaging failed: {exc!r}") from exc
        if code not in (0, None) or not out.exists():
            raise CaptureError(f"WACZ packaging failed: {sink.getvalue().strip()[-500:]}")
