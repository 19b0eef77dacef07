"""Korean and English for the HTML evidence report (``scan --report``, ``demo``, ``capture --report``).

Strings live in catalogs with the same keys (``locales/en.json``, ``locales/ko.json``; the case report's
format, read the same way; a test keeps them in step). The language is the command line's
(``cli_lang.current()``: ``--lang``, ``IDOLGUARD_LANG``, the locale) unless a caller names one. While a report
renders, ``t()`` answers in its language, so the per-item sections areas declare (``report_sections``) speak
it without a language parameter in their signature.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any

LANGS = ("en", "ko")
_current: ContextVar[str] = ContextVar("report_lang", default="en")


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise ValueError(f"no report catalog for {lang!r}")
    text = resources.files("idolguard.report.locales").joinpath(f"{lang}.json").read_text(encoding="utf-8")
    table: dict[str, str] = json.loads(text)
    return table


def resolve(lang: str | None) -> str:
    """``lang`` if given (``ko``/``en``, ``ko_KR`` counts as ``ko``), else the command line's language."""
    if lang is None:
        from idolguard.cli_lang import current

        lang = current()
    short = lang.strip().lower()[:2]
    if short not in LANGS:
        raise ValueError(f"report language must be one of {', '.join(LANGS)}, not {lang!r}")
    return short


@contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Render in ``lang`` inside the block (sections called meanwhile read it through ``t``/``current``)."""
    token = _current.set(resolve(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def t(key: str, **values: object) -> str:
    """The report string ``key`` in the language being rendered (plain text: the template escapes it)."""
    text = catalog(current()).get(key) or catalog("en")[key]
    return text.format(**values) if values else text


def said(obj: Mapping[str, Any], field: str, lang: str | None = None) -> str:
    """``obj[field]``, a sentence the analysis stored in English, in the report's language (or ``lang``): said
    from its code (``<field>_code``/``_params``, keys ``said.<code>`` in the catalogs), else, for outputs
    stored before codes or with a code this version does not know, the stored text (``coded_text``)."""
    from idolguard.coded_text import said as coded_said

    chosen = resolve(lang) if lang is not None else current()
    return coded_said(obj, field, lambda code: catalog(chosen).get(f"said.{code}") or catalog("en").get(f"said.{code}"))
