"""Canonical form of a reported or watched link, so the same post reached by different URLs counts once.

Used by the public portal (de-duplication of fan reports against earlier reports, sightings and captures) and
by monitoring (seen-by-URL). Canonicalisation is purely syntactic: nothing here opens a connection or even
resolves a name, so a hostile link cannot make the portal reach anything. Short links (bit.ly, t.co, ...) are
kept as they are and flagged: following them is the capture job's work, under capture's SSRF policy.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from idolguard.capture.errors import CaptureRefused
from idolguard.capture.netpolicy import forbidden_reason
from idolguard.errors import ErrorCode

MAX_URL_LENGTH = 2048

# Query parameters that only say who shared a link or which campaign it came from.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "igsh",
        "mibextid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "share_id",
        "share_source",
        "is_from_webapp",
        "sender_device",
        "rdid",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "hmb_")
# Parameters that are tracking on some hosts but meaningful elsewhere.
HOST_TRACKING_PARAMS = {
    "x.com": {"s", "t", "ref"},
    "www.youtube.com": {"si", "feature", "pp"},
    "www.instagram.com": {"utm_source", "img_index"},
    "www.tiktok.com": {"_r", "_t", "lang", "q", "sec_uid", "source"},
}

# Mobile and alternate host names mapped to the one the platform treats as canonical.
HOST_ALIASES = {
    "twitter.com": "x.com",
    "www.twitter.com": "x.com",
    "mobile.twitter.com": "x.com",
    "m.twitter.com": "x.com",
    "www.x.com": "x.com",
    "mobile.x.com": "x.com",
    "fxtwitter.com": "x.com",
    "vxtwitter.com": "x.com",
    "fixupx.com": "x.com",
    "fixvx.com": "x.com",
    "youtube.com": "www.youtube.com",
    "m.youtube.com": "www.youtube.com",
    "music.youtube.com": "www.youtube.com",
    "instagram.com": "www.instagram.com",
    "m.instagram.com": "www.instagram.com",
    "facebook.com": "www.facebook.com",
    "m.facebook.com": "www.facebook.com",
    "mbasic.facebook.com": "www.facebook.com",
    "web.facebook.com": "www.facebook.com",
    "tiktok.com": "www.tiktok.com",
    "m.tiktok.com": "www.tiktok.com",
    "telegram.me": "t.me",
    "www.t.me": "t.me",
    "reddit.com": "www.reddit.com",
    "old.reddit.com": "www.reddit.com",
    "m.reddit.com": "www.reddit.com",
    "np.reddit.com": "www.reddit.com",
    "m.blog.naver.com": "blog.naver.com",
    "m.cafe.naver.com": "cafe.naver.com",
    "m.post.naver.com": "post.naver.com",
    "mobile.twitch.tv": "www.twitch.tv",
    "m.twitch.tv": "www.twitch.tv",
    "twitch.tv": "www.twitch.tv",
    "m.weibo.cn": "weibo.com",
    "m.weibo.com": "weibo.com",
    "www.weibo.com": "weibo.com",
}

# Redirect services: the portal never follows them (the capture job does, SSRF-checked at every hop).
SHORT_LINK_HOSTS = frozenset(
    {
        "bit.ly",
        "t.co",
        "tinyurl.com",
        "goo.gl",
        "ow.ly",
        "buff.ly",
        "is.gd",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "vm.tiktok.com",
        "vt.tiktok.com",
        "naver.me",
        "me2.do",
        "han.gl",
        "buly.kr",
        "url.kr",
        "lrl.kr",
        "t.ly",
        "rb.gy",
        "s.id",
        "dlvr.it",
        "fb.me",
        "redd.it",
        "pin.it",
        "amzn.to",
        "x.gd",
    }
)

# Host names that never name a public site, refused without a DNS lookup.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp", ".home")


class LinkError(ValueError):
    """A link that cannot be accepted, with a reason code the portal translates (``code``) and English text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Link:
    url: str  # canonical form
    original: str
    host: str
    short_link: bool


_CONTROL = re.compile("[\x00-\x20\x7f\u2028\u2029]")  # control characters, spaces, line separators


