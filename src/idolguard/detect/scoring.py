"""Score the faces found by the ``faces`` stage: re-crop them from the original, run the detector, aggregate.

Two steps, kept apart on purpose:

1. ``measure`` (slow: decodes media, runs the model) records raw logits per face and per video frame.
2. ``finalize`` (instant) turns logits into calibrated probabilities, track scores, the item score and the
   verdict. Stored results keep the logits, so a new calibration (``idolguard calibrate detector``) applies
   to items scanned earlier without decoding them again.

Rules (stated in every output under ``manipulation.rules``):

- A face whose box is shorter than ``MIN_FACE_PX`` pixels is not judged ("insufficient resolution"): the
  blending traces the model looks for do not survive at that size, so any score would be a guess.
- Video and animations: each face track's score is the mean of its ``TOP_K`` highest frame probabilities
  (a swap can fail on a few frames; one odd frame alone should not flag a whole track).
- The item score is the maximum over faces/tracks (one manipulated face makes the file manipulated).
- Verdict: ``likely_manipulated`` at score >= ``likely``, ``uncertain`` in [``uncertain``, ``likely``),
  ``not_detected`` below; no face -> ``not_detected`` with the reason; faces seen but none judgeable ->
  ``uncertain`` (we could not look, so we do not say nothing was found). The thresholds are the model's
  operating points (chosen on real idol photos, see ``false_positives.py``) unless settings override them.
- ``not_detected`` was called ``no_evidence`` before; a lawyer reads that as "authentic", which a detector
  can never say. Stored results with the old name are read as ``not_detected`` (``verdict_name``).
- Every score carries ``false_positive_rate``: the share of held-out real idol photos scoring as high.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.coded_text import coded, put
from idolguard.config import Limits
from idolguard.detect.calibration import Calibration
from idolguard.detect.crops import crop_face, face_size_px
from idolguard.detect.detector import OnnxDetector
from idolguard.detect.false_positives import RealReference
from idolguard.detect.synthetic import SyntheticModel

MIN_FACE_PX = 48
VERDICTS = ("likely_manipulated", "uncertain", "not_detected")
#: Old stored verdict names and what they mean now.
RENAMED_VERDICTS = {"no_evidence": "not_detected"}
TOP_K = 3
LIKELY = 0.8
UNCERTAIN = 0.5
MAX_HEATMAPS = 20

AGGREGATION = (
    f"faces shorter than {MIN_FACE_PX}px are not judged; a track scores the mean of its top-{TOP_K} frame "
    "probabilities; the item scores the maximum over faces/tracks"
)


@dataclass
class Observation:
    face: int  # index into the faces stage's ``faces`` list
    t: float | None
    frame_index: int | None
    bbox: list[float]


def verdict_name(value: Any) -> Any:
    """A stored verdict under its current name (``no_evidence`` -> ``not_detected``); others unchanged."""
    return RENAMED_VERDICTS.get(value, value) if isinstance(value, str) else value


def thresholds(settings: dict[str, Any] | None, card: dict[str, Any] | None = None) -> dict[str, float]:
    """The model card's operating points (``card``, when given and ``[detect] model_operating_points`` is
    on, the default), else the ``[detect]`` likely/uncertain thresholds."""
    from idolguard.detect.settings import DetectSettings
    from idolguard.settings import load as load_settings

    configured = load_settings(DetectSettings, settings if isinstance(settings, dict) else None)
    likely, uncertain = configured.likely_threshold, configured.uncertain_threshold
    default_likely, default_uncertain = LIKELY, UNCERTAIN
    points = (card or {}).get("operating_points") if isinstance(card, dict) else None
    if isinstance(points, dict) and configured.model_operating_points:
        try:
            likely, uncertain = float(points["likely"]), float(points["uncertain"])
        except (KeyError, TypeError, ValueError):
            pass
    if not 0.0 <= uncertain <= likely <= 1.0:
        likely, uncertain = default_likely, default_uncertain
    return {"likely": likely, "uncertain": uncertain}


def valid_box(bbox: Any) -> bool:
    """A usable face box: four finite numbers with positive width and height (detectors can emit garbage on
    degenerate inputs such as a 3000x12 strip)."""
    try:
        values = [float(v) for v in bbox[:4]]
    except (TypeError, ValueError, IndexError):
        return False
    return len(values) == 4 and all(np.isfinite(values)) and values[2] > 0 and values[3] > 0


def observations(faces_output: dict[str, Any]) -> list[Observation]:
    """Every (face, frame) pair to score: one per image face, one per frame of each video/animation track."""
    faces = faces_output.get("faces") or []
    tracks = faces_output.get("face_tracks")
    out: list[Observation] = []
    if tracks is None:
        for i, face in enumerate(faces):
            if face.get("bbox") and valid_box(face["bbox"]):
                out.append(Observation(i, face.get("frame_t"), None, list(face["bbox"])))
        return out
    by_track = {face.get("track_id"): i for i, face in enumerate(faces)}
    for track in tracks:
        index = by_track.get(track.get("track_id"))
        if index is None:
            continue
        for frame in track.get("frames") or []:
            if frame.get("bbox") and valid_box(frame["bbox"]):
                out.append(Observation(index, frame.get("t"), frame.get("frame_index"), list(frame["bbox"])))
    return out


def _frames(
    path: Path,
    media_type: str,
    mime: str | None,
    limits: Limits,
    settings: dict[str, Any] | None,
    wanted: set[int],
    sampling: dict[str, Any] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode the frames the faces stage sampled, with the same parameters, so its boxes line up."""
    if media_type == "video":
        from idolguard.faces.settings import FacesSettings
        from idolguard.faces.stage import sample_video
        from idolguard.settings import load as load_settings

        # The faces stage records the sampling it used; outputs stored before it did fall back to the config.
        recorded = sampling if isinstance(sampling, dict) else None
        options = FacesSettings(**recorded) if recorded else load_settings(FacesSettings, settings)
        remaining = set(wanted)
        for frame in sample_video(path, limits, options).frames:
            if frame.index in remaining:
                remaining.discard(frame.index)
                yield frame.index, frame.image
            if not remaining:
                return
        return
    from idolguard.faces.stage import MAX_ANIMATION_FRAMES
    from idolguard.media.image import iter_image_frames

    for i, image in enumerate(iter_image_frames(path, limits, MAX_ANIMATION_FRAMES)):
        if i in wanted:
            yield i, image


