"""Charts (matplotlib) that read in Korean as well as English: one font setup and one catalog for their words.

Every chart IdolGuard draws (a case's sightings and platforms, an incident's spread, takedown statistics, a
detector's ROC curve) lands in a report, a PDF or a page that may be Korean. Two things make that work:

* words: titles, axis labels and legends come from the HTML report's catalogs (``report/locales/{en,ko}.json``,
  keys ``chart.*``) through ``words(lang)``, so a Korean report never carries an English chart;
* glyphs: matplotlib's default font (DejaVu Sans) has no Hangul, so Korean labels, and Korean platform,
  account or recipient names in either language, would print as empty boxes. ``new_figure`` puts a font with
  Hangul (Noto Sans CJK from ``fonts-noto-cjk``, installed by ``scripts/system-deps.sh``; NanumGothic and the
  usual desktop fonts also work) behind DejaVu Sans, and matplotlib falls back to it glyph by glyph. Text is
  drawn as outlines (PNG pixels, SVG paths), so a report shows the same letters wherever it is opened, offline.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

# Fonts with Hangul, best first: the Noto CJK family ships with Debian's fonts-noto-cjk (system-deps.sh).
HANGUL_FONTS = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "NanumGothic",
    "NanumBarunGothic",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
)
LATIN_FONT = "DejaVu Sans"  # matplotlib's own (always there); its Latin letters and digits look as before


@cache
def hangul_font() -> str | None:
    """The name of an installed font with Hangul glyphs that matplotlib can use, or ``None`` (then Korean
    letters cannot be drawn: ``scripts/system-deps.sh`` installs fonts-noto-cjk)."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in installed), None)


def new_figure(width: float, height: float, dpi: int = 110) -> Any:
    """A matplotlib ``Figure`` (no pyplot: no global state, safe in the web server's threads) whose text falls
    back to a Hangul font for letters DejaVu Sans lacks."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    family = [LATIN_FONT, *([hangul_font()] if hangul_font() else [])]
    # Named fonts, not the generic "sans-serif" (which resolves to one font, without fallback). Read when text
    # is measured and drawn: set for the process (only our charts use matplotlib).
    matplotlib.rcParams["font.family"] = family
    matplotlib.rcParams["axes.unicode_minus"] = False  # U+2212 is missing from some CJK fonts
    return Figure(figsize=(width, height), dpi=dpi)


def png(figure: Any) -> bytes:
    """The figure as PNG bytes (no software or date metadata: the same chart gives the same file)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def svg(figure: Any) -> str:
    """The figure as SVG text, its letters as outlines (each text is also kept in a comment beside them)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def words(lang: str | None = None) -> dict[str, str]:
    """The ``chart.*`` words of the report catalog in ``lang`` (``ko``/``en``; default: the language being
    rendered, ``report.i18n.current``), keyed without the prefix; English for a key Korean lacks."""
    from idolguard.report import i18n

    chosen = i18n.resolve(lang) if lang else i18n.current()
    english = {k[6:]: v for k, v in i18n.catalog("en").items() if k.startswith("chart.")}
    return {**english, **{k[6:]: v for k, v in i18n.catalog(chosen).items() if k.startswith("chart.")}}
