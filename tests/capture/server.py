"""A local fixture web site for capture tests: a social-media-like post, media, redirects and hostile pages.

It listens on 127.0.0.1 (HTTP and HTTPS with a self-signed certificate). A second "internal" server on
127.0.0.2 stands for the agency's private network: SSRF tests assert it never receives a request.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import jpeg_bytes, png_bytes

POST_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{title}</title>
<meta property="og:site_name" content="Chirper">
<meta property="og:title" content="@idol_fan on Chirper">
<meta property="og:description" content="{caption}">
<meta property="og:image" content="/media/photo.jpg">
<meta property="og:video" content="/media/clip.mp4">
<meta property="og:type" content="article">
<meta property="article:published_time" content="2026-11-20T08:15:00Z">
<meta name="twitter:creator" content="@idol_fan">
<link rel="stylesheet" href="/static/site.css">
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "SocialMediaPosting",
  "author": {{"@type": "Person", "alternateName": "@idol_fan", "name": "Idol Fan"}},
  "datePublished": "2026-11-20T08:15:00Z", "articleBody": "{caption}"}}
</script>
</head><body>
<article><h1>{title}</h1><p class="caption">{caption}</p>
<img src="/media/photo.jpg" alt="photo"><img src="/media/extra.png" alt="extra">
<video controls poster="/media/extra.png"><source src="/media/clip.mp4" type="video/mp4"></video>
</article></body></html>"""

HOSTILE_PAGE = """<!DOCTYPE html><html><head><title>hostile</title></head><body>
<h1>hostile page</h1>
<img src="{internal}/img.png">
<iframe src="{internal}/frame"></iframe>
<script>
fetch("{internal}/fetch").catch(() => {{}});
try {{ new WebSocket("{internal_ws}/ws"); }} catch (e) {{}}
window.open("{internal}/popup");
const a = document.createElement("a"); a.href = "/download.bin"; a.download = "x.bin"; document.body.appendChild(a);
a.click();
navigator.sendBeacon && navigator.sendBeacon("{internal}/beacon", "x");
</script></body></html>"""

DELETED_PAGE = """<!DOCTYPE html><html><head><title>Chirper</title></head><body>
<h1>Hmm... this page doesn't exist.</h1><p>This post was deleted by its author.</p></body></html>"""


def make_clip() -> bytes:
    """A tiny benign MP4 (generated shapes), made once per test session."""
    import tempfile

    from idolguard.demo import write_clip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        write_clip(path, seconds=0.5)
        return path.read_bytes()


def self_signed(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for a self-signed server certificate: must be recorded as untrusted."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idolguard-test-self-signed")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@dataclass
class Site:
    """State shared by the handler: routes, mutable media, and a log of every request path received."""

    base: str = ""
    https_base: str = ""
    internal: str = ""
    media: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    overrides: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # path -> (status, body)
    tsa: Callable[[bytes], bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for hit in self.hits if hit.startswith(prefix))


