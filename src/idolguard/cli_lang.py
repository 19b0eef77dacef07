"""Korean and English for the command line: which language, and the catalogs that say it.

Source messages are English, written in the code; Korean lives in gettext catalogs under ``locales/cli/``
(``*.ko.po``, read with Babel on first use, so no compile step). One catalog per area (``core.ko.po``,
``cases.ko.po``...) so areas adding commands do not all edit one file; ``errors.ko.po`` holds the templates of
errors raised below the CLI (``no IdolGuard workspace at {home} ...``), matched against an exception's text so a
refusal from any layer is shown in Korean without that layer knowing about languages. ``help.ko.po`` holds
the ``--help`` texts (docstrings and option help, keyed by the English as ``--help`` shows it);
``cli_support.plain_help`` puts the command tree into the chosen language before help is rendered.

Language, first that applies: ``idolguard --lang ko|en``, ``IDOLGUARD_LANG``, the locale (``LC_ALL``, then
``LC_MESSAGES``, then ``LANG``: starting with ``ko`` means Korean), else English. Only text meant for people
changes: ``--json`` lines, exported files, ledger entries and exit codes are the same in both languages.

``tests/cli/test_cli_i18n.py`` walks the CLI's source and fails when a message given to the output helpers has
no Korean entry, naming the catalog file and the entry to add.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from idolguard.coded_text import template_pattern

LANGS = ("en", "ko")
ENV = "IDOLGUARD_LANG"
LOCALES = Path(__file__).with_name("locales") / "cli"
SHARED = Path(__file__).with_name("locales")  # catalogs the web reads too: ``errcodes.ko.po`` (typed error codes)
ERRORS_CATALOG = "errors"

_chosen: str | None = None  # ``--lang``, for the command now running


def choose(lang: str | None) -> None:
    """Set (or with ``None`` forget) the language given by ``--lang`` for this run."""
    global _chosen
    _chosen = lang if lang in LANGS else None


def from_args(args: list[str]) -> str | None:
    """``--lang X`` / ``--lang=X`` among the global options (before the command name), read before Click parses
    the line, so ``idolguard --lang ko scan --help`` already shows Korean help."""
    tokens = iter(args)
    for token in tokens:
        if token == "--lang":
            return next(tokens, None)
        if token.startswith("--lang="):
            return token.split("=", 1)[1]
        if not token.startswith("-") or token == "--":
            return None
    return None


def current() -> str:
    """The language of this run's human output (see the module's docstring for the order)."""
    if _chosen:
        return _chosen
    wanted = os.environ.get(ENV, "").strip().lower()[:2]
    if wanted in LANGS:
        return wanted
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:  # POSIX: the first one set decides, even when it says C or en_US
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every translated message of ``lang`` (empty for English, the source language)."""
    if lang == "en":
        return {}
    table: dict[str, str] = {}
    for path in [*sorted(SHARED.glob(f"*.{lang}.po")), *sorted(LOCALES.glob(f"*.{lang}.po"))]:
        table.update(read_catalog(path))
    return table


def read_catalog(path: Path) -> dict[str, str]:
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        po = read_po(handle)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


def tr(message: str, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` fields filled from ``values`` (values are inserted as
    given: escape data first where the result is Rich markup)."""
    text = catalog(current()).get(message, message) if current() != "en" else message
    return text.format(**values) if values else text


def N_(message: str) -> str:  # noqa: N802 (the conventional gettext marker)
    """Marks a message for the catalog where it is translated later (a table of labels, a help text)."""
    return message


@cache
def _error_rules(lang: str) -> list[tuple[re.Pattern[str], str]]:
    path = LOCALES / f"{ERRORS_CATALOG}.{lang}.po"
    if not path.is_file():
        return []
    rules = [(template_pattern(source), target) for source, target in read_catalog(path).items() if "{" in source]
    # The most specific (longest literal text) first, so "no database at {x}" wins over "{what}: {why}".
    rules.sort(key=lambda rule: -len(re.sub(r"\(\?P[<=]\w+>?(?:\.\+\?)?\)", "", rule[0].pattern)))
    return rules


CODE_FIELDS = {"status", "state", "old", "new", "role"}


def _inner(name: str, value: str, lang: str) -> str:
    """A value taken from an error's text: a nested reason is translated too, a code word (``{family}``) by
    its catalog label; data (paths, names, numbers) stays as it is."""
    if name == "reason":
        return tr_error(value, lang)
    if name == "family":
        return catalog(lang).get(value, value)
    if name in CODE_FIELDS:  # a status or role code, maybe quoted ('sent'): its label when the catalog has one
        code = value.strip("'\"")
        label = catalog(lang).get(code, code)
        return label if label != code else value
    return value


def tr_error(error: str | BaseException, lang: str | None = None) -> str:
    """An error (an exception, or its text) from this CLI or raised by any layer below it, in the current
    language (or ``lang``): an exact catalog entry, else the first ``errors.ko.po`` template its text matches,
    with the values taken from the text; else, for an error with a typed code (``idolguard.errors.ErrorCode``),
    the code's message (``error_messages``, the one the web pages show) filled from its params; else as is."""
    if isinstance(error, BaseException):
        from idolguard.errors import code_of

        return tr_stored(str(error), str(code_of(error)), getattr(error, "params", None), lang)
    return tr_stored(error, None, None, lang)


def tr_stored(text: str, code: str | None, params: dict[str, Any] | None, lang: str | None = None) -> str:
    """A stored failure (a file's ``error`` with its ``error_code``/``error_params``, or an exception's parts)
    in the current language (or ``lang``), as ``tr_error`` says it."""
    lang = lang if lang in LANGS else current()
    if lang == "en":
        return text
    translated = _from_text(text, lang)
    if translated is not None and (_HANGUL.search(translated) or not code):
        return translated
    coded = _from_code(code, params or {}, lang) if code else None
    return coded or translated or text


_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _from_text(text: str, lang: str) -> str | None:
    exact = catalog(lang).get(text)
    if exact is not None:
        return exact
    for pattern, target in _error_rules(lang):
        match = pattern.fullmatch(text)
        if match:
            values = {name: _inner(name, value, lang) for name, value in match.groupdict().items()}
            return target.format(**values)
    return None


def _from_code(code: str, params: dict[str, Any], lang: str) -> str | None:
    """The catalog message of a typed code (the administrators' wording: the command line is run by people who
    may change settings), or ``None`` for the generic code or one this version does not know."""
    from idolguard.error_messages import ADMIN_MESSAGES, MESSAGES
    from idolguard.errors import ErrorCode

    try:
        known = ErrorCode(code)
    except ValueError:
        return None
    if known is ErrorCode.GENERIC or known not in MESSAGES:
        return None
    template = ADMIN_MESSAGES.get(known) or MESSAGES[known]
    values = {name: params.get(name, "\u2026") for name in re.findall(r"{(\w+)}", template)}
    text = catalog(lang).get(template, template)
    return text.format(**values) if values else text
