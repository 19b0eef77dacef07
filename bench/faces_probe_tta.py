"""Probe-side test-time augmentation for identity: does embedding the scanned face more than once help?

Each photo's primary face is embedded from six crops: the aligned crop, its mirror image, and the same pair
aligned to a template shrunk towards the centre (``wide``: more context) and grown (``narrow``: less). A
configuration says which crops are averaged on the probe side (scanned faces and the gallery's cohort) and
on the reference side (enrolment). Every configuration is measured with the calibration's own nested
cross-validation (``gallery/calibration.py``: identity-disjoint and source-disjoint folds, 95% intervals) and
with pair verification (lfw-dev, eastasian-dev: accuracy at the shipped verify threshold and 10-fold).

    python bench/faces_calibration_sets.py --data ../shared/data --out /tmp/ident-cal/sets.csv --idol-sample 600
    python bench/faces_probe_tta.py --data /tmp/ident-cal/sets.csv --cache /tmp/ident-cal/tta.npz \
        --shared ../shared/data --draws 10 --out /tmp/ident-cal/tta.json

Embeddings are cached by photo SHA-256 (``--cache``); ``--only-embed`` fills the cache and stops.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

CROPS = ("plain", "mirror", "wide", "wide_m", "narrow", "narrow_m")
SCALES = {"wide": 0.92, "narrow": 1.08}
QUALITY = ("score", "size", "sharpness", "frontal", "face_px", "det_score")

CONFIGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (probe crops, reference crops)
    "shipped (probe plain, ref plain+mirror)": (("plain",), ("plain", "mirror")),
    "probe plain+mirror": (("plain", "mirror"), ("plain", "mirror")),
    "probe+ref 3 scales x mirror": (CROPS, CROPS),
    "probe plain+mirror, ref 3 scales x mirror": (("plain", "mirror"), CROPS),
    "probe+ref plain+wide x mirror": (("plain", "mirror", "wide", "wide_m"), ("plain", "mirror", "wide", "wide_m")),
    "probe+ref plain+narrow x mirror": (
        ("plain", "mirror", "narrow", "narrow_m"),
        ("plain", "mirror", "narrow", "narrow_m"),
    ),
}


def scaled_align(image_rgb: np.ndarray, landmarks: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    from idolguard.faces.align import TEMPLATE_112, similarity_transform

    centre = np.array([56.0, 56.0])
    template = (TEMPLATE_112 - centre) * scale + centre
    matrix = similarity_transform(np.asarray(landmarks).reshape(5, 2), template)
    return cv2.warpAffine(
        np.ascontiguousarray(image_rgb), matrix, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def embed_all(
    paths: list[Path], cache: Path, two_views: set[Path] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """sha256 -> ((6, 128) unit vectors or zeros, quality parts (6,) with score -1 when no face). Photos in
    ``two_views`` get only the crop and its mirror (the wide/narrow rows stay zero: cheaper, for pairs)."""
    from idolguard.errors import MediaError
    from idolguard.faces.analysis import FaceAnalyzer, primary_face
    from idolguard.media.image import load_rgb

    entries: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        entries = {str(k): (v, q) for k, v, q in zip(data["keys"], data["vectors"], data["quality"], strict=True)}
    analyzer: FaceAnalyzer | None = None
    fresh, started = 0, time.time()

    def save() -> None:
        keys = sorted(entries)
        tmp = cache.with_name(cache.name + ".tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys),
            vectors=np.array([entries[k][0] for k in keys], np.float32),
            quality=np.array([entries[k][1] for k in keys], np.float64),
        )
        tmp.replace(cache)

    for n, photo in enumerate(dict.fromkeys(paths)):
        try:
            data_bytes = photo.read_bytes()
        except OSError:
            continue
        key = hashlib.sha256(data_bytes).hexdigest()
        six = not two_views or photo not in two_views
        if key in entries and not (six and entries[key][1][0] >= 0 and not entries[key][0][2].any()):
            continue
        analyzer = analyzer or FaceAnalyzer()
        try:
            image = load_rgb(photo)
            found = analyzer.analyze(image, embed=False)
            face = primary_face(found.faces, image.shape)
        except (MediaError, OSError):
            face = None
        if face is None:
            entries[key] = (np.zeros((6, 128), np.float32), np.array([-1.0, 0, 0, 0, 0, 0]))
        else:
            crops = [face.aligned, np.ascontiguousarray(face.aligned[:, ::-1])]
            if six:
                for name in ("wide", "narrow"):
                    crop = scaled_align(image, face.detection.landmarks, SCALES[name])
                    crops += [crop, np.ascontiguousarray(crop[:, ::-1])]
            assert analyzer.embedder is not None
            q = face.quality
            vectors = np.zeros((6, 128), np.float32)
            vectors[: len(crops)] = analyzer.embedder.embed(crops)
            entries[key] = (
                vectors,
                np.array([q.score, q.size, q.sharpness, q.frontal, q.face_px, face.detection.score]),
            )
        fresh += 1
        if fresh % 200 == 0:
            save()
            print(f"  embedded {n + 1}/{len(paths)} ({time.time() - started:.0f} s)", file=sys.stderr)
    if fresh:
        save()
    return {k: v for k, v in entries.items()}


def sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def combine(vectors: np.ndarray, crops: tuple[str, ...]) -> np.ndarray:
    """Unit mean of the chosen crops' embeddings; vectors is (N, 6, 128)."""
    idx = [CROPS.index(c) for c in crops]
    mean = vectors[:, idx, :].sum(axis=1)
    return (mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def pair_accuracy(shared: Path, entries: dict, probe: tuple[str, ...], ref: tuple[str, ...]) -> dict[str, dict]:
    from idolguard.faces.eval_cli import cross_validated_accuracy
    from idolguard.faces.evaluation import read_csv
    from idolguard.gallery.matching import MatchParams

    threshold = MatchParams.shipped().verify_threshold
    out = {}
    for name in ("lfw-dev", "eastasian-dev"):
        root = shared / name
        rows = read_csv(root / "pairs.csv", ("a", "b", "same"))
        scores, labels, correct = [], [], 0
        for row in rows:
            ka, kb = sha(root / row["a"]), sha(root / row["b"])
            same = row["same"].strip() in ("1", "true", "yes", "same", "y")
            ea, eb = entries.get(ka or ""), entries.get(kb or "")
            if ea is None or eb is None or ea[1][0] < 0 or eb[1][0] < 0:
                continue  # counted as an error below (no face)
            a = combine(ea[0][None], ref)[0]
            b = combine(eb[0][None], probe)[0]
            s = float(a @ b)
            scores.append(s)
            labels.append(same)
            correct += int((s >= threshold) == same)
        s_arr, l_arr = np.array(scores), np.array(labels)
        out[name] = {
            "pairs": len(rows),
            "with_face": len(scores),
            "accuracy_at_shipped": round(correct / len(rows), 4),
            "cv10_accuracy_with_face": round(cross_validated_accuracy(s_arr, l_arr), 4),
        }
    return out


def calibration_figures(faces, settings, folds) -> dict:  # type: ignore[no-untyped-def]
    from idolguard.gallery.calibration import cross_validate

    ident = cross_validate(faces, settings, None, 5, final=False)
    source = cross_validate(faces, settings, folds, 0, final=False)
    out = {}
    for mode, report in (("identity", ident), ("source", source)):
        out[mode] = {
            v: {
                **{
                    k: r["held_out"][k]
                    for k in (
                        "rank1_match",
                        "rank1_match_95ci",
                        "false_accept_rate",
                        "false_accept_rate_95ci",
                        "possible_share_genuine",
                        "possible_share_impostor",
                    )
                },
                "kpop_tapankarnik": {
                    k: r["per_source"].get("kpop-idols-tapankarnik", {}).get(k)
                    for k in ("rank1_match", "false_accept_rate", "false_accept_rate_95ci")
                },
            }
            for v, r in report["variants"].items()
        }
        out[mode]["families"] = [
            f["variants"].get("auto", {}).get("family") for f in report["folds"] if "auto" in f["variants"]
        ]
    return out


def lookup(figures: dict, mode: str, variant: str, key: str) -> float:
    row = figures[mode][variant]
    value = row["kpop_tapankarnik"]["false_accept_rate"] if key == "kpop_far" else row[key]
    return float("nan") if value is None else float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="calibration CSV (faces_calibration_sets.py)")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=1, help="repeat with this many gallery seeds (0, 1, ...)")
    parser.add_argument("--config", action="append", default=[], help="run only these configurations (names)")
    parser.add_argument("--variants", default="global,gallery,gallery+quality,snorm,auto")
    parser.add_argument("--only-embed", action="store_true")
    parser.add_argument("--no-pairs", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from idolguard.faces.labelled import read_labelled_csv
    from idolguard.gallery.calibration import LabelledFaces, Settings, default_folds

    rows = read_labelled_csv(args.data)
    paths = [r[0] for r in rows]
    pair_paths: list[Path] = []
    ref_paths: set[Path] = set()
    if not args.no_pairs:
        for name in ("lfw-dev", "eastasian-dev"):
            root = (args.shared / name).resolve()
            for line in (root / "pairs.csv").read_text(encoding="utf-8").splitlines()[1:]:
                a, b, _ = line.split(",")
                pair_paths += [root / a, root / b]
                ref_paths.add(root / a)
    # Pair photos: the probe side (column b) needs only crop + mirror; references (column a) all six crops.
    entries = embed_all(paths + pair_paths, args.cache, set(pair_paths) - set(paths) - ref_paths)
    if args.only_embed:
        return
    keep, vecs, quals = [], [], []
    for photo, identity, source in rows:
        entry = entries.get(sha(photo) or "")
        if entry is None or entry[1][0] < 0:
            continue
        keep.append((str(photo), identity, source))
        vecs.append(entry[0])
        quals.append(entry[1][0])
    vectors = np.array(vecs, np.float32)
    results: dict = {"crops": CROPS, "scales": SCALES, "configs": {}}
    variants = tuple(args.variants.split(","))
    for name, (probe, ref) in CONFIGS.items():
        if args.config and name not in args.config:
            continue
        started = time.time()
        faces = LabelledFaces(
            [k[0] for k in keep],
            np.array([k[1] for k in keep], dtype=object),
            np.array([k[2] for k in keep], dtype=object),
            combine(vectors, probe),
            combine(vectors, ref),
            np.array(quals, np.float64),
            [],
        )
        entry = {"probe": probe, "reference": ref}
        for seed in range(args.seeds):
            settings = Settings(draws=args.draws, variants=variants, seed=seed)
            entry[f"seed{seed}"] = calibration_figures(faces, settings, default_folds(faces))
        entry["mean_over_seeds"] = {
            f"{mode}/{v}/{key}": round(
                float(np.mean([lookup(entry[f"seed{s}"], mode, v, key) for s in range(args.seeds)])), 4
            )
            for mode in ("identity", "source")
            for v in variants
            for key in ("rank1_match", "false_accept_rate", "kpop_far")
        }
        if not args.no_pairs and set(probe) <= {"plain", "mirror"}:
            entry["pairs"] = pair_accuracy(args.shared.resolve(), entries, probe, ref)
        entry["seconds"] = round(time.time() - started, 1)
        results["configs"][name] = entry
        print(json.dumps({name: entry["mean_over_seeds"], "pairs": entry.get("pairs")}), flush=True)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
