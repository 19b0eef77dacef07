"""Wall time of ``idolguard --help`` (and one subcommand's help) in fresh processes, against a bare Python start.

    python bench/cli_help.py [--repeats 15]

Target (issue 11 §5): ``idolguard --help`` under 0.5 s. Each run is a new interpreter (what a user pays);
``python -c pass`` measured in the same run is the baseline, so the ratio shows what IdolGuard itself adds.
Also prints which heavy modules the CLI imports to show help (should be none of SQLAlchemy, alembic, NumPy).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(args: list[str], repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds user+sys of the child); CPU time is what the command costs
    on an idle machine, wall time what it costs on this one (shared machines inflate it)."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    repeats = parser.parse_args().repeats
    python = sys.executable
    cli = [python, "-m", "idolguard.cli"]
    baseline = _time([python, "-c", "pass"], repeats)
    rows = [
        ("python -c pass (baseline)", baseline),
        ("idolguard --help", _time([*cli, "--help"], repeats)),
        ("idolguard scan --help", _time([*cli, "scan", "--help"], repeats)),
        ("idolguard bank --help", _time([*cli, "bank", "--help"], repeats)),
    ]
    heavy = "('sqlalchemy', 'alembic', 'numpy', 'idolguard.workspace', 'PIL')"
    loaded = subprocess.run(
        [python, "-c", f"import sys, idolguard.cli; print(sorted(m for m in {heavy} if m in sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {repeats} runs each")
    print(f"{'command':<28} {'wall s':>8} {'cpu s':>7} {'cpu vs baseline':>16}")
    for name, (wall, cpu) in rows:
        print(f"{name:<28} {wall:>8.3f} {cpu:>7.3f} {cpu / baseline[1]:>15.1f}x")
    print(f"heavy modules imported for help: {loaded}")


if __name__ == "__main__":
    main()
