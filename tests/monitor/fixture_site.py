"""A local fixture web site for monitoring tests (127.0.0.1 only): pages with pagination, RSS and Atom feeds,
a Telegram-channel-preview-like page, an account page, a yt-dlp-listable channel, and pages that disappear.

Routes are plain data (``site.routes[path_with_query] = (status, content type, body)``), so a test changes
the site between two runs (a new post, a deleted page) and asserts what the next run finds.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import jpeg_bytes, png_bytes

HTML = "text/html; charset=utf-8"


def post_page(title: str, image: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:image" content="{image}"></head>'
        f'<body><article><h1>{title}</h1><img src="{image}"></article></body></html>'
    ).encode()


def telegram_message(channel: str, number: int, text: str, photo: str) -> str:
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{channel}/{number}">'
        f'<a class="tgme_widget_message_photo_wrap" href="/{channel}/{number}" '
        f"style=\"width:320px;background-image:url('{photo}')\"></a>"
        f'<div class="tgme_widget_message_text">{text}</div>'
        f'<a class="tgme_widget_message_date" href="/{channel}/{number}"><time>now</time></a></div></div>'
    )


def telegram_preview(channel: str, messages: list[str], before: int | None) -> bytes:
    older = f'<link rel="prev" href="/s/{channel}?before={before}">' if before else ""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{channel} - Telegram</title>{older}</head>'
        f'<body><div class="tgme_channel_info">{channel}</div><section class="tgme_channel_history">'
        + "".join(messages)
        + "</section></body></html>"
    ).encode()


@dataclass
class FixtureSite:
    base: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delays: dict[str, float] = field(default_factory=dict)  # path prefix -> seconds before answering

    def html(self, path: str, body: str | bytes, status: int = 200) -> None:
        self.routes[path] = (status, HTML, body.encode() if isinstance(body, str) else body)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for hit in self.hits if hit == path)


def _handler(site: FixtureSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            with site.lock:
                site.hits.append(self.path)
            for prefix, seconds in site.delays.items():
                if self.path.startswith(prefix):
                    time.sleep(seconds)
            status, ctype, body = site.routes.get(self.path, (404, HTML, b"<html><body>not found</body></html>"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def build(site: FixtureSite) -> None:
    """The initial content of every fixture source."""
    b = site.base
    for n in range(1, 9):
        site.routes[f"/media/p{n}.jpg"] = (200, "image/jpeg", jpeg_bytes(100 + n, (160, 120)))
    site.routes["/media/same.png"] = (200, "image/png", png_bytes(7, (120, 90)))
    site.routes["/media/copy-of-same.png"] = site.routes["/media/same.png"]
    # A page with two pages of links and media (rel=next pagination).
    site.html(
        "/news",
        '<html><head><title>board</title><link rel="stylesheet" href="/static/site.css"></head><body>'
        '<a href="/news/a1">first</a> <a href="/news/a2?utm_source=x">second</a> '
        '<img src="/media/same.png"> <a href="https://elsewhere.example/post">offsite</a>'
        '<a rel="next" href="/news?page=2">next</a></body></html>',
    )
    site.html("/news?page=2", '<html><body><a href="/news/a3">third</a><img src="/media/p8.jpg"></body></html>')
    for n in (1, 2, 3, 4):
        site.routes[f"/news/a{n}"] = (200, HTML, post_page(f"Article {n}", f"/media/p{n}.jpg"))
    # RSS and Atom (with an Atom rel=next page).
    site.routes["/feed.xml"] = (
        200,
        "application/rss+xml",
        f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>fan board</title>
<item><title>one</title><link>{b}/news/a1</link><description>first</description></item>
<item><title>two</title><link>{b}/news/a2</link><description>second</description>
<enclosure url="{b}/media/p5.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>""".encode(),
    )
    site.routes["/atom.xml"] = (
        200,
        "application/atom+xml",
        f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>urn:a</id><updated>2026-12-01T00:00:00Z</updated>
<link rel="next" href="{b}/atom2.xml"/>
<entry><title>three</title><id>urn:3</id><updated>2026-12-01T00:00:00Z</updated>
<link href="{b}/news/a3"/><summary>third</summary></entry>
</feed>""".encode(),
    )
    site.routes["/atom2.xml"] = (
        200,
        "application/atom+xml",
        f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>urn:a2</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>four</title><id>urn:4</id><updated>2026-11-01T00:00:00Z</updated>
<link href="{b}/news/a4"/><summary>fourth</summary></entry>
</feed>""".encode(),
    )
    # A Telegram channel preview: newest page (messages 3, 4) and an older page (1, 2).
    for n in range(1, 7):
        site.routes[f"/idolleaks/{n}"] = (200, HTML, post_page(f"message {n}", f"/media/p{min(n, 8)}.jpg"))
    site.html(
        "/s/idolleaks",
        telegram_preview(
            "idolleaks",
            [telegram_message("idolleaks", n, f"post {n}", f"/media/p{n}.jpg") for n in (3, 4)],
            before=3,
        ),
    )
    site.html(
        "/s/idolleaks?before=3",
        telegram_preview(
            "idolleaks", [telegram_message("idolleaks", n, f"post {n}", f"/media/p{n}.jpg") for n in (1, 2)], None
        ),
    )
    # An account profile page: only its posts count, not the site's navigation.
    site.html(
        "/users/leaker",
        '<html><body><nav><a href="/about">about</a><a href="/users/other">other</a></nav>'
        '<a href="/users/leaker/status/1">p1</a><a href="/users/leaker/status/2">p2</a></body></html>',
    )
    site.routes["/users/leaker/status/1"] = (200, HTML, post_page("status 1", "/media/p6.jpg"))
    site.routes["/users/leaker/status/2"] = (200, HTML, post_page("status 2", "/media/p7.jpg"))
    # A page that will disappear.
    site.html("/vanish", '<html><body><a href="/news/a1">a1</a></body></html>')
    # A channel API in the style yt-dlp extractors read.
    site.routes["/api/channel/fancams"] = (
        200,
        "application/json",
        json.dumps({"videos": [{"id": "a1", "url": f"{b}/news/a1"}, {"id": "a2", "url": f"{b}/news/a2"}]}).encode(),
    )


def serve() -> tuple[FixtureSite, ThreadingHTTPServer]:
    site = FixtureSite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    build(site)
    return site, server