def measure(
    path: Path,
    media_type: str,
    faces_output: dict[str, Any],
    detector: OnnxDetector,
    limits: Limits | None = None,
    settings: dict[str, Any] | None = None,
    mime: str | None = None,
    synthetic: SyntheticModel | None = None,
) -> dict[str, Any]:
    """Raw logits per face (and per frame); no calibration, no verdict. Heat maps are returned separately.

    With a ``synthetic`` model, the same crops also get the synthetic-image family's logits."""
    from idolguard.media.image import load_rgb

    limits = limits or Limits()
    faces = faces_output.get("faces") or []
    obs = observations(faces_output)
    with_obs = {ob.face for ob in obs}
    crops: list[np.ndarray] = []
    judged: list[Observation] = []
    small: dict[int, float] = {}
    size = detector.input_size

    def take(ob: Observation, image: np.ndarray) -> None:
        px = face_size_px(ob.bbox)
        if px < MIN_FACE_PX:
            small[ob.face] = max(small.get(ob.face, 0.0), px)
            return
        crops.append(crop_face(image, ob.bbox, size, detector.crop_scale))
        judged.append(ob)

    if "face_tracks" in faces_output:
        by_frame: dict[int, list[Observation]] = {}
        for ob in obs:
            key = ob.frame_index if ob.frame_index is not None else int(ob.t or 0)
            by_frame.setdefault(key, []).append(ob)
        sampling = faces_output.get("sampling")
        for index, image in _frames(path, media_type, mime, limits, settings, set(by_frame), sampling):
            for ob in by_frame.get(index, []):
                take(ob, image)
    elif obs:
        image = load_rgb(path, limits)
        for ob in obs:
            take(ob, image)
    logits, cams = detector.raw(crops)
    synth = synthetic.logits(crops) if synthetic is not None else None
    per_face: list[dict[str, Any]] = []
    for i, face in enumerate(faces):
        frames = [(ob.t, float(lg)) for ob, lg in zip(judged, logits, strict=True) if ob.face == i]
        entry: dict[str, Any] = {"index": face.get("index", i), "track_id": face.get("track_id")}
        if frames:
            entry["status"] = "scored"
            entry["frame_logits"] = [[t, round(lg, 5)] for t, lg in frames]
            if synth is not None:
                entry["frame_synthetic_logits"] = [
                    [ob.t, round(float(lg), 5)] for ob, lg in zip(judged, synth, strict=True) if ob.face == i
                ]
        elif i in small:
            entry["status"] = "insufficient_resolution"
            px = f"{small[i]:.0f}"
            text = f"insufficient resolution: face is {px}px, below {MIN_FACE_PX}px"
            put(entry, "reason", text, "manip.face_small", px=px, min=str(MIN_FACE_PX))
        elif i in with_obs:
            entry["status"] = "not_scored"
            put(entry, "reason", "face frames could not be decoded again", "manip.face_not_decoded")
        else:
            entry["status"] = "invalid_box"
            put(entry, "reason", "the face detector returned an unusable box; ignored", "manip.face_bad_box")
        per_face.append(entry)
    best_crop: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
    for ob, lg, crop, cam in zip(judged, logits, crops, cams, strict=True):
        if ob.face not in best_crop or lg > best_crop[ob.face][0]:
            best_crop[ob.face] = (float(lg), crop, cam)
    return {"faces": per_face, "faces_seen": len(with_obs), "_best": best_crop}


