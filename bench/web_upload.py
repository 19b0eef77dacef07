"""Uploading photos through the web path versus ``idolguard scan`` on the same files, in the same run.

    python bench/web_upload.py [--photos 200] [--repeats 1]

Web path: one multipart ``POST /api/v1/uploads`` of all files through the real ASGI app (streamed to the
upload folder, job queued in Huey's SQLite queue), worked by the real in-process Huey consumer, until the job
row says ``done`` (ingest + every stage + triage rows). Baseline: ``scan_paths`` (what ``idolguard scan`` runs,
without the process start-up) on the same files into another fresh workspace. Photos: benign generated
640x480 JPEGs, every 10th one the public-domain astronaut portrait re-encoded at a different size (faces run).
Prints both times and the ratio (target <= 1.3).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_photos(folder: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image
    from skimage import data

    from idolguard.demo import shapes_image

    folder.mkdir(parents=True)
    face = Image.fromarray(np.asarray(data.astronaut()))
    paths = []
    for i in range(count):
        img = face.resize((300 + i, 300 + i)) if i % 10 == 0 else shapes_image(i, (640, 480))
        path = folder / f"photo-{i:04d}.jpg"
        img.save(path, quality=88)
        paths.append(path)
    return paths


def fresh(root: Path, name: str):  # type: ignore[no-untyped-def]
    from idolguard.workspace import Workspace, init_workspace

    home = root / name
    init_workspace(home)
    return Workspace.open(home)


def web_path(ws, photos: list[Path]) -> float:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from idolguard.web import accounts
    from idolguard.web.app import create_app
    from idolguard.web.jobs import InProcessWorker
    from idolguard.web.models import Job

    accounts.add_user(ws, "bench", "analyst", [], by="bench")
    token = accounts.create_token(ws, "bench", "write", "1d", by="bench")
    worker = InProcessWorker(ws)
    worker.start()
    try:
        with TestClient(create_app(ws), base_url="http://127.0.0.1") as client:
            files = [("files", (p.name, io.BytesIO(p.read_bytes()), "image/jpeg")) for p in photos]
            started = time.perf_counter()
            response = client.post("/api/v1/uploads", files=files, headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            while True:
                with ws.sessions() as session:
                    job = session.get(Job, job_id)
                    if job.state in ("done", "error"):
                        break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            assert job.state == "done" and len(job.results) == len(photos), (job.state, job.error)
    finally:
        worker.stop()
    return elapsed


def scan_path(ws, photos: list[Path]) -> float:  # type: ignore[no-untyped-def]
    from idolguard.pipeline.scan import scan_paths

    started = time.perf_counter()
    objects = scan_paths(ws, photos)
    elapsed = time.perf_counter() - started
    assert len(objects) == len(photos) and not any(o.get("error") for o in objects)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    os.environ.pop("IDOLGUARD_DB_URL", None)
    root = Path(tempfile.mkdtemp(prefix="igbench-upload-"))
    photos = make_photos(root / "photos", args.photos)
    scans, webs = [], []
    for r in range(args.repeats):
        scans.append(scan_path(fresh(root, f"scan-{r}"), photos))
        webs.append(web_path(fresh(root, f"web-{r}"), photos))
        print(
            f"run {r}: idolguard scan {scans[-1]:.1f} s, web upload {webs[-1]:.1f} s, ratio {webs[-1] / scans[-1]:.2f}",
            flush=True,
        )
    scan, web = sorted(scans)[len(scans) // 2], sorted(webs)[len(webs) // 2]
    print(
        f"{args.photos} photos: scan median {scan:.1f} s, web median {web:.1f} s, "
        f"ratio {web / scan:.2f} (target <= 1.3)"
    )


if __name__ == "__main__":
    main()
