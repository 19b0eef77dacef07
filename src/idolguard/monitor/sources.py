"""What a watched source lists now: post links and media links, one lister per kind, pages followed.

Every request goes through capture's ``SafeFetcher`` (SSRF policy, allow-list, size and time limits), and
yt-dlp channel listing goes through the same guarded handler, so watching a source can never reach the
agency's own network. Listers only list; capturing the new entries is ``service``'s work.

Kinds:
- ``page``: links on the same site and media on the page (``<a rel=next>`` pages followed);
- ``account``: a profile page; only links that look like posts of that account, plus its media;
- ``feed``: RSS 2.0 and Atom entries (their links and enclosures; Atom ``rel=next`` followed);
- ``telegram``: a public channel preview (``t.me/s/NAME``): each message, older pages via ``?before=``;
- ``channel``: a channel or playlist a dedicated yt-dlp extractor can list (Telegram previews go to the
  ``telegram`` lister).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

from idolguard.capture.errors import CaptureError
from idolguard.capture.extract import decode_html, parse_page
from idolguard.capture.fetch import Budget, SafeFetcher, decode_body
from idolguard.capture.netpolicy import NetPolicy
from idolguard.capture.settings import CaptureSettings

KINDS = ("page", "feed", "channel", "telegram", "account")
MAX_PAGES = 5  # pages followed per run (pagination), so a hostile "next" chain cannot run forever
MAX_ENTRIES = 200
GONE_STATUSES = (404, 410)
ASSET_SUFFIXES = (".css", ".js", ".ico", ".xml", ".json", ".woff", ".woff2", ".ttf", ".svg", ".webmanifest")
MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".mp4", ".webm", ".mov", ".m4v")
POST_PATTERN = re.compile(r"/(status|statuses|post|posts|p|reel|reels|video|videos|watch|photo|photos|m)/", re.I)
TELEGRAM_HOSTS = ("t.me", "telegram.me")


@dataclass
class Entry:
    """One thing a source lists: a post to capture or a media file to capture directly."""

    url: str
    kind: str  # post|media
    content_key: str | None = None  # sha256 of what identifies the entry's content in the listing
    title: str | None = None


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    pages: int = 0
    http_status: int | None = None
    gone: bool = False  # the source itself answered 404/410: "deleted by source"
    errors: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        if len(self.entries) < MAX_ENTRIES and all(e.url != entry.url for e in self.entries):
            self.entries.append(entry)


def content_key(*parts: str | None) -> str | None:
    text = "\n".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text.strip() else None


class _Links(HTMLParser):
    """Anchors (with rel), media sources and next-page links of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[str] = []
        self.next_pages: list[str] = []
        self.media: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        if tag in ("a", "link") and "next" in rel and a.get("href"):
            self.next_pages.append(a["href"])
        elif tag == "a" and a.get("href"):
            self.anchors.append(a["href"])
        elif tag in ("img", "video", "source") and a.get("src"):
            self.media.append(a["src"])