SEVERITY = {"not_detected": 0, "uncertain": 1, "likely_manipulated": 2}
FAMILY_TEXT = {
    "face_swap": "face-swap/blending traces (self-blended-image detector)",
    "synthetic_image": "fully generated face (spectral/noise-residual detector, StyleGAN2-trained)",
}


def _track_score(frame_logits: list[Any], calibration: Calibration) -> float | None:
    logits = [lg for _t, lg in frame_logits or []]
    if not logits:
        return None
    probs = np.sort(calibration.apply(np.asarray(logits)))[::-1]
    return float(np.mean(probs[:TOP_K]))


def _band(score: float, limits: dict[str, float], family: str) -> tuple[str, str, dict[str, Any]]:
    """The verdict of one family's score, its English reason and the same as a code with values
    (``coded_text``: front doors in other languages say it from their catalog)."""
    name = coded(f"manip.family_word.{family}")
    value, likely, uncertain = f"{score:.2f}", f"{limits['likely']:.2f}", f"{limits['uncertain']:.2f}"
    if score >= limits["likely"]:
        return (
            "likely_manipulated",
            f"{family} score {value} >= {likely}",
            coded("manip.band_likely", family=name, score=value, limit=likely),
        )
    if score >= limits["uncertain"]:
        return (
            "uncertain",
            f"{family} score {value} in [{uncertain}, {likely})",
            coded("manip.band_uncertain", family=name, score=value, low=uncertain, high=likely),
        )
    return "not_detected", f"{family} scores below {uncertain}", coded("manip.band_below", family=name, limit=uncertain)


