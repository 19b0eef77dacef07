"""Charts (matplotlib) that read in Korean as well as English: one font setup and one catalog for their words.

Every chart IdolGuard draws (a case's sightings and platforms, an incident's spread, takedown statistics, a
detector's ROC curve) lands in a report, a PDF or a page that may be Korean. Two things make that work:

* words: titles, axis labels and legends come from the HTML report's catalogs (``report/locales/{en,ko}.json``,
  keys ``chart.*``) through ``words(lang)``, so a Korean report never carries an English chart;
* glyphs: matplotlib's default font (DejaVu Sans) has no Hangul, so Korean labels, and Korean platform,
  account or recipient names in either language, would print as empty boxes. ``figure`` puts a font with
  Hangul (Noto Sans CJK from ``fonts-noto-cjk``, installed by ``scripts/system-deps.sh``; NanumGothic and the
  usual desktop fonts also work) behind DejaVu Sans, and matplotlib falls back to it glyph by glyph. Text is
  drawn as outlines (PNG pixels, SVG paths), so a report shows the same letters wherever it is opened, offline.

These settings hold only while a chart is built and saved (``figure`` is a context manager around
``matplotlib.rc_context``): the web server draws charts in its threads, in the same process as any other
matplotlib user, and a chart must leave ``matplotlib.rcParams`` as it found them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
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


# rc_context saves rcParams on entry and restores them on exit: two charts drawn at once in two threads would
# each restore what the other had set (the second saves the first's settings and puts them back, for good).
# Charts are drawn one at a time (reentrant: a chart may be drawn inside another's block).
_DRAWING = threading.RLock()


def chart_style() -> dict[str, Any]:
    """The rcParams a chart is drawn with: DejaVu Sans, then a Hangul font for letters DejaVu Sans lacks."""
    family = [LATIN_FONT, *([hangul_font()] if hangul_font() else [])]
    # Named fonts, not the generic "sans-serif" (which resolves to one font, without fallback).
    return {"font.family": family, "axes.unicode_minus": False}  # U+2212 is missing from some CJK fonts


@contextmanager
def figure(width: float, height: float, dpi: int = 110) -> Iterator[Any]:
    """A matplotlib ``Figure`` (no pyplot: no global state, safe in the web server's threads) whose text falls
    back to a Hangul font, for the ``with`` block only: build the chart and save it (``png``, ``svg``,
    ``savefig``) inside the block. Fonts are read when a text is created and when it is measured and drawn
    (tick labels are made while saving), so the settings must hold until the figure is saved; on leaving the
    block ``matplotlib.rcParams`` are as before."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    style: Any = chart_style()  # rc_context's stubs want literal key types
    with _DRAWING, rc_context(style):
        yield Figure(figsize=(width, height), dpi=dpi)


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


def time_axis_limits(times: list[datetime]) -> tuple[datetime, datetime]:
    """The chart's time range, padded: one sighting (or several at one moment) otherwise gives matplotlib an
    empty range, which it widens to an unreadable axis of microseconds or decades."""
    first, last = min(times), max(times)
    pad = max((last - first) * 0.05, timedelta(hours=1))
    return first - pad, last + pad


def date_ticks(first: datetime, last: datetime, most: int = 6) -> list[datetime] | None:
    """Evenly spaced whole-day ticks for a time axis of ``first``..``last`` (at most ``most``), or None for a
    span under 3 days (matplotlib's own hour ticks are right there). matplotlib's default day ticks restart at
    each month's 1st (…, 11-29, 12-01): two labels two days apart overlapped on a month's spread."""
    days = (last - first).total_seconds() / 86400
    if days < 3:
        return None
    step = max(1, -(-int(days) // most))
    start = (first + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    while start <= last:
        ticks.append(start)
        start += timedelta(days=step)
    return ticks


def set_date_ticks(axes: Any, first: datetime, last: datetime) -> None:
    """``date_ticks`` on ``axes``'s x axis, labelled as dates (numbers: the same in Korean and English)."""
    ticks = date_ticks(first, last)
    if ticks is not None:
        from matplotlib.dates import DateFormatter

        axes.set_xticks(ticks)
        axes.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d", tz=first.tzinfo))  # type: ignore[no-untyped-call]
