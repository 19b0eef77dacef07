"""The sightings chart stays readable for the smallest case: one sighting, or several at the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idolguard.cases.impact import sightings_chart_png, time_axis_limits


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
