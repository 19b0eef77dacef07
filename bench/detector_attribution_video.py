"""Source-face attribution on video face tracks (the ``source_attribution`` stage's video path): per-track recall
and false attributions.

    nice -n 10 python bench/detector_attribution_video.py --data ../shared/data [--pastes 20] [--negatives 20]

A temporary workspace holds the official collection as scans see it: a ``negative`` bank whose items were
banked with their inner-face hashes (``entries_for_item(official=True)``, what ``artists official add``
does). Each clip goes the product's way: the faces stage (sampling, YuNet, SFace, tracking) and then
``signals.attribution.attribute_video`` (up to 4 keyframes per track, decoded again, verified with ORB +
RANSAC against the official faces).

Recall: official collection = half of the generated faces of ``synthetic-dev`` (StyleGAN2: nobody real).
A suspect clip shows one of them (A) pasted onto another generated face (B) with the self-blending mask
(as ``bench/detector_attribution.py``), drifting and zooming slowly for 3 s at 10 fps, encoded with H.264
at CRF 23 and at CRF 35 (platform re-encode). A hit = the track names A.

False attributions: clips of untouched generated faces not in the collection, and clips of the *other*
photos of K-pop idols whose first half of photos is in a second official bank (unrelated photos of the same
artist). Any named source is a false attribution. No face swap of a real person is built.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detector_attribution import faces_of, paste, rate, read  # noqa: E402

from idolguard.config import Limits  # noqa: E402


def write_clip(rgb: np.ndarray, path: Path, crf: int, seconds: float = 3.0, fps: int = 10) -> None:
    """The picture scaled to 256 px on a 384x384 canvas, drifting and zooming a little per frame."""
    import av

    side, frames = 384, int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for i in range(frames):
            phase = i / max(1, frames - 1)
            size = int(round(256 * (1.0 + 0.06 * phase)))
            face = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
            canvas = np.full((side, side, 3), (96, 104, 112), np.uint8)
            x, y = int(round(40 + 30 * np.sin(phase * np.pi))), int(round(40 + 20 * phase))
            canvas[y : y + size, x : x + size] = face[: side - y, : side - x]
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def square(rgb: np.ndarray) -> np.ndarray:
    side = min(rgb.shape[:2])
    y, x = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
    return np.ascontiguousarray(rgb[y : y + side, x : x + side])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--pastes", type=int, default=20)
    parser.add_argument("--negatives", type=int, default=20, help="clips of each negative kind")
    args = parser.parse_args()
    from PIL import Image

    from idolguard.faces.stage import analyse_path
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.signals.attribution import attribute_video
    from idolguard.signals.banks import add_entries, create_bank
    from idolguard.signals.entries import entries_for_item
    from idolguard.signals.store import load_banks
    from idolguard.workspace import Workspace, init_workspace

    started = time.perf_counter()
    limits = Limits()
    synth = args.data / "synthetic-dev"
    with (synth / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        paths = [synth / r["path"] for r in csv.DictReader(handle)]
    generated = []
    for path in paths:
        rgb = read(path)
        if rgb is None or min(rgb.shape[:2]) < 200:
            continue
        found = faces_of(rgb)
        if len(found) == 1:
            generated.append((path, rgb, np.asarray(found[0]["landmarks"], dtype=np.float64)))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(generated))
    sources = [generated[i] for i in order[: len(order) // 2]]
    targets = [generated[i] for i in order[len(order) // 2 :]]
    east = args.data / "eastasian-dev"
    with (east / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        kpop = [r for r in csv.DictReader(handle) if r["set"].startswith("kpop")]
    by_person: dict[str, list[Path]] = {}
    for r in kpop:
        by_person.setdefault(r["identity"].rsplit("/", 1)[-1].split("_")[-1], []).append(east / r["path"])
    with tempfile.TemporaryDirectory(prefix="idolguard-attr-video-") as tmp:
        home = Path(tmp) / "ws"
        init_workspace(home)
        ws = Workspace.open(home)
        create_bank(ws, "official-generated", "negative")
        create_bank(ws, "official-idols", "negative")
        ingest = Ingestor(ws, SightingInfo(purpose="bank_reference"))
        sha_of: dict[Path, str] = {}
        idol_queries: list[Path] = []
        banked = [("official-generated", p) for p, _rgb, _lm in sources]
        for _person, files in sorted(by_person.items()):
            half = len(files) // 2
            banked += [("official-idols", p) for p in files[:half]]
            idol_queries += files[half:]
        for bank, path in banked:
            result = next(iter(ingest.ingest([path])))
            if result.sha256 and not result.error:
                sha_of[path] = result.sha256
                entries, _notes = entries_for_item(ws, result.sha256, official=True)
                add_entries(ws, bank, entries, event_details={"item": result.sha256})
        banks = load_banks(ws)
        print(
            f"official: {len(sources)} generated faces, {len(banked) - len(sources)} K-pop idol photos; "
            f"banked in {time.perf_counter() - started:.0f}s"
        )
        clips = Path(tmp) / "clips"
        clips.mkdir()

        spent = {"faces": 0.0, "attribution": 0.0, "clips": 0}

        def named(rgb: np.ndarray, crf: int, key: str) -> list[dict]:
            clip = clips / f"{key}.mp4"
            write_clip(rgb, clip, crf)
            t0 = time.process_time()
            faces = analyse_path(clip, "video", limits)
            t1 = time.process_time()
            if not faces.get("face_tracks"):
                return [{"_no_track": True}]
            found = attribute_video(ws, banks.store, clip, limits, faces, "", None)
            spent["faces"] += t1 - t0
            spent["attribution"] += time.process_time() - t1
            spent["clips"] += 1
            return found

        rows: dict[str, list[tuple[bool, bool, int]]] = {"crf23": [], "crf35": []}
        no_track = {"crf23": 0, "crf35": 0}
        for i in range(min(args.pastes, len(sources))):
            s_path, s_rgb, s_lm = sources[i]
            _t_path, t_rgb, t_lm = targets[(i * 7) % len(targets)]
            pasted = square(paste(s_rgb, s_lm, t_rgb, t_lm, i))
            for key, crf in (("crf23", 23), ("crf35", 35)):
                found = named(pasted, crf, f"paste{i}-{key}")
                if found and found[0].get("_no_track"):
                    no_track[key] += 1
                    rows[key].append((False, False, 0))
                    continue
                right = [r for r in found if r["official_item"] == sha_of.get(s_path)]
                wrong = [r for r in found if r["official_item"] != sha_of.get(s_path)]
                verified = max((r["frames_verified"] for r in right), default=0)
                rows[key].append((bool(right), bool(wrong), verified))
        generated_false = []
        for i, (_p, rgb, _lm) in enumerate(targets[: args.negatives]):
            found = named(square(rgb), 23, f"gen{i}")
            generated_false.append(bool(found) and not found[0].get("_no_track"))
        idol_false, idol_n = [], 0
        step = max(1, len(idol_queries) // max(1, args.negatives))
        for i, path in enumerate(idol_queries[::step][: args.negatives]):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            found = named(square(rgb), 23, f"idol{i}")
            if found and found[0].get("_no_track"):
                continue
            idol_n += 1
            idol_false.append(bool(found))
        ws.close()
    for key, values in rows.items():
        n = len(values)
        hits = sum(r for r, _w, _v in values)
        wrong = sum(w for _r, w, _v in values)
        frames = [v for r, _w, v in values if r]
        print(
            f"pasted generated faces, clip H.264 {key}: per-track recall {rate(hits, n)}; wrong source named "
            f"{rate(wrong, n)}; keyframes verified per hit track (of <= 4): "
            f"{np.mean(frames) if frames else 0:.2f}; clips without a face track {no_track[key]}"
        )
    print(
        "untouched generated faces not in the collection (clips): false attributions "
        + rate(sum(generated_false), len(generated_false))
    )
    print("unrelated photos of the same K-pop idols (clips): false attributions " + rate(sum(idol_false), idol_n))
    n = max(1, int(spent["clips"]))
    print(
        f"CPU time per 3 s clip: faces stage {spent['faces'] * 1000 / n:.0f} ms, attribution "
        f"{spent['attribution'] * 1000 / n:.0f} ms ({spent['attribution'] / max(spent['faces'], 1e-9):.2f}x)"
    )
    print(f"{time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
