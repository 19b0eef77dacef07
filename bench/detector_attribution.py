"""Source-face attribution (``idolguard.source_attribution``, as scans run it): recall, precision, false attributions.

    python bench/detector_attribution.py --data ../shared/data [--pastes 120] [--inliers 60 80 100 150]

Recall: "official" collection = the generated faces of ``synthetic-dev`` (StyleGAN2: nobody real). Each
suspect is one of them (A) pasted onto another generated face (B) with the self-blending mask
(``sbi.blend_mask`` on B's landmarks, A warped onto B by the landmark similarity), then re-encoded
(JPEG q75, and a second row with 0.75x downscale + JPEG q60). A hit = A is named; a wrong hit = any other
official face is named.

False attributions: official collection = half the photos of each K-pop idol in ``eastasian-dev`` (real,
unmodified); queries = the *other* photos of the same idols (unrelated photos of the same artist: same
face, different picture), plus the untouched generated faces that were not used as sources. Any named
source is a false attribution. No face swap of a real person is built, not even in memory.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np

from idolguard import source_attribution
from idolguard.detect.degradations import jpeg, rescale
from idolguard.detect.false_positives import wilson
from idolguard.detect.sbi import blend_mask
from idolguard.faces.align import similarity_transform
from idolguard.signals.face_match import luma_of
from idolguard.source_attribution import OfficialCollection


def faces_of(rgb: np.ndarray) -> list[dict]:
    from idolguard.faces.detector import get_detector

    return [{"landmarks": f.landmarks.tolist(), "bbox": list(f.bbox)} for f in get_detector().detect(rgb)]


def read(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[..., ::-1])


def paste(src: np.ndarray, src_lm: np.ndarray, dst: np.ndarray, dst_lm: np.ndarray, seed: int) -> np.ndarray:
    """A's face onto B (both generated faces): the self-blending mask on B's landmarks, A warped onto B."""
    matrix = similarity_transform(src_lm, dst_lm)
    warped = cv2.warpAffine(src, matrix, (dst.shape[1], dst.shape[0]), flags=cv2.INTER_LINEAR)
    mask = blend_mask(dst.shape[:2], dst_lm, np.random.default_rng(seed))[..., None]
    mask = mask / max(float(mask.max()), 1e-6)  # a swap pastes the whole face (no partial blend ratio)
    return np.clip(warped * mask + dst * (1 - mask), 0, 255).astype(np.uint8)


def rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / max(n, 1) * 100:.1f}% (95% CI {lo * 100:.1f}-{hi * 100:.1f}%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--pastes", type=int, default=120)
    parser.add_argument(
        "--inliers",
        type=int,
        nargs="*",
        default=[source_attribution.MIN_INLIERS, 80, 100, 150],
        help="copy thresholds to report (the first is the shipped MIN_INLIERS)",
    )
    args = parser.parse_args()
    shipped = source_attribution.MIN_INLIERS
    study = sorted(set(args.inliers))
    source_attribution.MIN_INLIERS = min(study)  # verify at the loosest, then read every threshold off the rows
    started = time.perf_counter()
    synth = args.data / "synthetic-dev"
    with (synth / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        paths = [synth / r["path"] for r in csv.DictReader(handle)]
    generated = []
    for path in paths:
        rgb = read(path)
        if rgb is None or min(rgb.shape[:2]) < 200:  # the 128 px tiles are too small to paste convincingly
            continue
        found = faces_of(rgb)
        if len(found) == 1:
            generated.append((path.name, rgb, np.asarray(found[0]["landmarks"], dtype=np.float64)))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(generated))
    sources = [generated[i] for i in order[: len(order) // 2]]
    targets = [generated[i] for i in order[len(order) // 2 :]]
    official = OfficialCollection()
    for name, rgb, lm in sources:
        official.add(name, luma_of(rgb), [{"landmarks": lm.tolist()}])
    # per query: (right source's best inliers, best inliers of any wrong source), 0 when not named
    paste_rows: dict[str, list[tuple[int, int]]] = {"jpeg75": [], "0.75x+jpeg60": []}
    for i in range(min(args.pastes, len(sources) * len(targets))):
        s_name, s_rgb, s_lm = sources[i % len(sources)]
        _t_name, t_rgb, t_lm = targets[(i * 7) % len(targets)]
        pasted = paste(s_rgb, s_lm, t_rgb, t_lm, i)
        for key, image in (("jpeg75", jpeg(pasted, 75)), ("0.75x+jpeg60", jpeg(rescale(pasted, 0.75), 60))):
            named = official.attribute(luma_of(image), faces_of(image))
            right = max((r["inliers"] for r in named if r["official"] == s_name), default=0)
            wrong = max((r["inliers"] for r in named if r["official"] != s_name), default=0)
            paste_rows[key].append((right, wrong))
    synth_rows = []
    for _name, rgb, _lm in targets:
        synth_rows.append(max((r["inliers"] for r in official.attribute(luma_of(rgb), faces_of(rgb))), default=0))
    east = args.data / "eastasian-dev"
    with (east / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        kpop = [r for r in csv.DictReader(handle) if r["set"].startswith("kpop")]
    by_person: dict[str, list[Path]] = {}
    for r in kpop:
        by_person.setdefault(r["identity"].rsplit("/", 1)[-1].split("_")[-1], []).append(east / r["path"])
    idol_official = OfficialCollection()
    queries: list[tuple[str, Path]] = []
    for person, files in sorted(by_person.items()):
        half = len(files) // 2
        for path in files[:half]:
            rgb = read(path)
            if rgb is not None:
                idol_official.add(f"{person}/{path.name}", luma_of(rgb), faces_of(rgb))
        queries += [(person, p) for p in files[half:]]
    idol_rows: list[int] = []
    examples = []
    for person, path in queries:
        rgb = read(path)
        if rgb is None:
            continue
        found = faces_of(rgb)
        if not found:
            continue
        named = idol_official.attribute(luma_of(rgb), found)
        idol_rows.append(max((r["inliers"] for r in named), default=0))
        if named:
            examples.append((f"{person}/{path.name}", named[0]["official"], named[0]["inliers"], named[0]["matches"]))
    print(f"official collections: {len(sources)} generated faces; {len(idol_official.faces)} K-pop idol faces")
    for t in study:
        mark = " (shipped)" if t == shipped else ""
        print(f"-- copy threshold {t} inliers{mark}")
        for key, rows in paste_rows.items():
            n = len(rows)
            hit = sum(right >= t for right, _ in rows)
            wrong = sum(w >= t for _, w in rows)
            named = sum(right >= t or w >= t for right, w in rows)
            correct = sum(right >= t and w < t for right, w in rows)
            print(
                f"pasted generated faces, {key}: recall {rate(hit, n)}; wrong source named {rate(wrong, n)}; "
                f"precision (only the right source named) {rate(correct, named)}"
            )
        print(
            "untouched generated faces not in the collection: false attributions "
            + rate(sum(x >= t for x in synth_rows), len(synth_rows))
        )
        print(
            "unrelated photos of the same idols: false attributions "
            + rate(sum(x >= t for x in idol_rows), len(idol_rows))
        )
    for example in examples[:10]:
        print("  ", example)
    print(f"{time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
