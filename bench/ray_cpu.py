"""Where the CPU goes when Ray analyses images: CPU-seconds per image of the workers (the analysis itself) and of
everything else (the driver: dispatch, results, ``persist_batch``; Ray's daemons: GCS, raylet, agents, log
monitor; idle pooled workers), measured from ``/proc`` before and after one run, so it holds on a loaded
machine where throughput does not.

    python bench/ray_cpu.py --images 200 --workers 2

With ``w`` = worker CPU-seconds per image and ``p`` = everything else per image, 2 workers on 2 cores give at
most ``2 / (w + p)`` images/s and 1 worker ``1 / w`` (its driver and daemons fit on the other core), so the
1-to-2-worker ratio the machine allows is ``2w / (w + p)`` (issue #18 asks for >= 1.7, i.e. ``p <= 0.18 w``).

The Ray instance is the one ``scan --engine ray`` starts when no address is given (``RayEngine``'s own local
instance, the defaults users get); the run is ``runner.analyze`` on freshly ingested images, exactly as
``scan``. Start-up (Ray, actors, model loads) is counted separately from the per-image figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(path: str) -> tuple[str, float] | None:
    try:
        with open(path, "rb") as handle:
            raw = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                raw = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
        tree[ppid].append(int(entry))
    return tree


def snapshot(worker_pids: set[int]) -> dict[str, float]:
    """CPU-seconds so far of every process this driver started (Ray's daemons and workers), by role, and of the
    driver's own threads (main thread vs Ray's threads in the driver)."""
    tree = _children()
    seen: list[int] = []
    frontier = [os.getpid()]
    while frontier:
        pid = frontier.pop()
        seen.append(pid)
        frontier.extend(tree.get(pid, []))
    out: dict[str, float] = defaultdict(float)
    me = os.getpid()
    for tid in os.listdir(f"/proc/{me}/task"):
        stat = _stat(f"/proc/{me}/task/{tid}/stat")
        if stat is None:
            continue
        role = "driver: main thread" if int(tid) == threading.main_thread().native_id else "driver: Ray threads"
        out[role] += stat[1]
    for pid in seen:
        if pid == me:
            continue
        stat = _stat(f"/proc/{pid}/stat")
        if stat is None:
            continue
        out[role_of(pid, stat[0], _cmdline(pid), worker_pids)] += stat[1]
    return dict(out)


def role_of(pid: int, name: str, cmdline: str, worker_pids: set[int]) -> str:
    if pid in worker_pids:
        return "workers (analysis actors)"
    for needle, role in (
        ("gcs_server", "ray: gcs_server"),
        ("raylet", "ray: raylet"),
        ("dashboard/agent.py", "ray: dashboard agent"),
        ("DashboardAgent", "ray: dashboard agent"),
        ("runtime_env/agent", "ray: runtime_env agent"),
        ("RuntimeEnvAgent", "ray: runtime_env agent"),
        ("dashboard/dashboard.py", "ray: dashboard"),
        ("log_monitor", "ray: log_monitor"),
        ("monitor.py", "ray: autoscaler monitor"),
        ("ray::", "ray: other worker processes (idle pool, probes)"),
        ("default_worker", "ray: other worker processes (idle pool, probes)"),
    ):
        if needle in cmdline or needle in name:
            return role
    return f"other: {name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="items per Ray task (default: the engine's)")
    parser.add_argument("--vault", default="shared", choices=("auto", "shared", "send"))
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args()

    from bench.ray_scale import fresh_workspace, make_images
    from idolguard.intake.ingest import Ingestor
    from idolguard.pipeline import runner
    from idolguard.pipeline.ray_engine import RayEngine, RayOptions

    persist_cpu = [0.0, 0]
    original = runner.persist_batch

    def timed_persist(ws: Any, batch: list[Any]) -> None:
        started = time.thread_time()
        original(ws, batch)
        persist_cpu[0] += time.thread_time() - started
        persist_cpu[1] += 1

    runner.persist_batch = timed_persist  # type: ignore[assignment]
    options = RayOptions(workers=args.workers, vault=args.vault)
    if args.batch:
        options.batch_size = args.batch
    engine = RayEngine(options)
    with tempfile.TemporaryDirectory(prefix="ray-cpu-") as tmp:
        root = Path(tmp)
        media = root / "media"
        make_images(media, args.images)
        warm = root / "warm"
        make_images(warm, 4 * args.workers)
        zero = snapshot(set())
        # Start-up: the local Ray instance, the actors, their model loads (a few images through every stage).
        ws, shas = fresh_workspace(root, warm)
        engine.start(ws)
        runner.analyze(ws, shas, engine=engine)
        workers = set(engine.actor_pids())
        shas = [r.sha256 for r in Ingestor(ws).ingest([media]) if r.sha256 and not r.error]
        persist_cpu[:] = [0.0, 0]
        before = snapshot(workers)
        wall = time.perf_counter()
        results = runner.analyze(ws, shas, engine=engine)
        wall = time.perf_counter() - wall
        after = snapshot(workers)
        failed = [(o.stage, o.error) for outcomes in results.values() for o in outcomes if o.status != "ok"]
        ws.close()
        engine.close()
    assert not failed, f"{len(failed)} items failed: {failed[:1]}"
    count = len(shas)
    start_cpu = sum(before.values()) - sum(zero.values())
    per_image = {
        role: round((after.get(role, 0.0) - before.get(role, 0.0)) / count * 1000, 2) for role in sorted(after)
    }
    per_image["driver: main thread"] = round(per_image.get("driver: main thread", 0.0), 2)
    persist_ms = persist_cpu[0] / count * 1000
    w = per_image.get("workers (analysis actors)", 0.0)
    p = sum(v for k, v in per_image.items() if k != "workers (analysis actors)")
    # Ray's daemons mostly poll on timers: their CPU is per second, not per image, so on a quiet machine (more
    # images per second) it is less per image than measured here under load. The quiet prediction: the two
    # cores minus the daemons' rate, shared by workers and driver: (2 - r) / (w + driver) images/s, against
    # 1 / w with one worker (its driver and daemons fit on the other core).
    driver = sum(v for k, v in per_image.items() if k.startswith("driver"))
    rate = sum(after.get(k, 0.0) - before.get(k, 0.0) for k in after if k.startswith("ray")) / wall
    quiet = round((2 - rate) * w / (w + driver), 3) if w else None
    report = {
        "images": count,
        "workers": args.workers,
        "batch_size": engine.options.batch_size,
        "vault": args.vault,
        "tasks": engine.tasks_done,
        "persist_transactions": persist_cpu[1],
        "cpu_ms_per_image": per_image,
        "of_which_persist_batch_ms_per_image": round(persist_ms, 2),
        "w_ms": round(w, 2),
        "p_ms": round(p, 2),
        "p_over_w": round(p / w, 3) if w else None,
        "predicted_ray2_over_ray1": round(2 * w / (w + p), 3) if w else None,
        "driver_ms_per_image": round(driver, 2),
        "ray_daemons_cpu_s_per_s": round(rate, 4),
        "predicted_ray2_over_ray1_daemons_per_second": quiet,
        "startup_cpu_s": round(start_cpu, 2),
        "wall_s": round(wall, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"{count} images, {args.workers} workers, batch {report['batch_size']}, vault {args.vault}, "
        f"{report['tasks']} tasks, {report['persist_transactions']} store transactions, "
        f"wall {wall:.1f} s (load {report['load_average'][0]})"
    )
    print("CPU ms per image:")
    for role, value in sorted(per_image.items(), key=lambda kv: -kv[1]):
        print(f"  {value:8.2f}  {role}")
    print(f"  ({persist_ms:.2f} of the driver's main thread in persist_batch)")
    print(
        f"w = {w:.2f} ms, p = {p:.2f} ms, p/w = {report['p_over_w']}, "
        f"predicted ray2/ray1 = 2w/(w+p) = {report['predicted_ray2_over_ray1']}"
    )
    print(
        f"Ray daemons: {rate * 1000:.1f} CPU-ms per second of wall time; with daemons counted per second and "
        f"the driver ({driver:.2f} ms) per image: predicted ray2/ray1 = (2 - r) w / (w + driver) = {quiet}"
    )
    print(f"start-up (Ray, actors, model loads, {4 * args.workers} warm-up images): {start_cpu:.2f} CPU-s")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