def _handler(site: Site, internal: bool = False) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            with site.lock:
                site.hits.append(("internal:" if internal else "") + self.path)
            if self.path == "/tsa" and site.tsa is not None:
                self._send(200, site.tsa(data), "application/timestamp-reply")
                return
            self._send(404, b"no")

        def do_GET(self) -> None:  # noqa: C901 - a route table is clearest as one dispatch
            path = self.path.split("?")[0]
            with site.lock:
                site.hits.append(("internal:" if internal else "") + self.path)
            if internal:
                self._send(200, b"internal secret", "text/plain")
                return
            if path in site.deleted:
                self._send(404, DELETED_PAGE.encode())
                return
            if path in site.overrides:
                status, body = site.overrides[path]
                self._send(status, body)
                return
            if path.startswith("/post/"):
                caption = "Look at this (benign test post) #idol #아이돌"
                body = POST_TEMPLATE.format(title="Post by @idol_fan", caption=caption)
                self._send(200, body.encode())
            elif path == "/static/site.css":
                self._send(200, b"body{font-family:sans-serif;background:#fafafa}", "text/css")
            elif path.startswith("/media/"):
                data = site.media.get(path)
                if data is None:
                    self._send(404, b"missing", "text/plain")
                    return
                ctype = {"jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4"}[path.rsplit(".", 1)[1]]
                self._send(200, data, ctype)
            elif path == "/r/1":
                self._send(302, b"", Location="/r/2")
            elif path == "/r/2":
                self._send(301, b"", Location=f"{site.base}/post/1")
            elif path == "/loop/a":
                self._send(302, b"", Location="/loop/b")
            elif path == "/loop/b":
                self._send(302, b"", Location="/loop/a")
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                self._send(302, b"", Location=f"/chain/{n + 1}")
            elif path == "/to-internal":
                self._send(302, b"", Location=f"{site.internal}/secret")
            elif path == "/to-file":
                self._send(302, b"", Location="file:///etc/passwd")
            elif path == "/gone":
                self._send(410, b"<html><body>gone</body></html>")
            elif path == "/blocked":
                self._send(451, b"<html><body>Unavailable for legal reasons in your country</body></html>")
            elif path == "/slow":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for _ in range(1200):  # drips for a minute unless the client gives up
                        self.wfile.write(b"<p>.")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass
            elif path == "/stall":
                time.sleep(120)
            elif path == "/bomb":
                raw = io.BytesIO()
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
                    block = b"\0" * (1024 * 1024)
                    for _ in range(64):
                        gz.write(block)
                self._send(200, raw.getvalue(), Content_Encoding="gzip")
            elif path == "/gzipped":
                body = gzip.compress(POST_TEMPLATE.format(title="gz", caption="zipped").encode())
                self._send(200, body, Content_Encoding="gzip")
            elif path == "/huge":
                size = 6 * 1024 * 1024
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(size + 13))
                self.end_headers()
                try:
                    self.wfile.write(b"<html><title>")
                    chunk = b"x" * 65536
                    for _ in range(size // 65536):
                        self.wfile.write(chunk)
                except OSError:
                    pass
            elif path == "/hostile":
                internal_ws = site.internal.replace("http://", "ws://")
                self._send(200, HOSTILE_PAGE.format(internal=site.internal, internal_ws=internal_ws).encode())
            elif path == "/download.bin":
                self._send(200, b"\0" * 1000, "application/octet-stream", Content_Disposition="attachment")
            elif path == "/many-headers":
                self.send_response(200)
                for n in range(300):
                    self.send_header(f"X-Filler-{n}", "x")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith("/api/chirper/"):
                # A platform API in the style yt-dlp extractors read: where the video file is and who posted it.
                post = path.rsplit("/", 1)[1]
                video = f"{site.internal}/private.mp4" if post == "666" else f"{site.base}/media/clip.mp4"
                body = json.dumps(
                    {
                        "id": post,
                        "title": "Chirp video",
                        "author": "@idol_fan",
                        "ts": 1763626500,
                        "video": video,
                        "needs_referer": True,
                    }
                )
                self._send(200, body.encode(), "application/json")
            elif path == "/bigpost":
                body = (
                    '<html><head><title>big</title><meta property="og:video" content="/media/big.mp4"></head>'
                    '<body><video src="/media/big.mp4" preload="auto"></video></body></html>'
                )
                self._send(200, body.encode())
            elif path == "/busy":
                # Script that never yields: the renderer's main thread is stuck for good.
                self._send(
                    200, b"<html><head><title>busy</title></head><body>x<script>while(true){}</script></body></html>"
                )
            elif path == "/never":
                # The page loads but a subresource never finishes (the load event never fires).
                self._send(200, b"<html><head><title>never</title></head><body>x<img src='/stall'></body></html>")
            else:
                self._send(404, b"<html><body>not found</body></html>")

    return Handler


def start(server: ThreadingHTTPServer) -> None:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def serve(tmp: Path) -> tuple[Site, list[ThreadingHTTPServer]]:
    """Start the HTTP, HTTPS and internal servers; returns the site state and the servers to shut down."""
    site = Site()
    site.media = {
        "/media/photo.jpg": jpeg_bytes(11, (320, 240)),
        "/media/extra.png": png_bytes(12, (160, 120)),
        "/media/clip.mp4": make_clip(),
    }
    # Over the fetcher's in-memory threshold: exercises spooling to disk (still sniffs as MP4).
    site.media["/media/big.mp4"] = site.media["/media/clip.mp4"] + b"\0" * (5 * 1024 * 1024)
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    https_server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    cert_pem, key_pem = self_signed()
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    https_server.socket = context.wrap_socket(https_server.socket, server_side=True)
    internal_server = ThreadingHTTPServer(("127.0.0.2", 0), _handler(site, internal=True))
    for server in (http_server, https_server, internal_server):
        start(server)
    site.base = f"http://127.0.0.1:{http_server.server_address[1]}"
    site.https_base = f"https://127.0.0.1:{https_server.server_address[1]}"
    site.internal = f"http://127.0.0.2:{internal_server.server_address[1]}"
    return site, [http_server, https_server, internal_server]
