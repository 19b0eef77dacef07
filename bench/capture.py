"""Seconds per capture of the fixture post, by configuration, against a plain SSRF-checked GET of the same page.

    python bench/capture.py [--repeats 7]

Serves the tests' fixture site on 127.0.0.1 (allowlisted for this run), makes a fresh SQLite workspace, and
captures ``/post/N`` (page + 3 media files, media analysis off so only capture itself is timed) in three
configurations: HTTP only (page, media, WARC, manifest), + WACZ packaging, + Chromium screenshot and PDF
(with WACZ). Chromium is launched once (its start-up is printed separately, as ``capture`` pays it once per
command). Prints the median and the ratio to the baseline GET measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idolguard.capture.browser import BrowserPool  # noqa: E402
from idolguard.capture.fetch import Budget, SafeFetcher  # noqa: E402
from idolguard.capture.netpolicy import NetPolicy  # noqa: E402
from idolguard.capture.service import capture_urls  # noqa: E402
from idolguard.capture.settings import CHROMIUM_PATH, CaptureSettings  # noqa: E402
from idolguard.workspace import Workspace, init_workspace  # noqa: E402
from tests.capture.server import serve  # noqa: E402


def median_seconds(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site, servers = serve(tmp)
        home = tmp / "ws"
        init_workspace(home)
        ws = Workspace.open(home)
        counter = iter(range(10_000))

        def baseline() -> None:
            fetcher = SafeFetcher(NetPolicy(["127.0.0.1/32"]), Budget(1 << 26, 60))
            assert fetcher.get(f"{site.base}/post/{next(counter)}", max_bytes=1 << 22).final is not None

        def capture(settings: CaptureSettings, pool: BrowserPool | None) -> None:
            [out] = capture_urls(ws, [f"{site.base}/post/{next(counter)}"], settings, pool=pool, analyze_media=False)
            assert out.status == 200 and len([m for m in out.media if m.sha256]) == 3, out.errors

        base = CaptureSettings.from_workspace(ws, allow=["127.0.0.1/32"])
        http_only = CaptureSettings(**{**base.__dict__, "browser": False, "wacz": False})
        with_wacz = CaptureSettings(**{**base.__dict__, "browser": False, "wacz": True})
        with_browser = CaptureSettings(**{**base.__dict__, "browser": True, "wacz": True})

        t_base = median_seconds(baseline, args.repeats)
        rows = [("baseline: one SSRF-checked GET of the page", t_base)]
        rows.append(
            (
                "capture, HTTP only (page+3 media, WARC, manifest)",
                median_seconds(lambda: capture(http_only, None), args.repeats),
            )
        )
        rows.append(("capture, + WACZ", median_seconds(lambda: capture(with_wacz, None), args.repeats)))
        pool = BrowserPool(CHROMIUM_PATH)
        if pool.unavailable_reason() is None:
            start = time.perf_counter()
            pool.browser()
            launch = time.perf_counter() - start
            rows.append(
                (
                    "capture, + WACZ + screenshot + PDF",
                    median_seconds(lambda: capture(with_browser, pool), args.repeats),
                )
            )
            rows.append(("(Chromium launch, once per command)", launch))
            pool.close()
        else:
            print(f"browser rows skipped: {pool.unavailable_reason()}")
        ws.close()
        for server in servers:
            server.shutdown()
    print(f"median of {args.repeats} runs, seconds per URL (ratio to baseline GET)")
    for name, seconds in rows:
        print(f"  {name:<52} {seconds:8.4f} s  x{seconds / t_base:,.0f}")


if __name__ == "__main__":
    main()
