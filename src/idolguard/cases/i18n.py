"""Korean and English strings of the case report, kept in translation catalogs (``locales/ko.json`` and
``locales/en.json``, same keys; a test keeps them in step). ``both`` renders Korean first, English below."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from markupsafe import Markup, escape

LANGS = ("ko", "en", "both")


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in ("ko", "en"):
        raise ValueError(f"no catalog for {lang!r}")
    return json.loads(resources.files("idolguard.cases.locales").joinpath(f"{lang}.json").read_text(encoding="utf-8"))


class Translator:
    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"--lang must be one of {', '.join(LANGS)}")
        self.lang = lang
        self.langs = ("ko", "en") if lang == "both" else (lang,)

    def plain(self, key: str, lang: str | None = None, **values: object) -> str:
        text = catalog(lang or self.langs[0])[key]
        return text.format(**values) if values else text

    def inline(self, key: str, **values: object) -> Markup:
        """A short label on one line: ``한국어 / English`` in ``both``, for the dense per-item blocks."""
        return Markup(" / ").join(escape(self.plain(key, lang, **values)) for lang in self.langs)

    def __call__(self, key: str, **values: object) -> Markup:
        """The text in the report's language(s), HTML-escaped; in ``both`` Korean then English."""
        parts = [
            Markup('<span lang="{}" class="{}">{}</span>').format(lang, lang, escape(self.plain(key, lang, **values)))
            for lang in self.langs
        ]
        return Markup('<br class="lang-sep">').join(parts)
