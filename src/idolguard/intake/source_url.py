"""Where media was found: only the http(s) address of a post or page is recorded as a sighting's source URL.

A source URL travels far: into case files, reports and legal takedown notices pasted into platforms' forms.
A ``javascript:``, ``data:`` or ``file:`` "URL" there is at best useless and at worst a script a reader's
browser runs, so every door that takes one (``scan``/``ingest --source-url``, the web intake form, the API)
refuses anything but an ``http://``/``https://`` address with a host, and notices skip one that older data
may still hold (``is_web_url``). Purely syntactic: nothing is resolved or fetched here.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from idolguard.errors import ErrorCode, RejectedInput

MAX_LENGTH = 2000
SCHEMES = ("http", "https")


class BadSourceUrl(RejectedInput):
    """A source URL that is not an http(s) web address; ``reason`` says why for front doors with their own
    words (``scheme``, ``host``, ``characters``, ``length``), the English text is what the CLI prints."""

    def __init__(self, message: str, reason: str, code: ErrorCode, **params: Any) -> None:
        super().__init__(message, code=code, **params)
        self.reason = reason


def _bad_character(ch: str) -> bool:
    """Spaces, controls, format characters (bidi overrides, zero-width) and separators have no place in a URL."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs")


def check_source_url(text: str | None) -> str | None:
    """``text`` (surrounding spaces removed) when it is an http(s) address of a page, ``None`` when empty;
    else ``BadSourceUrl`` saying what to give instead."""
    if text is None:
        return None
    url = text.strip()
    if not url:
        return None
    if len(url) > MAX_LENGTH:
        raise BadSourceUrl(
            f"the source URL is longer than {MAX_LENGTH} characters",
            "length",
            ErrorCode.SOURCE_URL_TOO_LONG,
            limit=MAX_LENGTH,
        )
    shown = ascii(url)[1:-1][:200]
    if any(_bad_character(ch) for ch in url):
        raise BadSourceUrl(
            f"the source URL '{shown}' contains spaces or control characters",
            "characters",
            ErrorCode.SOURCE_URL_SPACES,
            url=shown,
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise BadSourceUrl(
            f"the source URL '{shown}' is not a valid web address", "host", ErrorCode.SOURCE_URL_INVALID, url=shown
        ) from exc
    if parts.scheme.lower() not in SCHEMES:
        raise BadSourceUrl(
            f"the source URL '{shown}' is not a web address: give the http:// or https:// address of the post "
            "or page where the media was found",
            "scheme",
            ErrorCode.SOURCE_URL_NOT_WEB,
            url=shown,
        )
    if not parts.hostname:
        raise BadSourceUrl(
            f"the source URL '{shown}' has no host name", "host", ErrorCode.SOURCE_URL_NO_HOST, url=shown
        )
    return url


def is_web_url(text: str | None) -> bool:
    """Whether a stored source URL may be shown as a link or listed in a notice (older records were taken
    before ``check_source_url`` guarded every door)."""
    try:
        return check_source_url(text) is not None
    except BadSourceUrl:
        return False
