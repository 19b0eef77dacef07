"""Where a Ray run's wall time goes: 1 vs 2 Ray workers on the same images, with the driver's time by phase and
every worker's busy time, so the 1-to-2-worker ratio of bench/ray_scale.py can be explained, not only measured.

    python bench/ray_profile.py --images 800 --repeats 1

Each measured run is ``bench/ray_scale.py``'s (fresh workspace, images ingested before the clock starts, the
clock includes starting the actors and their model loads; the local Ray instance is started once before).
Reported per run, in seconds from the start of the clock:

- ``start``: ``RayEngine.start`` (actors started, their ``ready`` answered, node checks);
- driver phases inside the run (``RayEngine.timings``): ``dispatch`` (reading originals, submitting tasks),
  ``wait`` (``ray.wait``), ``get`` (fetching and unpickling results), ``consumer`` (the runner holding the
  results: ``persist_batch`` and progress), of which ``persist`` (``persist_batch``) and ``sync``
  (``vault.sync_pending``);
- per worker: ``busy`` (sum of task times), ``first_task`` (its duration: the run's resources fetched and
  the models loaded on the way), ``idle_gaps`` (time between its tasks), ``end`` (its last task's end);
- ``tail``: from the first worker's last task end to the last one's (one worker idle while the other ends);
- ``cold`` = images / (clock), ``steady`` = images completed after the first result / (last - first result):
  the rate with actors already warm, what a long-lived ``worker --engine ray`` sustains.
"""

from __future__ import annotations

import argparse
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

from bench.ray_scale import fresh_workspace, make_images  # noqa: E402


def profiled(root: Path, media: Path, workers: int, db_url: str | None, batch: int | None) -> dict[str, Any]:
    import ray

    from idolguard.pipeline import runner
    from idolguard.pipeline.ray_engine import RayEngine, RayOptions

    ws, shas = fresh_workspace(root, media, db_url)
    options = RayOptions(workers=workers, vault="shared")
    if batch:
        options.batch_size = batch
    engine = RayEngine(options)
    spent = {"persist": 0.0, "sync": 0.0, "persist_calls": 0, "hooks": 0.0, "last_persist": 0.0}
    original_persist = runner.persist_batch
    original_hooks = runner.run_item_hooks

    def timed_hooks(w: Any, items: list[str]) -> None:
        began = time.perf_counter()
        original_hooks(w, items)
        spent["hooks"] += time.perf_counter() - began

    original_sync = ws.vault.sync_pending

    def timed_persist(w: Any, items: list[Any]) -> None:
        began = time.perf_counter()
        original_persist(w, items)
        spent["last_persist"] = time.perf_counter() - began
        spent["persist"] += spent["last_persist"]
        spent["persist_calls"] += 1

    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original_sync(*args, **kwargs)
        finally:
            spent["sync"] += time.perf_counter() - began

    runner.persist_batch = timed_persist
    runner.run_item_hooks = timed_hooks
    ws.vault.sync_pending = timed_sync  # type: ignore[method-assign]
    try:
        wall0 = time.time()
        began = time.perf_counter()
        engine.start(ws)
        results = runner.analyze(ws, shas, engine=engine)
        elapsed = time.perf_counter() - began
        failed = [sha for sha, outcomes in results.items() if any(o.status != "ok" for o in outcomes)]
        assert not failed, f"{len(failed)} items failed"
        busy = ray.get([actor.busy.remote() for actor in engine._actors])
    finally:
        runner.persist_batch = original_persist
        runner.run_item_hooks = original_hooks
        engine.close()
        ws.close()
    t = engine.timings
    offset = t["start"]  # run-relative times -> clock-relative
    per_worker = []
    for tasks in busy:
        tasks = sorted(tasks)
        gaps = sum(max(0.0, b[0] - a[1]) for a, b in zip(tasks, tasks[1:], strict=False))
        per_worker.append(
            {
                "tasks": len(tasks),
                "items": sum(n for *_, n in tasks),
                "busy": round(sum(e - s for s, e, _ in tasks), 2),
                "first_task_start": round(tasks[0][0] - wall0, 2),
                "first_task": round(tasks[0][1] - tasks[0][0], 2),
                "first_task_items": tasks[0][2],
                "idle_gaps": round(gaps, 2),
                "end": round(tasks[-1][1] - wall0, 2),
            }
        )
    ends = sorted(w["end"] for w in per_worker)
    first, last = t["first_result"], t["last_result"]
    first_items = t["first_items"]  # the first completed task ended the cold interval: not counted
    return {
        "workers": workers,
        "images": len(shas),
        "clock": round(elapsed, 2),
        "cold_images_per_s": round(len(shas) / elapsed, 2),
        "steady_images_per_s": round((len(shas) - first_items) / (last - first), 2) if last > first else 0.0,
        "start": round(t["start"], 2),
        "first_result": round(offset + first, 2),
        "last_result": round(offset + last, 2),
        "after_last_result": round(elapsed - offset - last, 2),
        "driver": {k: round(t[k], 2) for k in ("dispatch", "wait", "get", "consumer")},
        "persist": round(spent["persist"], 2),
        "sync": round(spent["sync"], 2),
        "persist_calls": spent["persist_calls"],
        "last_persist": round(spent["last_persist"], 2),
        "hooks": round(spent["hooks"], 2),
        "tail": round(ends[-1] - ends[0], 2),
        "per_worker": per_worker,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch", type=int, default=None, help="most items per Ray task (default: the engine's)")
    parser.add_argument("--pg", help="run on a fresh PostgreSQL database made from this URL (default: SQLite)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import ray

    from idolguard.pipeline.ray_engine import start_local_ray

    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="ray-profile-") as tmp:
        root = Path(tmp)
        media = root / "media"
        make_images(media, args.images)
        start_local_ray(2)
        try:
            for repeat in range(args.repeats):
                order = [1, 2] if repeat % 2 == 0 else [2, 1]
                for workers in order:
                    if args.pg:
                        from tests.conftest import _fresh_pg_database

                        for url in _fresh_pg_database(args.pg):
                            result = profiled(root, media, workers, url, args.batch)
                    else:
                        result = profiled(root, media, workers, None, args.batch)
                    result["load"] = round(os.getloadavg()[0], 2)
                    runs[f"ray{workers}"].append(result)
                    print(json.dumps(result))
        finally:
            ray.shutdown()
    summary: dict[str, Any] = {"images": args.images, "load_average_before": [round(x, 2) for x in load_before]}
    for kind in ("cold_images_per_s", "steady_images_per_s"):
        med = {label: statistics.median(r[kind] for r in rs) for label, rs in runs.items()}
        summary[kind] = med
        summary[kind.replace("images_per_s", "ray2_over_ray1")] = round(med["ray2"] / med["ray1"], 3)
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
