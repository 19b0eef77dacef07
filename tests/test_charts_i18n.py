"""Every chart speaks the reader's language and draws Korean letters with real glyphs, never empty boxes.

matplotlib warns "Glyph ... missing from font(s)" for each letter its fonts lack (and then draws a box): each
chart is rendered in Korean, with Korean platform and recipient names, with that warning turned into a
failure. The SVG chart keeps each text in a comment beside its outlines, so its Korean words are checked too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idolguard.report import charts, i18n

HANGUL = re.compile(r"[\uac00-\ud7a3]")

DETAIL = {
    "id": 7,
    "items": [],
    "captures": [],
    "sightings": [
        {"platform": "네이버 카페", "when": "2026-11-01T09:00:00+00:00", "account": "@팬", "url": None},
        {"platform": None, "when": "2026-11-03T09:00:00+00:00", "account": None, "url": None},
        {"platform": "x", "when": "2026-11-04T09:00:00+00:00", "account": "@a", "url": None},
    ],
}
FIGURES = {"sent": 3, "removed": 1, "partially_removed": 1, "acceptance": 0.667}


@pytest.fixture(autouse=True)
def _needs_hangul_font() -> None:
    if charts.hangul_font() is None:
        pytest.skip("no font with Hangul is installed (scripts/system-deps.sh installs fonts-noto-cjk)")


@pytest.fixture
def no_tofu() -> Iterator[None]:
    """Fail on any glyph the chart's fonts lack (matplotlib would draw an empty box for it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
        yield


def test_every_chart_word_has_korean() -> None:
    english = {k: v for k, v in i18n.catalog("en").items() if k.startswith("chart.")}
    korean = i18n.catalog("ko")
    assert english, "no chart.* words in the report catalog"
    for key, text in english.items():
        assert HANGUL.search(korean.get(key, "")), f"{key}: no Korean in report/locales/ko.json"
        assert set(re.findall(r"{(\w+)}", korean[key])) == set(re.findall(r"{(\w+)}", text)), key


def test_incident_spread_chart_in_korean(no_tofu: None) -> None:
    from idolguard.incidents.views import spread_chart_svg

    korean = spread_chart_svg(DETAIL, "ko")
    for words in ("인시던트 7 확산 추이", "누적 발견 기록 수", "네이버 카페 (1)", "알 수 없음 (1)"):
        assert words in korean, words
    assert "Spread of incident" not in korean and "cumulative sightings" not in korean
    english = spread_chart_svg(DETAIL, "en")
    assert "Spread of incident 7" in english and "unknown (1)" in english and "네이버 카페" in english


def test_case_charts_in_korean(no_tofu: None) -> None:
    from idolguard.cases.impact import impact_record, platforms_chart_png, sightings_chart_png

    for korean, english in (
        (sightings_chart_png(DETAIL, "ko"), sightings_chart_png(DETAIL, "en")),
        (platforms_chart_png(impact_record(DETAIL), "ko"), platforms_chart_png(impact_record(DETAIL), "en")),
    ):
        assert korean and korean.startswith(b"\x89PNG") and english and korean != english


def test_takedown_chart_names_recipients_in_korean(no_tofu: None) -> None:
    from idolguard.takedowns.notices import stats_chart_png

    data = {"by_recipient": {"x": FIGURES, "naver": FIGURES}}
    korean = stats_chart_png(data, {"x": "엑스(X)", "naver": "네이버"}, "ko")
    english = stats_chart_png(data, {"x": "X (Twitter)", "naver": "Naver"}, "en")
    assert korean.startswith(b"\x89PNG") and korean != english
    assert stats_chart_png({"by_recipient": {}}, None, "ko").startswith(b"\x89PNG")  # "(없음)"


