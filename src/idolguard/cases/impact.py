"""Impact record of a case: copies, platforms, accounts, sightings over time, engagement counts recorded by
captures, and how long each captured copy stayed online (first seen -> removal confirmed by ``recheck``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from idolguard.report import charts
from idolguard.report.charts import set_date_ticks, time_axis_limits


def impact_record(detail: dict[str, Any]) -> dict[str, Any]:
    sightings = detail["sightings"]
    times = [datetime.fromisoformat(s["when"]) for s in sightings]
    platforms = Counter((s["platform"] or "unknown") for s in sightings)
    accounts = {((s["platform"] or "unknown"), s["account"]) for s in sightings if s["account"]}
    engagement = []
    online = []
    first_seen_by_url: dict[str, datetime] = {}
    for s in sightings:
        if s["url"]:
            when = datetime.fromisoformat(s["when"])
            first_seen_by_url[s["url"]] = min(when, first_seen_by_url.get(s["url"], when))
    for capture in detail["captures"]:
        context = capture["context"] or {}
        counts = {k: context.get(k) for k in ("views", "likes", "shares", "comments") if context.get(k) is not None}
        url = capture["final_url"] or capture["url"]
        if counts:
            engagement.append({"capture": capture["id"], "url": url, "at": capture["captured_at"], **counts})
        first = first_seen_by_url.get(capture["url"]) or first_seen_by_url.get(url)
        captured = datetime.fromisoformat(capture["captured_at"])
        first = min(first, captured) if first else captured
        removed = next((c for c in capture["checks"] if c["state"] in ("removed", "blocked")), None)
        last = capture["checks"][-1] if capture["checks"] else None
        end = datetime.fromisoformat(removed["at"]) if removed else None
        online.append(
            {
                "capture": capture["id"],
                "url": url,
                "first_seen": first.isoformat(),
                "removed_at": removed["at"] if removed else None,
                "removal_state": removed["state"] if removed else None,
                "last_check": last["state"] if last else None,
                "days_online": round((end - first).total_seconds() / 86400, 1) if end else None,
            }
        )
    return {
        "copies": sum(1 for i in detail["items"] if i["media_type"] in ("image", "video")),
        "sightings": len(sightings),
        "platforms": dict(platforms.most_common()),
        "accounts": len(accounts),
        "first": min(times).isoformat() if times else None,
        "last": max(times).isoformat() if times else None,
        "engagement": engagement,
        "online": online,
    }


def sightings_chart_png(detail: dict[str, Any], lang: str | None = None) -> bytes | None:
    """Cumulative sightings per platform over time, its words in ``lang`` (``ko``/``en``; default the report
    being rendered): platform names as recorded (Korean ones drawn with a Hangul font, ``report.charts``),
    dates as numbers, the axis label and an unknown platform from the catalog."""
    text = charts.words(lang)
    series: dict[str, list[datetime]] = defaultdict(list)
    for s in detail["sightings"]:
        series[s["platform"] or text["unknown_platform"]].append(datetime.fromisoformat(s["when"]))
    if not series:
        return None
    with charts.figure(7.0, 2.8) as figure:
        axes = figure.add_subplot()
        for platform, times in sorted(series.items()):
            times.sort()
            axes.step(
                times,
                range(1, len(times) + 1),
                where="post",
                marker="o",
                markersize=3,
                label=f"{platform} ({len(times)})",
            )
        from matplotlib.ticker import MaxNLocator

        limits = time_axis_limits([t for times in series.values() for t in times])
        axes.set_xlim(*limits)
        set_date_ticks(axes, *limits)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of sightings, never 1.5
        most = max((len(times) for times in series.values()), default=1)
        # Counts start at 0 (one sighting each would otherwise zoom to 0.95-1.05); headroom keeps the top points
        # clear of the legend in the upper left.
        axes.set_ylim(0, most + max(1, round(most * 0.5)))
        axes.set_ylabel(text["cumulative_sightings"], fontsize=8)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=7)
        figure.autofmt_xdate()
        figure.tight_layout()
        return charts.png(figure)


def platforms_chart_png(record: dict[str, Any], lang: str | None = None) -> bytes | None:
    """Sightings per platform (``impact_record``'s counts), its words in ``lang`` as ``sightings_chart_png``."""
    if not record["platforms"]:
        return None
    text = charts.words(lang)
    with charts.figure(7.0, 0.9 + 0.3 * len(record["platforms"])) as figure:
        axes = figure.add_subplot()
        names = list(record["platforms"])[::-1]
        labels = [text["unknown_platform"] if n == "unknown" else n for n in names]
        axes.barh(labels, [record["platforms"][n] for n in names], color="#4a6fa5")
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(text["sightings"], fontsize=8)
        axes.grid(axis="x", alpha=0.3)
        figure.tight_layout()
        return charts.png(figure)
