"""Ray engine scaling: 1 vs 2 Ray workers, and Ray with 2 workers against the local process pool with 2 processes,
on the same images, measured in one run; plus the per-core, per-stage rates docs/SCALING.md's capacity model
uses (images and video seconds per second per stage).

    python bench/ray_scale.py --images 2000 --repeats 3 --clips 4 --clip-seconds 10 --out /tmp/ray_scale.json \\
        --pg postgresql://postgres@127.0.0.1:5432/test

Every measured run analyses the same files from scratch in a fresh workspace (SQLite + local vault; the files
are ingested before the clock starts): all available stages (probe, faces, identity, manipulation, signals,
provenance, ...), results stored through the runner exactly as ``scan`` does. The clock includes starting the
workers and their model loads (process pool: process start-up and models per process; Ray: actor start-up and
models per actor); the Ray instance itself (``start_local_ray``: the local instance ``scan --engine ray``
starts, 2 CPUs, same settings) is started once before, as a cluster would be. Prints medians and the ratios:

- ``ray2 / ray1``: scaling from 1 to 2 Ray workers (target >= 1.7x on 2 free cores);
- ``ray2 / pool2``: Ray with 2 workers against the local process pool with 2 processes (target >= 0.85).

Per-stage rates come from the ``duration_ms`` each stored result records, summed over the 1-worker runs
(one core per worker), and for video from ``--clips`` generated clips analysed in-process. The driver's
store rate (``persist_batch`` alone: items and custody events per second) comes from one in-process run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def make_images(folder: Path, count: int) -> None:
    """Benign images: one in five a 320x320 crop of a public-domain portrait (a real face, so detection,
    embedding and the manipulation detector run), the rest generated shapes at 480x360. Every file unique."""
    from tests.conftest import astronaut, jpeg_bytes

    folder.mkdir(parents=True)
    portrait = astronaut()
    shapes = [jpeg_bytes(seed, size=(480, 360), quality=85) for seed in range(50)]
    for index in range(count):
        if index % 5 == 0:
            shift = (index // 5) % 150
            buffer = io.BytesIO()
            portrait.crop((shift, shift // 3, 340 + shift, 360 + shift // 3)).resize((320, 320)).save(
                buffer, "JPEG", quality=85
            )
            data = buffer.getvalue()
        else:
            data = shapes[index % 50]
        (folder / f"{index:05d}.jpg").write_bytes(data + index.to_bytes(4, "big"))  # bytes after EOI: unique


def fresh_workspace(root: Path, media: Path, db_url: str | None = None) -> tuple[Any, list[str]]:
    from idolguard.intake.ingest import Ingestor
    from idolguard.workspace import Workspace, init_workspace

    home = Path(tempfile.mkdtemp(dir=root, prefix="ws-"))
    if db_url:
        os.environ["IDOLGUARD_DB_URL"] = db_url
    else:
        os.environ.pop("IDOLGUARD_DB_URL", None)
    init_workspace(home)
    ws = Workspace.open(home)
    shas = [r.sha256 for r in Ingestor(ws).ingest([media]) if r.sha256 and not r.error]
    return ws, list(dict.fromkeys(shas))


def stage_ms(ws: Any) -> dict[str, tuple[int, int]]:
    """Per stage: (items with a result, total duration_ms) as stored."""
    from sqlalchemy import func, select

    from idolguard.db.models import StageResult

    with ws.sessions() as session:
        rows = session.execute(
            select(StageResult.stage, func.count(), func.sum(StageResult.duration_ms)).group_by(StageResult.stage)
        )
        return {stage: (int(count), int(total or 0)) for stage, count, total in rows}


STEADY: list[float] = []  # the steady rate of the last Ray run ``timed`` measured


def timed(root: Path, media: Path, engine: Any, db_url: str | None = None) -> tuple[float, dict[str, tuple[int, int]]]:
    from idolguard.pipeline.runner import analyze

    ws, shas = fresh_workspace(root, media, db_url)
    try:
        started = time.perf_counter()
        start = getattr(engine, "start", None)
        if start is not None:
            start(ws)
        results = analyze(ws, shas, engine=engine)
        elapsed = time.perf_counter() - started
        failed = [sha for sha, outcomes in results.items() if any(o.status != "ok" for o in outcomes)]
        assert not failed, f"{len(failed)} items failed, e.g. {failed[:2]}"
        timings = getattr(engine, "timings", None)
        if timings and timings.get("last_result", 0) > timings.get("first_result", 0):
            # items/s between the first and the last completed task, actors warm (``RayEngine.timings``)
            STEADY.append((len(shas) - timings["first_items"]) / (timings["last_result"] - timings["first_result"]))
        return elapsed, stage_ms(ws)
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()
        ws.close()


def store_rate(root: Path, media: Path, db_url: str | None = None) -> dict[str, float]:
    """The driver's single writer: items and custody events stored per second by ``persist_batch`` (rows,
    signed hash-chained ledger events, JSONL mirror, derived files synced, one transaction per batch), timed
    alone on results delivered as fast as a cluster would (full batches)."""
    from idolguard.pipeline import runner

    spent = [0.0, 0, 0]
    original = runner.persist_batch

    def timed_persist(ws: Any, batch: list[Any]) -> None:
        started = time.perf_counter()
        original(ws, batch)
        spent[0] += time.perf_counter() - started
        spent[1] += len(batch)
        spent[2] += sum(len(outcomes) for _sha, outcomes in batch)

    class ComputeFirst:
        """Computes every job before yielding any, so results reach the writer as fast as a large cluster
        would deliver them (full batches of ``PERSIST_BATCH``), not at one core's pace."""

        def run(self, ws: Any, jobs: list[Any]) -> Any:
            return iter(list(runner.LocalEngine(1).run(ws, jobs)))

    runner.persist_batch = timed_persist
    try:
        timed(root, media, ComputeFirst(), db_url)
    finally:
        runner.persist_batch = original
    seconds, items, events = spent
    return {"items_per_s": round(items / seconds, 1), "events_per_s": round(events / seconds, 1), "items": items}


