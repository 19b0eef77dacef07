"""Source-face attribution (``idolguard.detect.attribution``): recall on pasted faces, false attributions.

    python bench/detector_attribution.py --data ../shared/data [--pastes 120]

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
    args = parser.parse_args()
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
    rows = {"jpeg75": [0, 0, 0], "0.75x+jpeg60": [0, 0, 0]}  # [queries, right source named, wrong named]
    for i in range(min(args.pastes, len(sources) * len(targets))):
        s_name, s_rgb, s_lm = sources[i % len(sources)]
        _t_name, t_rgb, t_lm = targets[(i * 7) % len(targets)]
        pasted = paste(s_rgb, s_lm, t_rgb, t_lm, i)
        for key, image in (("jpeg75", jpeg(pasted, 75)), ("0.75x+jpeg60", jpeg(rescale(pasted, 0.75), 60))):
            found = faces_of(image)
            rows[key][0] += 1
            names = {r["official"] for r in official.attribute(luma_of(image), found)}
            rows[key][1] += int(s_name in names)
            rows[key][2] += int(bool(names - {s_name}))
    for key, (n, hit, wrong) in rows.items():
        print(f"pasted generated faces, {key}: recall {rate(hit, n)}; wrong source named {rate(wrong, n)}")
    false_synth = 0
    for _name, rgb, _lm in targets:
        false_synth += int(bool(official.attribute(luma_of(rgb), faces_of(rgb))))
    print(f"untouched generated faces not in the collection: false attributions {rate(false_synth, len(targets))}")
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
    false_idol = n_idol = 0
    examples = []
    for person, path in queries:
        rgb = read(path)
        if rgb is None:
            continue
        found = faces_of(rgb)
        if not found:
            continue
        n_idol += 1
        named = idol_official.attribute(luma_of(rgb), found)
        if named:
            false_idol += 1
            examples.append((f"{person}/{path.name}", named[0]["official"], named[0]["inliers"], named[0]["matches"]))
    print(
        f"unrelated photos of the same idols ({len(idol_official.faces)} official faces): "
        f"false attributions {rate(false_idol, n_idol)}"
    )
    for example in examples[:10]:
        print("  ", example)
    print(f"{time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
