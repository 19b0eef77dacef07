"""Evidence package, standalone verifier and case report on a case of N items / M bytes, against baselines
measured in the same run on the same files.

    python bench/cases_package.py [--items 500] [--mib 2048] [--repeats 2] [--workdir DIR]

Builds a fresh SQLite workspace, ingests N files (24 benign generated JPEGs, the rest random bytes making up
the total size), opens a case holding all of them, then times:

* ``cases package`` (ZIP_STORED, SHA-256 checked while copying) vs ``zip -0 -q`` over the same vault files;
* ``verify_package.py`` on that package vs ``sha256sum`` over the same vault files;
* ``cases report --lang both --format pdf`` (and HTML) for the case.

Prints medians and the speed ratios (baseline time / our time: 1.0 = as fast as the baseline).
Targets (issue #13): package >= 0.7x zip -0, verifier >= 0.7x sha256sum, report <= 60 s.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idolguard.cases.package import build_package  # noqa: E402
from idolguard.cases.report import write_report  # noqa: E402
from idolguard.cases.service import add_to_case, open_case  # noqa: E402
from idolguard.demo import shapes_image  # noqa: E402
from idolguard.intake.ingest import Ingestor, SightingInfo  # noqa: E402
from idolguard.workspace import Workspace, init_workspace  # noqa: E402

VERIFIER = Path(__file__).resolve().parents[1] / "src/idolguard/cases/package_files/verify_package.py"


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def make_files(folder: Path, items: int, total: int) -> None:
    folder.mkdir(parents=True)
    images = min(24, items)
    for i in range(images):
        buffer = io.BytesIO()
        shapes_image(i, (800, 600)).save(buffer, "JPEG", quality=90)
        (folder / f"img{i:03d}.jpg").write_bytes(buffer.getvalue())
    rest = items - images
    per = max(1, total // max(1, rest))
    for i in range(rest):
        (folder / f"blob{i:04d}.bin").write_bytes(os.urandom(per))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--mib", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-cases-", dir=args.workdir))
    try:
        home = root / "ws"
        os.environ["IDOLGUARD_HOME"] = str(home)
        os.environ.setdefault("IDOLGUARD_ACTOR", "bench")
        init_workspace(home)
        ws = Workspace.open(home)
        files = root / "files"
        make_files(files, args.items, args.mib * 1024 * 1024)
        info = SightingInfo(source_url="https://example.invalid/post", platform="x", account="@bench")
        shas = sorted({r.sha256 for r in Ingestor(ws, info).ingest([files]) if r.sha256})
        shutil.rmtree(files)
        number = open_case(ws, "bench", "Artist")
        add_to_case(ws, number, shas)
        paths = [str(ws.vault.path_for(s)) for s in shas]
        total = sum(os.path.getsize(p) for p in paths)
        print(f"case {number}: {len(shas)} items, {total / 2**30:.2f} GiB")

        out = root / "out"
        out.mkdir()
        counter = iter(range(1000))

        def ours() -> None:
            target = out / f"p{next(counter)}.zip"
            build_package(ws, number, target)

        def zip0() -> None:
            target = out / f"z{next(counter)}.zip"
            subprocess.run(["zip", "-0", "-q", "-j", str(target), *paths], check=True)
            target.unlink()

        def clean() -> None:
            for leftover in out.glob("p*.zip"):
                leftover.unlink()

        t_zip = timed(zip0, args.repeats)
        t_pkg = timed(lambda: (clean(), ours()), args.repeats)
        package = next(out.glob("p*.zip"))
        t_sha = timed(lambda: subprocess.run(["sha256sum", *paths], check=True, capture_output=True), args.repeats)
        t_ver = timed(
            lambda: subprocess.run([sys.executable, str(VERIFIER), str(package)], check=True, capture_output=True),
            args.repeats,
        )
        t_pdf = timed(lambda: write_report(ws, number, out / "r.pdf", lang="both", fmt="pdf"), 1)
        t_html = timed(lambda: write_report(ws, number, out / "r.html", lang="both", fmt="html"), 1)
        print(
            f"package      {t_pkg:7.2f} s   zip -0    {t_zip:7.2f} s   speed ratio {t_zip / t_pkg:.2f} (target >= 0.7)"
        )
        print(
            f"verifier     {t_ver:7.2f} s   sha256sum {t_sha:7.2f} s   speed ratio {t_sha / t_ver:.2f} (target >= 0.7)"
        )
        print(f"report pdf   {t_pdf:7.2f} s   (both languages; target <= 60 s)")
        print(f"report html  {t_html:7.2f} s")
        ws.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
