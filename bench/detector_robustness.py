"""Dev robustness table and video-level AUC of the manipulation detector on clips built from DFDC dev frames.

    python bench/detector_robustness.py --root ../shared/data/deepfake-dev/dfdc-faces --per-class 150 \
        [--model path.onnx] [--conditions none jpeg50 half h264crf35] [--clips] [--out rows.jsonl]

Image rows: every selected dev crop goes the product's way (``eval detector``'s path: faces stage, crop,
detector) after one named degradation (``idolguard.detect.degradations``); ROC AUC over the item logits,
with a 95% bootstrap interval, and the time per file.

Clip rows (``--clips``): each selected crop becomes a 3-second, 10 fps clip (the crop pasted on a 320x320
canvas, moving and zooming slowly, so the faces stage sees a face track whose frames differ as a camera's
would) encoded with PyAV's libx264 at CRF 35 (yuv420p): a heavily compressed re-upload. The clip goes
through the product's video path (faces stage samples frames and links tracks, the detector scores every
track frame, a track scores the mean of its top-3 frame probabilities, the clip the max over tracks). Prints
the video-level AUC and the time of the manipulation scoring relative to the faces stage on the same clips.
Limitation, stated with the numbers: each clip repeats one real DFDC frame with synthetic motion; the
temporal flicker of a real face swap is not in it.

The subset is ``--per-class`` real and fake files spread evenly over ``labels.csv`` (the same files for every
condition and every model). dfdc-faces is evaluation only: nothing here is tuned on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def spread(rows: list, n: int) -> list:
    if n >= len(rows):
        return rows
    return [rows[i] for i in np.linspace(0, len(rows) - 1, n).round().astype(int)]


def auc_ci(labels: np.ndarray, scores: np.ndarray, rounds: int = 500) -> tuple[float, float, float]:
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(labels, scores))
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(rounds):
        idx = rng.integers(0, len(labels), len(labels))
        if len(set(labels[idx].tolist())) == 2:
            boot.append(roc_auc_score(labels[idx], scores[idx]))
    return auc, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def write_clip(crop_rgb: np.ndarray, path: Path, seconds: float = 3.0, fps: int = 10, crf: int = 35) -> None:
    """The crop on a 320x320 canvas, drifting and zooming a little per frame, H.264 CRF ``crf``."""
    import av
    import cv2

    side = 320
    frames = int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for i in range(frames):
            phase = i / max(1, frames - 1)
            scale = 1.0 + 0.06 * phase
            size = int(round(200 * scale))
            face = cv2.resize(crop_rgb, (size, size), interpolation=cv2.INTER_AREA)
            canvas = np.full((side, side, 3), (96, 104, 112), np.uint8)
            x = int(round(40 + 24 * np.sin(phase * np.pi)))
            y = int(round(50 + 10 * phase))
            canvas[y : y + size, x : x + size] = face[: side - y, : side - x]
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> None:
    from idolguard.config import Limits
    from idolguard.detect.detector import OnnxDetector, default_model_path
    from idolguard.detect.evaluation import read_labels, score_labelled
    from idolguard.media.image import load_rgb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("../shared/data/deepfake-dev/dfdc-faces"))
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--conditions", nargs="*", default=["none", "jpeg50", "half", "h264crf35"])
    parser.add_argument("--clips", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="per-file rows as JSON lines")
    args = parser.parse_args()
    detector = OnnxDetector(args.model or default_model_path())
    files = read_labels(args.root / "labels.csv", args.root)
    chosen = spread([f for f in files if f.label == 0], args.per_class) + spread(
        [f for f in files if f.label == 1], args.per_class
    )
    out = args.out.open("w") if args.out else None
    print(f"model {detector.name} {detector.version}; {len(chosen)} files ({args.per_class} per class)")
    from idolguard.detect.scoring import thresholds

    points = thresholds(None, detector.card)
    print(f"operating points {points}")
    print("| condition | scored | ROC AUC (95% CI) | fakes >= likely / >= uncertain | reals >= uncertain | ms/file |")
    print("|---|---|---|---|---|---|")
    for condition in args.conditions:
        started = time.perf_counter()
        rows = list(score_labelled(chosen, detector, degrade=condition))
        ms = (time.perf_counter() - started) * 1000 / len(rows)
        scored = [r for r in rows if r.logit is not None]
        labels = np.array([r.label for r in scored])
        auc, lo, hi = auc_ci(labels, np.array([r.logit for r in scored]))
        probs = np.round(detector.calibration.apply(np.array([r.logit for r in scored])), 4)
        fake, real = probs[labels == 1], probs[labels == 0]
        rates = (
            f"{(fake >= points['likely']).mean():.3f} / {(fake >= points['uncertain']).mean():.3f} | "
            f"{(real >= points['uncertain']).mean():.3f}"
        )
        print(
            f"| {condition} | {len(scored)}/{len(rows)} | {auc:.3f} ({lo:.3f}-{hi:.3f}) | {rates} | {ms:.0f} |",
            flush=True,
        )
        if out:
            for r in rows:
                out.write(
                    json.dumps({"condition": condition, "path": r.rel, "label": r.label, "logit": r.logit}) + "\n"
                )
    if args.clips:
        from idolguard.detect.faces_input import faces_for_scoring
        from idolguard.detect.stage import score_file

        limits = Limits()
        labels_v, scores_v = [], []
        t_faces = t_score = 0.0
        with tempfile.TemporaryDirectory(prefix="idolguard-clips-") as tmp:
            for i, item in enumerate(chosen):
                clip = Path(tmp) / f"{i}.mp4"
                write_clip(load_rgb(item.path, limits), clip)
                t0 = time.perf_counter()
                faces = faces_for_scoring(clip, "video", "video/mp4", limits, None)
                t1 = time.perf_counter()
                output, _ = score_file(clip, "video", faces, detector=detector, limits=limits, mime="video/mp4")
                t2 = time.perf_counter()
                t_faces += t1 - t0
                t_score += t2 - t1
                tracks = [f for f in output["manipulation"]["faces"] if f.get("frame_logits")]
                if not tracks:
                    continue
                # Video-level logit: the calibrated top-3 track score is monotone in this for one track;
                # over tracks the item takes the max, as the product does.
                labels_v.append(item.label)
                scores_v.append(
                    max(f["manipulation_score"] for f in tracks)
                    + 1e-9 * max(lg for f in tracks for _t, lg in f["frame_logits"])
                )
                if out:
                    out.write(
                        json.dumps(
                            {
                                "condition": "clip-h264crf35",
                                "path": item.rel,
                                "label": item.label,
                                "tracks": [
                                    {
                                        "track": f.get("track_id"),
                                        "score": f["manipulation_score"],
                                        "frames": len(f["frame_logits"]),
                                    }
                                    for f in tracks
                                ],
                            }
                        )
                        + "\n"
                    )
        auc, lo, hi = auc_ci(np.array(labels_v), np.array(scores_v))
        print(
            f"| clips H.264 CRF 35 (video level: top-3 mean per track, max) | {len(labels_v)}/{len(chosen)} "
            f"| {auc:.3f} ({lo:.3f}-{hi:.3f}) | faces stage {t_faces * 1000 / len(chosen):.0f} ms/clip, "
            f"manipulation {t_score * 1000 / len(chosen):.0f} ms/clip ({t_score / max(t_faces, 1e-9):.2f}x) |"
        )
    if out:
        out.close()


if __name__ == "__main__":
    main()