def canonical_link(raw: str, *, allow_hosts: frozenset[str] = frozenset(), check_host: bool = True) -> Link:
    """Check and canonicalise one http(s) link; raise ``LinkError`` with a clear reason when it is refused.

    ``allow_hosts`` lists host names or IP addresses that may be private (capture's allow-list, for tests
    and for an agency's own staging sites). ``check_host=False`` only canonicalises (for links already fetched
    under capture's policy, e.g. entries of a watched source).
    """
    if not isinstance(raw, str):
        raise LinkError("not_text", "a link must be text")
    text = raw.strip()
    if not text:
        raise LinkError("empty", "the link is empty")
    if len(text) > MAX_URL_LENGTH:
        raise LinkError("too_long", f"the link is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(text):
        raise LinkError("control_chars", "the link contains spaces, line breaks or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise LinkError("malformed", f"the link is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise LinkError("scheme", "only http:// and https:// links can be reported")
    if parts.username is not None or parts.password is not None:
        raise LinkError("credentials", "links with a user name or password are not accepted")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise LinkError("no_host", "the link has no host name")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise LinkError("bad_host", f"invalid international host name ({exc})") from exc
    if check_host:
        _check_host(host, allow_hosts)
    host = HOST_ALIASES.get(host, host)
    path = _clean_path(parts.path)
    query = _clean_query(host, parts.query)
    if host == "youtu.be" and path.strip("/"):
        video = path.strip("/").split("/")[0]
        host, path, query = "www.youtube.com", "/watch", urlencode([("v", video)])
    if host == "www.youtube.com" and path.startswith("/shorts/"):
        video = path.split("/")[2] if len(path.split("/")) > 2 else ""
        if video:
            path, query = "/watch", urlencode([("v", video)])
    if host == "t.me" and path.startswith("/s/"):  # the web preview of a post is the post
        path = path[2:]
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{netloc}:{port}"
    url = urlunsplit((scheme, netloc, path, query, ""))
    return Link(url=url, original=text, host=host, short_link=host in SHORT_LINK_HOSTS)


def check_capture_link(url: str, allow: Iterable[str]) -> None:
    """Refuse, before a capture is queued, a link the portal would refuse: ``canonical_link``'s check (private,
    loopback, link-local addresses in any spelling, local host names) with capture's allowlist (``allow``:
    ``[capture] allow`` / ``IDOLGUARD_CAPTURE_ALLOW``, as the portal passes it). The team's forms use it so
    a private address is refused on the form, with nothing queued, instead of in the job; the job still
    resolves the name and checks every address it connects to (``NetPolicy``)."""
    try:
        canonical_link(url, allow_hosts=frozenset(a.strip().lower() for a in allow))
    except LinkError as exc:
        if exc.code == "private_address":
            raise CaptureRefused(f"refused {url}: {exc}", code=ErrorCode.CAPTURE_PRIVATE_ADDRESS, url=url) from exc
        raise CaptureRefused(f"refused {url!r}: {exc}", code=ErrorCode.CAPTURE_INVALID_URL) from exc


def _check_host(host: str, allow_hosts: frozenset[str]) -> None:
    if host in allow_hosts:
        return
    ip = None
    if host[:1].isdigit() or ":" in host or host.startswith("["):  # only these can be IP literals
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            ip = None
    if ip is not None:
        reason = forbidden_reason(ip)
        if reason and not any(_in_network(ip, entry) for entry in allow_hosts):
            raise LinkError("private_address", f"the link points to a {reason}, not a public site")
        return
    if host.isdigit() or host.startswith("0x") or all(p.isdigit() for p in host.split(".")):
        raise LinkError("private_address", "numeric host names are not accepted")
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES) or "." not in host:
        raise LinkError("private_address", "the link points to a local or internal host name, not a public site")


def _in_network(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    try:
        net = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return ip.version == net.version and ip in net


def _clean_path(path: str) -> str:
    if not path:
        return "/"
    # One spelling of each character: decode, then re-encode what needs encoding.
    decoded = unquote(path)
    cleaned = quote(decoded, safe="/:@!$&'()*+,;=-._~%")
    if len(cleaned) > 1 and cleaned.endswith("/"):
        cleaned = cleaned.rstrip("/") or "/"
    return cleaned


def _clean_query(host: str, query: str) -> str:
    if not query:
        return ""
    extra = HOST_TRACKING_PARAMS.get(HOST_ALIASES.get(host, host), set())
    kept = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS
        and key.lower() not in extra
        and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    kept.sort()
    return urlencode(kept, doseq=True)
