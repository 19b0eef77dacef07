"""Post context and media links from a page's HTML (OpenGraph, Twitter cards, JSON-LD, plain tags).

Platforms expose the facts an investigator needs (who posted, when, the caption, the media) in machine
metadata far more reliably than in their visual markup, so those are read first and ``<img>``/``<video>``
tags fill in. Parsing uses the standard library's tolerant tokenizer: hostile HTML cannot make it execute
anything, and it never fetches anything itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_JSONLD_BYTES = 512 * 1024
PLATFORM_HOSTS = {
    "x.com": "x",
    "twitter.com": "x",
    "instagram.com": "instagram",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "facebook.com": "facebook",
    "reddit.com": "reddit",
    "t.me": "telegram",
    "weibo.com": "weibo",
    "bilibili.com": "bilibili",
    "threads.net": "threads",
    "bsky.app": "bluesky",
}


@dataclass
class MediaLink:
    url: str
    via: str  # og:image, og:video, img, video, source, json-ld ...
    kind: str  # image|video|unknown
    headers: dict[str, str] = field(default_factory=dict)  # request headers the host expects (from yt-dlp)


@dataclass
class PageInfo:
    title: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # platform, author_handle, post_time, caption ...
    media: list[MediaLink] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # raw og:/twitter:/article: properties
    canonical_url: str | None = None


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.in_title = False
        self.meta: dict[str, str] = {}
        self.tags: list[tuple[str, str, str]] = []  # (url, via, kind)
        self.jsonld: list[str] = []
        self._script_jsonld = False
        self._script_buf: list[str] = []
        self._video_depth = 0
        self.canonical: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").strip().lower()
            if key and "content" in a and key not in self.meta:
                self.meta[key] = a["content"].strip()
        elif tag == "link" and "canonical" in a.get("rel", "").lower().split() and a.get("href"):
            self.canonical = a["href"].strip()
        elif tag == "script" and a.get("type", "").lower().strip() == "application/ld+json":
            self._script_jsonld = True
            self._script_buf = []
        elif tag == "img":
            src = a.get("src") or a.get("data-src") or ""
            if not src and a.get("srcset"):
                src = a["srcset"].split(",")[-1].strip().split(" ")[0]
            if src:
                self.tags.append((src, "img", "image"))
        elif tag == "video":
            self._video_depth += 1
            if a.get("src"):
                self.tags.append((a["src"], "video", "video"))
            if a.get("poster"):
                self.tags.append((a["poster"], "video-poster", "image"))
        elif tag == "source" and a.get("src"):
            kind = "video" if self._video_depth or a.get("type", "").startswith("video/") else "unknown"
            self.tags.append((a["src"], "source", kind))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "video" and self._video_depth:
            self._video_depth -= 1
        elif tag == "script" and self._script_jsonld:
            self._script_jsonld = False
            text = "".join(self._script_buf)
            if len(text) <= MAX_JSONLD_BYTES:
                self.jsonld.append(text)

    def handle_data(self, data: str) -> None:
        if self.in_title and len(self.title_parts) < 100:
            self.title_parts.append(data)
        if self._script_jsonld:
            self._script_buf.append(data)


def _jsonld_objects(texts: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 6 or len(found) > 50:
            return
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
        elif isinstance(node, dict):
            found.append(node)
            if "@graph" in node:
                walk(node["@graph"], depth + 1)

    for text in texts:
        try:
            walk(json.loads(text))
        except (ValueError, RecursionError):
            continue
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        for key in ("alternateName", "identifier", "name", "url", "@id"):
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key].strip()
    if isinstance(value, list) and value:
        return _text(value[0])
    return None


def _media_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        for key in ("contentUrl", "url"):
            if isinstance(value.get(key), str):
                return [value[key]]
    if isinstance(value, list):
        return [u for v in value[:20] for u in _media_urls(v)]
    return []


def platform_for(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower()
    for known, name in PLATFORM_HOSTS.items():
        if host == known or host.endswith("." + known):
            return name
    return None


def parse_page(html_text: str, base_url: str, max_media: int = 40) -> PageInfo:
    """Title, post context and candidate media URLs (absolute, http(s) only, deduplicated, in priority order)."""
    collector = _Collector()
    try:
        collector.feed(html_text)
        collector.close()
    except (AssertionError, ValueError):  # the tokenizer gives up on some broken markup; keep what it found
        pass
    meta = collector.meta
    info = PageInfo(meta=dict(list(meta.items())[:200]))
    title = " ".join("".join(collector.title_parts).split())
    info.title = title[:1000] or meta.get("og:title")
    info.canonical_url = urljoin(base_url, collector.canonical) if collector.canonical else None

    context: dict[str, Any] = {}
    posts = [
        o
        for o in _jsonld_objects(collector.jsonld)
        if str(o.get("@type", "")).lower()
        in {"socialmediaposting", "blogposting", "article", "newsarticle", "videoobject", "imageobject"}
    ]
    post = posts[0] if posts else {}
    context["platform"] = platform_for(base_url) or meta.get("og:site_name") or None
    context["site_name"] = meta.get("og:site_name")
    context["author_handle"] = (
        _text(post.get("author"))
        or meta.get("twitter:creator")
        or meta.get("article:author")
        or meta.get("author")
        or None
    )
    context["author_name"] = post.get("author", {}).get("name") if isinstance(post.get("author"), dict) else None
    context["post_time"] = (
        _text(post.get("datePublished"))
        or _text(post.get("uploadDate"))
        or meta.get("article:published_time")
        or meta.get("og:published_time")
        or None
    )
    context["caption"] = (
        _text(post.get("articleBody"))
        or _text(post.get("description"))
        or meta.get("og:description")
        or meta.get("twitter:description")
        or meta.get("description")
        or None
    )
    context["headline"] = meta.get("og:title") or _text(post.get("headline"))
    context.update(interaction_counts(post))
    info.context = {k: (v[:5000] if isinstance(v, str) else v) for k, v in context.items() if v}

    candidates: list[tuple[str, str, str]] = []
    for key, via, kind in (
        ("og:video:secure_url", "og:video", "video"),
        ("og:video:url", "og:video", "video"),
        ("og:video", "og:video", "video"),
        ("twitter:player:stream", "twitter:player:stream", "video"),
        ("og:image:secure_url", "og:image", "image"),
        ("og:image:url", "og:image", "image"),
        ("og:image", "og:image", "image"),
        ("twitter:image", "twitter:image", "image"),
    ):
        if meta.get(key):
            candidates.append((meta[key], via, kind))
    for obj in posts:
        for url in _media_urls(obj.get("video")) + (
            _media_urls(obj.get("contentUrl")) if str(obj.get("@type")).lower() == "videoobject" else []
        ):
            candidates.append((url, "json-ld", "video"))
        for url in _media_urls(obj.get("image")):
            candidates.append((url, "json-ld", "image"))
    candidates.extend(collector.tags)

    seen: set[str] = set()
    for raw, via, kind in candidates:
        url = urljoin(base_url, raw.strip())
        url = url.split("#")[0]
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        info.media.append(MediaLink(url, via, kind))
        if len(info.media) >= max_media:
            break
    return info


def decode_html(data: bytes, content_type_header: str | None) -> str:
    """Text of an HTML body using the declared charset, then a <meta charset>, then UTF-8 with replacement."""
    charset = None
    if content_type_header and "charset=" in content_type_header.lower():
        charset = content_type_header.lower().split("charset=")[-1].split(";")[0].strip().strip("\"'")
    if not charset:
        head = data[:2048].lower()
        marker = head.find(b"charset=")
        if marker >= 0:
            tail = head[marker + 8 :].lstrip(b"\"' ")
            charset = (
                tail.split(b'"')[0]
                .split(b"'")[0]
                .split(b";")[0]
                .split(b" ")[0]
                .split(b">")[0]
                .decode("ascii", "ignore")
            )
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


INTERACTION_KINDS = {
    "watchaction": "views",
    "likeaction": "likes",
    "shareaction": "shares",
    "commentaction": "comments",
}


def interaction_counts(post: dict[str, Any]) -> dict[str, int]:
    """View/like/share/comment counts a page states in schema.org ``interactionStatistic`` (the impact record
    of a case uses them). Only what the page says; absent counts stay absent."""
    stats = post.get("interactionStatistic")
    if isinstance(stats, dict):
        stats = [stats]
    counts: dict[str, int] = {}
    for stat in stats if isinstance(stats, list) else []:
        if not isinstance(stat, dict):
            continue
        kind = stat.get("interactionType")
        if isinstance(kind, dict):
            kind = kind.get("@type")
        name = INTERACTION_KINDS.get(str(kind or "").rsplit("/", 1)[-1].lower())
        value = stat.get("userInteractionCount")
        try:
            number = int(str(value).replace(",", ""))
        except (TypeError, ValueError):
            continue
        if name and number >= 0:
            counts[name] = number
    return counts