def finalize(
    measured: dict[str, Any],
    calibration: Calibration,
    limits: dict[str, float],
    reference: RealReference | None = None,
    synthetic: SyntheticModel | None = None,
) -> dict[str, Any]:
    """Calibrated per-face scores, the item score and the verdict, from stored logits (pure, fast).

    With a ``reference`` (held-out real idol photos) each score also gets its false-positive rate. With a
    ``synthetic`` model, faces that carry its logits also get a ``synthetic_image`` family score (its own
    calibration, operating points and reference); the verdict is the more severe of the two families', and
    ``families`` explains each."""
    faces = []
    scores: list[float] = []
    synth_scores: list[float] = []
    synth_ref = RealReference.from_card(synthetic.card) if synthetic is not None else None
    for face in measured.get("faces") or []:
        face = dict(face)
        score = _track_score(face.get("frame_logits") or [], calibration)
        if score is not None:
            face["manipulation_score"] = round(score, 4)
            face["frames_scored"] = len(face.get("frame_logits") or [])
            if reference is not None:
                face["false_positive_rate"] = reference.rate_at(score, calibration)
            scores.append(score)
        else:
            face["manipulation_score"] = None
        synth = _track_score(face.get("frame_synthetic_logits") or [], synthetic.calibration) if synthetic else None
        if synth is not None and synthetic is not None:
            face["synthetic_score"] = round(synth, 4)
            if synth_ref is not None:
                face["synthetic_false_positive_rate"] = synth_ref.rate_at(synth, synthetic.calibration)
            synth_scores.append(synth)
        faces.append(face)
    seen = int(measured.get("faces_seen") or 0)
    families: dict[str, Any] = {}
    fpr = None
    if seen == 0:
        score, verdict, reason = None, "not_detected", "no face found"
        why = coded("manip.no_face")
    elif not scores:
        score, verdict = None, "uncertain"
        unjudged = {f["reason"]: f for f in faces if f.get("reason")}
        reason = "no face could be judged: " + "; ".join(sorted(unjudged))
        why = coded(
            "manip.none_judged",
            reasons=[
                coded(str(f.get("reason_code")), **(f.get("reason_params") or {}))
                if f.get("reason_code")
                else coded("manip.text", text=text)
                for text, f in sorted(unjudged.items())
            ],
        )
    else:
        score = round(max(scores), 4)
        verdict, reason, why = _band(score, limits, "face")
        if reference is not None:
            fpr = reference.rate_at(score, calibration)
        families["face_swap"] = {
            "score": score,
            "verdict": verdict,
            "explanation": f"{FAMILY_TEXT['face_swap']}: {reason}",
            "explanation_code": "manip.family_explained",
            "explanation_params": {"detector": coded("manip.detector.face_swap"), "reason": why},
            "thresholds": limits,
            "false_positive_rate": fpr,
        }
        if synth_scores and synthetic is not None:
            synth_limits = thresholds(None, synthetic.card)
            synth_score = round(max(synth_scores), 4)
            synth_verdict, synth_reason, synth_why = _band(synth_score, synth_limits, "synthetic-image")
            synth_fpr = synth_ref.rate_at(synth_score, synthetic.calibration) if synth_ref is not None else None
            families["synthetic_image"] = {
                "score": synth_score,
                "verdict": synth_verdict,
                "explanation": f"{FAMILY_TEXT['synthetic_image']}: {synth_reason}",
                "explanation_code": "manip.family_explained",
                "explanation_params": {"detector": coded("manip.detector.synthetic_image"), "reason": synth_why},
                "thresholds": synth_limits,
                "false_positive_rate": synth_fpr,
                "model": synthetic.model_id,
            }
            if SEVERITY[synth_verdict] > SEVERITY[verdict]:
                score, verdict, fpr = synth_score, synth_verdict, synth_fpr
                reason = f"{synth_reason} (face-swap: {families['face_swap']['explanation'].split(': ', 1)[1]})"
                why = coded("manip.synthetic_decides", reason=synth_why, other=why)
    result: dict[str, Any] = {"faces": faces, "manipulation_score": score, "verdict": verdict}
    put(result, "verdict_reason", reason, why["code"], **why["params"])
    if families:
        result["families"] = families
        result["deciding_family"] = next(
            (name for name, fam in families.items() if fam["score"] == score and fam["verdict"] == verdict),
            "face_swap",
        )
    if fpr is not None:
        result["false_positive_rate"] = fpr
    return result


def heatmap_png(crop: np.ndarray, cam: np.ndarray, calibration: Calibration) -> bytes:
    """The face crop beside the class-activation map overlaid on it.

    Each CAM cell is a local logit (their mean is the face's logit), so it is passed through the same
    calibration and drawn on a fixed 0..1 scale: blue = looks real, red = looks manipulated. A fixed scale
    (not per-image min-max) keeps a real face blue instead of painting its least-real corner red.
    """
    import cv2
    from PIL import Image

    size = crop.shape[0]
    probs = calibration.apply(np.asarray(cam, dtype=np.float64)).astype(np.float32)
    up = cv2.resize(probs, (size, size), interpolation=cv2.INTER_CUBIC)
    colour = cv2.applyColorMap(np.clip(up * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    blended = (crop.astype(np.float32) * 0.55 + colour.astype(np.float32) * 0.45).astype(np.uint8)
    side_by_side = np.concatenate([crop, blended], axis=1)
    buf = io.BytesIO()
    Image.fromarray(side_by_side).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