def video_rates(root: Path, clips: int, seconds: float) -> dict[str, float]:
    """Video seconds analysed per second of one core, per stage (in-process, one worker)."""
    from idolguard.demo import write_clip
    from idolguard.pipeline.runner import LocalEngine

    folder = root / "clips"
    folder.mkdir()
    for index in range(clips):
        write_clip(folder / f"clip-{index}.mp4", seconds=seconds, size=(1280, 720))  # 720p, as most posts
    _elapsed, per_stage = timed(root, folder, LocalEngine(1))
    total_s = clips * seconds
    return {stage: round(total_s / (ms / 1000), 2) for stage, (_n, ms) in per_stage.items() if ms > 0}


def capacity(
    per_image: dict[str, float],
    per_video: dict[str, float],
    store: dict[str, float],
    *,
    images_per_day: float = 1_000_000,
    video_hours_per_day: float = 10_000,
    mean_clip_s: float = 60.0,
    peak: float = 2.0,
    utilisation: float = 0.75,
    cores_per_node: int = 16,
) -> dict[str, float]:
    """docs/SCALING.md's model on this run's per-core rates: core-seconds per image and per video second are
    the sums over stages of 1/rate; cores = daily core-seconds / 86,400 x peak / utilisation."""
    image_cost = sum(1 / rate for rate in per_image.values() if rate > 0)
    video_cost = sum(1 / rate for rate in per_video.values() if rate > 0)
    core_s = images_per_day * image_cost + video_hours_per_day * 3600 * video_cost
    cores = core_s / 86_400 * peak / utilisation
    items_per_s = (images_per_day + video_hours_per_day * 3600 / mean_clip_s) / 86_400 * peak
    return {
        "core_s_per_image": round(image_cost, 4),
        "core_s_per_video_second": round(video_cost, 4),
        "average_cores": round(core_s / 86_400, 1),
        "cores_at_peak": round(cores, 1),
        "nodes": int(-(-cores // cores_per_node)),
        "cores_per_node": cores_per_node,
        "peak_items_per_s": round(items_per_s, 1),
        "driver_store_headroom": round(store.get("items_per_s", 0) / items_per_s, 1) if items_per_s else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="most items per Ray task (default: the engine's)")
    parser.add_argument("--clips", type=int, default=4, help="generated clips for the video rates (0: none)")
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    parser.add_argument("--no-store", action="store_true", help="skip the driver store rate (ratios only)")
    parser.add_argument(
        "--pg", help="also measure the driver's store rate on a fresh PostgreSQL database made from this URL"
    )
    args = parser.parse_args()

    import ray

    from idolguard.pipeline.ray_engine import RayEngine, RayOptions, start_local_ray
    from idolguard.pipeline.runner import LocalEngine

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ray-scale-") as tmp:
        root = Path(tmp)
        media = root / "media"
        make_images(media, args.images)
        start_local_ray(2)  # the local instance ``scan --engine ray`` starts, with the same settings
        runs: dict[str, list[float]] = defaultdict(list)
        steady: dict[str, list[float]] = defaultdict(list)
        stages: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        try:
            for repeat in range(args.repeats):
                order = [("pool2", None), ("ray1", 1), ("ray2", 2)]
                for label, workers in order if repeat % 2 == 0 else reversed(order):
                    engine: Any
                    if workers is None:
                        engine = LocalEngine(2)
                    else:
                        options = RayOptions(workers=workers, vault="shared")
                        if args.batch:
                            options.batch_size = args.batch
                        engine = RayEngine(options)
                    STEADY.clear()
                    elapsed, per_stage = timed(root, media, engine)
                    runs[label].append(elapsed)
                    if STEADY:
                        steady[label].append(STEADY[0])
                    if label == "ray1":
                        for stage, (n, ms) in per_stage.items():
                            count, total = stages[stage]
                            stages[stage] = (count + n, total + ms)
                    warm = f", steady {steady[label][-1]:.1f} images/s" if STEADY else ""
                    print(f"repeat {repeat + 1} {label}: {elapsed:.2f} s, {args.images / elapsed:.1f} images/s{warm}")
        finally:
            ray.shutdown()
        video = video_rates(root, args.clips, args.clip_seconds) if args.clips else {}
        store = store_rate(root, media) if not args.no_store else {}
        store_pg: dict[str, float] = {}
        if args.pg:
            from tests.conftest import _fresh_pg_database

            for url in _fresh_pg_database(args.pg):
                store_pg = store_rate(root, media, url)
    median = {label: statistics.median(times) for label, times in runs.items()}
    rate = {label: args.images / seconds for label, seconds in median.items()}
    per_core = {stage: round(n / (ms / 1000), 1) for stage, (n, ms) in stages.items() if ms > 0}
    warm = {label: statistics.median(rates) for label, rates in steady.items()}
    report = {
        "images": args.images,
        "repeats": args.repeats,
        "median_s": {k: round(v, 3) for k, v in median.items()},
        "images_per_s": {k: round(v, 2) for k, v in rate.items()},
        "ray2_over_ray1": round(rate["ray2"] / rate["ray1"], 3),
        "ray2_over_pool2": round(rate["ray2"] / rate["pool2"], 3),
        "steady_images_per_s": {k: round(v, 2) for k, v in warm.items()},
        "steady_ray2_over_ray1": round(warm["ray2"] / warm["ray1"], 3) if len(warm) == 2 else None,
        "per_core_images_per_s_by_stage": per_core,
        "per_core_video_seconds_per_s_by_stage": video,
        "driver_store_rate": store,
        "driver_store_rate_postgresql": store_pg,
        "capacity_1M_images_10k_video_hours_per_day": capacity(per_core, video, store_pg or store),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(f"\nmedian of {args.repeats}, {args.images} images (load average before {load_before[0]:.1f}):")
    for label in ("pool2", "ray1", "ray2"):
        print(f"  {label:6s} {median[label]:8.2f} s  {rate[label]:8.1f} images/s")
    print(f"  ray2 / ray1  = {report['ray2_over_ray1']:.2f}x  (target >= 1.7x)")
    print(f"  ray2 / pool2 = {report['ray2_over_pool2']:.2f}x  (target >= 0.85)")
    if len(warm) == 2:
        print(
            f"  steady state (actors warm, first to last completed task): ray1 {warm['ray1']:.1f}, ray2 "
            f"{warm['ray2']:.1f} images/s, ray2 / ray1 = {report['steady_ray2_over_ray1']:.2f}x"
        )
    print("per-core images/s by stage (ray1 runs):", json.dumps(per_core))
    if video:
        print("per-core video seconds/s by stage:", json.dumps(video))
    print("driver store rate (persist_batch alone, SQLite):", json.dumps(store))
    if store_pg:
        print("driver store rate (persist_batch alone, PostgreSQL):", json.dumps(store_pg))
    planned = report["capacity_1M_images_10k_video_hours_per_day"]
    print("capacity for 1M images + 10,000 h video per day:", json.dumps(planned))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
