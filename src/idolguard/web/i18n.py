"""Korean and English for every page and message.

Source strings are English (``locales/*.en.po`` only labels the codes pages show, e.g. ``in_review``);
``locales/ko.po`` holds the Korean (a Babel catalog, read with Babel at start-up,
so no compile step is needed to run), with one more catalog per group of pages (``locales/cases.ko.po``: cases,
accounts, takedowns) so areas' pages do not all edit one file.

One rule picks the language of every page (``pick_lang``): what the person chose (the language saved in their
account, else the one chosen with the language links, kept in a cookie), else the workspace's default
(``[web] lang``, Korean unless configured: an agency in Korea). The browser's ``Accept-Language`` never
overrides that for the team app: a staff member on an English browser still gets the agency's language until
they choose another. The public fan portal, whose visitors have no account, follows the same rule with the
browser's language in place of a saved one (``portal.intake.pick_language``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.pofile import read_po

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"
LOCALES = Path(__file__).with_name("locales")
SHARED = Path(__file__).parents[1] / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    # English is the source language; ``*.en.po`` only gives codes shown through ``_(value)`` (statuses,
    # verdicts...) their human labels, so the English UI never shows ``in_review`` or ``not_detected``.
    main = [] if lang == "en" else [LOCALES / f"{lang}.po"]
    table: dict[str, str] = {}
    # ``SHARED``: catalogs the command line reads too (the messages of typed error codes, ``errcodes.ko.po``).
    for path in [*main, *sorted(SHARED.glob(f"*.{lang}.po")), *sorted(LOCALES.glob(f"*.{lang}.po"))]:
        with open(path, "rb") as handle:
            po = read_po(handle, locale=lang)
        table.update({str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy})
    return table


def translator(lang: str) -> Callable[..., str]:
    table = catalog(lang if lang in LANGS else DEFAULT_LANG)

    def gettext(message: str, **values: object) -> str:
        text = table.get(message, message)
        return text.format(**values) if values else text

    return gettext


def N_(message: str) -> str:  # noqa: N802 (the conventional gettext marker)
    """Marks a message for the catalog where it is translated later (e.g. an exception's text)."""
    return message


def pick_lang(saved: str | None, cookie: str | None, default: str | None = None) -> str:
    """The page's language: the account's saved language, else the one chosen with the language links (the
    cookie), else ``default`` (the workspace's ``[web] lang``), else Korean. See the module's docstring."""
    for choice in (saved, cookie, default):
        if choice in LANGS:
            return choice  # type: ignore[return-value]
    return DEFAULT_LANG


def local_time(moment: datetime | str | None, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A time in the user's zone (default Asia/Seoul), minutes precision, with the zone's abbreviation.
    Accepts the ISO strings the areas' views return (a time without a zone is UTC, as stored); text that is
    not a time is shown as it is."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Seoul")
    return moment.astimezone(zone).strftime(fmt)


def human_size(size: object) -> str:
    """A byte count as people read it (``325.9 KB``), with the exact count when it is not a round unit."""
    if not isinstance(size, int | float) or isinstance(size, bool):
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    if unit == "B":
        return f"{int(size):,} B"
    shown = f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return shown if value.is_integer() else f"{shown} ({int(size):,} B)"


# Values shown through ``_(value)`` in templates (roles, statuses, verdicts...): the catalog must cover them.
DYNAMIC = (
    *("admin", "manager", "analyst", "counsel", "viewer"),
    *("new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate"),
    *("match", "possible", "no_match", "none"),
    *("likely_manipulated", "uncertain", "not_detected"),
    *("image", "video", "other"),
    *("receiving", "queued", "running", "done", "error", "upload", "capture"),
    *("ok", "partial", "refused"),
    *("open", "takedown_requested", "removed", "closed"),
    *("identity_check", "manipulation_check", "legal_review", "takedown_preparation"),
    *("known_abuse", "negative", "partner"),  # bank kinds
)


def used_messages() -> set[str]:
    """Every message id the app can show: literal ``_``, ``gettext``, ``N_`` and ``Denied`` calls, and ``DYNAMIC``."""
    import re

    quoted = r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
    in_templates = re.compile(r"\b_\(" + quoted)
    in_code = re.compile(r"(?:\bN_\(|\bgettext\(|\bDenied\(\d+,)" + quoted)
    found: set[str] = set(DYNAMIC)
    root = Path(__file__).parent
    code = [path for path in root.glob("*.py") if path.name != "cli.py"]  # cli.py speaks through the CLI catalog
    for pattern, paths in ((in_templates, root.glob("templates/*.j2")), (in_code, code)):
        for path in paths:
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found
