"""The sightings chart stays readable for the smallest case: one sighting, or several at the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idolguard.cases.impact import sightings_chart_png
from idolguard.report.charts import time_axis_limits


def test_one_sighting_gets_a_padded_time_axis() -> None:
    moment = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    first, last = time_axis_limits([moment])
    assert first < moment < last and last - first == timedelta(hours=2)


def test_a_long_spread_is_padded_proportionally() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    first, last = time_axis_limits([start, start + timedelta(days=20)])
    assert start - first == timedelta(days=1) and last - (start + timedelta(days=20)) == timedelta(days=1)


def test_single_sighting_chart_renders() -> None:
    png = sightings_chart_png({"sightings": [{"platform": "x", "when": "2026-11-01T09:00:00+00:00"}]})
    assert png is not None and png.startswith(b"\x89PNG")


def test_a_month_long_spread_gets_evenly_spaced_day_ticks() -> None:
    """matplotlib's day ticks restart at each month's 1st: 11-29 and 12-01 overlapped on the case page."""
    from idolguard.report.charts import date_ticks

    first, last = time_axis_limits([datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 12, 3, 22, tzinfo=UTC)])
    ticks = date_ticks(first, last)
    assert ticks is not None and 3 <= len(ticks) <= 6
    gaps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(gaps) == 1 and min(gaps) >= timedelta(days=5)  # one spacing, wide enough for a date label
    assert first <= ticks[0] and ticks[-1] <= last and all(t.hour == 0 for t in ticks)
    assert date_ticks(first, first + timedelta(days=2)) is None  # short spans keep matplotlib's hour ticks
    png = sightings_chart_png(
        {"sightings": [{"platform": "x", "when": t.isoformat()} for t in (first, last)]}, lang="ko"
    )
    assert png is not None and png.startswith(b"\x89PNG")