def test_roc_curve_in_korean(no_tofu: None, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from idolguard.detect.evaluation import FileScore, roc_plot

    scores = [
        FileScore(f"{i}.jpg", label, None, logit, None, 1, None, {})
        for i, (label, logit) in enumerate([(0, -2.0), (0, -1.0), (1, 1.0), (1, 0.5), (0, 0.7)])
    ]
    title = charts.words("ko")["roc_title"].format(detector="sbi 1", labels="라벨.csv", degrade="none")
    roc_plot(scores, tmp_path / "roc.png", title, "ko")
    assert (tmp_path / "roc.png").read_bytes().startswith(b"\x89PNG")


def _settings() -> dict[str, Any]:
    """matplotlib's settings as stored (reading ``rcParams["backend"]`` would pick a backend, a change itself)."""
    import matplotlib

    return dict(dict.items(matplotlib.rcParams))


def _every_chart(tmp_path: Path) -> list[bytes | str | None]:
    """Each chart IdolGuard draws, in Korean (Korean platform and recipient names)."""
    from idolguard.cases.impact import impact_record, platforms_chart_png, sightings_chart_png
    from idolguard.incidents.views import spread_chart_svg
    from idolguard.takedowns.notices import stats_chart_png

    drawn: list[bytes | str | None] = [
        spread_chart_svg(DETAIL, "ko"),
        sightings_chart_png(DETAIL, "ko"),
        platforms_chart_png(impact_record(DETAIL), "ko"),
        stats_chart_png({"by_recipient": {"naver": FIGURES}}, {"naver": "네이버"}, "ko"),
    ]
    try:
        from idolguard.detect.evaluation import FileScore, roc_plot

        scores = [FileScore(f"{i}.jpg", i % 2, None, float(i), None, 1, None, {}) for i in range(4)]
        roc_plot(scores, tmp_path / "roc.png", "ROC 곡선", "ko")
        drawn.append((tmp_path / "roc.png").read_bytes())
    except ImportError:  # sklearn is optional
        pass
    return drawn


def test_charts_leave_matplotlib_settings_as_found(no_tofu: None, tmp_path: Path) -> None:
    """The web server draws charts in-process: a chart must not change fonts (or anything else) for the
    process's other matplotlib users, and still draws Korean when the process's own font has no Hangul."""
    import matplotlib

    with matplotlib.rc_context({"font.family": ["serif"], "axes.unicode_minus": True, "lines.linewidth": 3.0}):
        before = _settings()
        drawn = _every_chart(tmp_path)
        assert _settings() == before
        assert matplotlib.rcParams["font.family"] == ["serif"] and matplotlib.rcParams["axes.unicode_minus"]
    assert all(drawn)
    # The incident chart's letters are outlines of the Hangul font (its glyphs' ids name it), not boxes.
    font = charts.hangul_font()
    assert font
    assert re.search(r'<path id="' + re.escape(font.split()[0]), str(drawn[0])), "no glyph from the Hangul font"


def test_charts_drawn_at_once_in_threads_leave_settings_as_found() -> None:
    """Two charts at once (the web server's threads): the second waits for the first, else the second would
    save the first's chart settings and, leaving after the first, put them back for good."""
    import threading

    import matplotlib

    before = _settings()
    first_in, first_go, second_in, second_go = (threading.Event() for _ in range(4))
    seen: dict[str, Any] = {}

    def draw(name: str, inside: threading.Event, go: threading.Event) -> None:
        with charts.figure(2, 1) as fig:
            inside.set()
            go.wait(10)
            seen[name] = list(matplotlib.rcParams["font.family"])
            fig.add_subplot().set_title("한글")
            charts.png(fig)

    first = threading.Thread(target=draw, args=("first", first_in, first_go))
    second = threading.Thread(target=draw, args=("second", second_in, second_go))
    first.start()
    assert first_in.wait(10)
    second.start()
    assert not second_in.wait(0.5), "a second chart started while the first was being drawn"
    first_go.set()
    second_go.set()
    first.join(10)
    second.join(10)
    assert second_in.is_set()
    assert seen["first"] == seen["second"] == charts.chart_style()["font.family"]
    assert _settings() == before