class Lister:
    """Fetches pages of one source through the SSRF-safe fetcher."""

    def __init__(self, settings: CaptureSettings, policy: NetPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or NetPolicy(settings.allow)
        self.fetcher = SafeFetcher(
            self.policy,
            Budget(settings.max_html_bytes * (MAX_PAGES + 2), settings.timeout_s),
            max_redirects=settings.max_redirects,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            user_agent=settings.user_agent,
        )

    def fetch(self, url: str, listing: Listing, first: bool) -> tuple[str, bytes, str | None] | None:
        """(final URL, body, content type) of one page, or None with the problem recorded in ``listing``."""
        result = self.fetcher.get(url, max_bytes=self.settings.max_html_bytes, keep_partial=True)
        final = result.final
        if final is None or final.status is None or final.location is not None:
            listing.errors.append(result.error or f"no answer from {url}")
            return None
        listing.pages += 1
        if first:
            listing.http_status = final.status
        if final.status in GONE_STATUSES:
            if first:
                listing.gone = True
            listing.errors.append(f"{url} answered HTTP {final.status}")
            return None
        if final.status >= 400:
            listing.errors.append(f"{url} answered HTTP {final.status}")
            return None
        try:
            body = decode_body(final, self.settings.max_html_bytes)
        except CaptureError as exc:
            listing.errors.append(f"{url}: {exc}")
            return None
        return final.url, body, final.header("content-type")


def list_source(url: str, kind: str, settings: CaptureSettings, checkpoint: dict[str, Any]) -> Listing:
    """Everything the source lists now (newest first where the source orders them)."""
    lister = Lister(settings)
    listing = Listing(checkpoint=dict(checkpoint))
    if kind == "channel" and _is_telegram(url):
        kind = "telegram"
    handler: Callable[[Lister, str, Listing], None] = {
        "page": _list_page,
        "account": _list_account,
        "feed": _list_feed,
        "telegram": _list_telegram,
        "channel": _list_channel,
    }[kind]
    handler(lister, url, listing)
    return listing


def _is_telegram(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    # t.me itself, or a mirror serving the same preview markup at /s/NAME (how the fixture site serves it)
    return host in TELEGRAM_HOSTS or bool(re.fullmatch(r"/s/[A-Za-z0-9_]{3,64}/?", parts.path))


def _same_site(a: str, b: str) -> bool:
    return (urlsplit(a).hostname or "").lower() == (urlsplit(b).hostname or "").lower()


def _is_media(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(MEDIA_SUFFIXES)


def _html_pages(lister: Lister, url: str, listing: Listing) -> list[tuple[str, str]]:
    """(URL, HTML) of the page and its ``rel=next`` pages, at most ``MAX_PAGES``."""
    pages: list[tuple[str, str]] = []
    current: str | None = url
    visited: set[str] = set()
    while current and current not in visited and len(pages) < MAX_PAGES:
        visited.add(current)
        got = lister.fetch(current, listing, first=not pages)
        if got is None:
            break
        final_url, body, ctype = got
        html = decode_html(body, ctype)
        pages.append((final_url, html))
        parser = _Links()
        try:
            parser.feed(html)
            parser.close()
        except (AssertionError, ValueError):
            pass
        current = urljoin(final_url, parser.next_pages[0]).split("#")[0] if parser.next_pages else None
        if current and not _same_site(current, url):
            listing.errors.append(f"next page {current} is on another site; not followed")
            current = None
    return pages


def _page_entries(listing: Listing, source_url: str, pages: list[tuple[str, str]], post_filter: Callable) -> None:
    page_urls = {u for u, _ in pages} | {source_url}
    for page_url, html in pages:
        parser = _Links()
        try:
            parser.feed(html)
            parser.close()
        except (AssertionError, ValueError):
            pass
        nexts = {urljoin(page_url, n).split("#")[0] for n in parser.next_pages}
        for media in parse_page(html, page_url, max_media=MAX_ENTRIES).media:
            listing.add(Entry(media.url, "media"))
        for href in parser.anchors:
            link = urljoin(page_url, href).split("#")[0]
            if urlsplit(link).scheme not in ("http", "https") or link in page_urls or link in nexts:
                continue
            if _is_media(link):
                listing.add(Entry(link, "media"))
            elif (
                _same_site(link, source_url)
                and not urlsplit(link).path.lower().endswith(ASSET_SUFFIXES)
                and post_filter(link)
            ):
                listing.add(Entry(link, "post"))


def _list_page(lister: Lister, url: str, listing: Listing) -> None:
    _page_entries(listing, url, _html_pages(lister, url, listing), lambda _link: True)


def _list_account(lister: Lister, url: str, listing: Listing) -> None:
    profile = urlsplit(url).path.rstrip("/")

    def looks_like_post(link: str) -> bool:
        path = urlsplit(link).path
        return bool(POST_PATTERN.search(path)) or (bool(profile) and path.startswith(profile + "/"))

    _page_entries(listing, url, _html_pages(lister, url, listing), looks_like_post)


# -- feeds -------------------------------------------------------------------------------------------------
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA_NS = "{http://search.yahoo.com/mrss/}"


def _list_feed(lister: Lister, url: str, listing: Listing) -> None:
    current: str | None = url
    visited: set[str] = set()
    while current and current not in visited and listing.pages < MAX_PAGES:
        visited.add(current)
        got = lister.fetch(current, listing, first=len(visited) == 1)
        if got is None:
            return
        final_url, body, _ctype = got
        if b"<!ENTITY" in body[:65536] or b"<!entity" in body[:65536]:
            listing.errors.append(f"{final_url}: feeds declaring XML entities are refused")
            return
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            listing.errors.append(f"{final_url}: not a valid RSS/Atom feed ({exc})")
            return
        current = _feed_entries(root, final_url, listing)
        if current and not _same_site(current, url):
            listing.errors.append(f"next feed page {current} is on another site; not followed")
            return


def _feed_entries(root: ElementTree.Element, base: str, listing: Listing) -> str | None:
    """Add the feed's entries; returns the next page (Atom ``rel=next``) if any."""
    if root.tag == f"{ATOM}feed":
        for entry in root.findall(f"{ATOM}entry"):
            link = None
            for el in entry.findall(f"{ATOM}link"):
                rel = el.get("rel", "alternate")
                href = el.get("href")
                if not href:
                    continue
                if rel == "alternate" and link is None:
                    link = urljoin(base, href)
                elif rel == "enclosure":
                    listing.add(Entry(urljoin(base, href), "media"))
            key = content_key(
                entry.findtext(f"{ATOM}title"),
                entry.findtext(f"{ATOM}content") or entry.findtext(f"{ATOM}summary"),
            )
            if link:
                listing.add(Entry(link, "post", key, entry.findtext(f"{ATOM}title")))
        for el in root.findall(f"{ATOM}link"):
            if el.get("rel") == "next" and el.get("href"):
                return urljoin(base, el.get("href", ""))
        return None
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        listing.errors.append(f"{base}: not an RSS 2.0 or Atom feed (root element {root.tag!r})")
        return None
    for item in channel.findall("item"):
        for el in [*item.findall("enclosure"), *item.findall(f"{MEDIA_NS}content")]:
            if el.get("url"):
                listing.add(Entry(urljoin(base, el.get("url", "")), "media"))
        link = (item.findtext("link") or "").strip()
        key = content_key(item.findtext("title"), item.findtext("description"))
        if link:
            listing.add(Entry(urljoin(base, link), "post", key, item.findtext("title")))
    for el in channel.findall(f"{ATOM}link"):
        if el.get("rel") == "next" and el.get("href"):
            return urljoin(base, el.get("href", ""))
    return None


# -- Telegram channel previews -----------------------------------------------------------------------------
class _TelegramPreview(HTMLParser):
    """Messages of a ``t.me/s/NAME`` page: post id, permalink, text and media, plus the older-page link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[dict[str, Any]] = []
        self.older: str | None = None
        self._text_depth = 0
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        self._depth += 1
        if tag == "link" and a.get("rel") == "prev" and a.get("href"):
            self.older = a["href"]
        if "tgme_widget_message" in classes and a.get("data-post"):
            self.messages.append({"post": a["data-post"], "link": None, "text": [], "media": []})
            return
        if not self.messages:
            return
        message = self.messages[-1]
        if tag == "a" and "tgme_widget_message_date" in classes and a.get("href"):
            message["link"] = a["href"]
        if "tgme_widget_message_text" in classes:
            self._text_depth = self._depth
        style = a.get("style", "")
        found = re.search(r"background-image:\s*url\(['\"]?([^'\")]+)['\"]?\)", style)
        if found and ("tgme_widget_message_photo_wrap" in classes or "tgme_widget_message_video_thumb" in classes):
            message["media"].append(found.group(1))
        if tag == "video" and a.get("src"):
            message["media"].append(a["src"])

    def handle_endtag(self, tag: str) -> None:
        if self._text_depth and self._depth <= self._text_depth:
            self._text_depth = 0
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._text_depth and self.messages:
            self.messages[-1]["text"].append(data)


def _post_number(post: str) -> int:
    tail = post.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _list_telegram(lister: Lister, url: str, listing: Listing) -> None:
    """Newest page first, then older pages until the last run's highest message id (the checkpoint)."""
    last_id = int(listing.checkpoint.get("last_message_id") or 0)
    highest = last_id
    current: str | None = url
    visited: set[str] = set()
    while current and current not in visited and listing.pages < MAX_PAGES:
        visited.add(current)
        got = lister.fetch(current, listing, first=len(visited) == 1)
        if got is None:
            break
        final_url, body, ctype = got
        parser = _TelegramPreview()
        try:
            parser.feed(decode_html(body, ctype))
            parser.close()
        except (AssertionError, ValueError):
            pass
        if len(visited) == 1 and not parser.messages and "tgme_channel_info" not in decode_html(body, ctype):
            listing.errors.append(f"{final_url} is not a public Telegram channel preview (no messages)")
        lowest = None
        for message in parser.messages:
            number = _post_number(message["post"])
            lowest = number if lowest is None else min(lowest, number)
            highest = max(highest, number)
            if number and number <= last_id:
                continue
            link = urljoin(final_url, message["link"] or f"/{message['post']}")
            key = content_key("".join(message["text"]), *message["media"])
            listing.add(Entry(link, "post", key, " ".join("".join(message["text"]).split())[:200] or None))
        if lowest is None or (last_id and lowest <= last_id):
            break
        current = urljoin(final_url, parser.older) if parser.older else None
    listing.checkpoint["last_message_id"] = highest


# -- channels and playlists (yt-dlp) -----------------------------------------------------------------------
def _list_channel(lister: Lister, url: str, listing: Listing) -> None:
    from idolguard.capture import ytdlp

    extractor = ytdlp.extractor_for(url)
    if extractor is None:
        listing.errors.append(f"no yt-dlp extractor lists {url}; watch it as a page, feed or account instead")
        return
    from yt_dlp.utils import DownloadError

    try:
        with ytdlp.safe_youtube_dl(lister.fetcher, lister.settings) as ydl:
            ydl.params.update({"extract_flat": "in_playlist", "noplaylist": False, "playlist_items": "1-100"})
            info = ydl.extract_info(url, download=False, process=True)
    except DownloadError as exc:
        message = str(exc).removeprefix("ERROR: ")[:500]
        if "404" in message or "410" in message:
            listing.gone = True
        listing.errors.append(f"yt-dlp ({extractor}): {message}")
        return
    except Exception as exc:  # noqa: BLE001 - an extractor bug must not stop the other sources
        listing.errors.append(f"yt-dlp ({extractor}) failed: {exc!r}"[:500])
        return
    listing.pages = 1
    listing.http_status = 200
    for entry in (info or {}).get("entries") or []:
        if not entry:
            continue
        link = entry.get("webpage_url") or entry.get("url")
        if link and urlsplit(str(link)).scheme in ("http", "https"):
            listing.add(Entry(str(link), "post", content_key(str(entry.get("id") or "")), entry.get("title")))
