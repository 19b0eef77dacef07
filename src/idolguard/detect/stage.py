"""The ``manipulation`` stage: is a face in this file swapped or blended in? Plus Content Credentials.

Output (stored per item):

- ``manipulation_score`` (0..1 or None), ``false_positive_rate`` (share of held-out real idol photos that
  score as high, with its 95% interval; None when the model has no reference), ``verdict``
  (``likely_manipulated`` / ``uncertain`` / ``not_detected``, formerly ``no_evidence``), ``verdict_reason``;
- ``manipulation``: model name/version, calibration id, thresholds, the aggregation rule, and per face
  ``{index, track_id, status, reason, frame_logits [[t, logit]], manipulation_score, frames_scored,
  heatmap_sha256}``;
- ``content_credentials``: the C2PA summary (``present``, ``signature_valid``, ``ai_generated``, ...).

A valid C2PA manifest that declares generative AI makes the verdict ``likely_manipulated`` whatever the
pixel detector says (the generator itself says so); a missing manifest changes nothing.

``contribute`` puts the score, verdict and per-face ``manipulation_score`` / ``manipulation_status`` /
``heatmap_sha256`` onto the ``faces`` entries of ``scan --json`` objects, re-scoring from the stored logits
when the workspace calibration changed since the item was analysed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from idolguard.coded_text import coded, put
from idolguard.config import Limits
from idolguard.detect.content_credentials import read_content_credentials
from idolguard.detect.detector import DetectorUnavailable, OnnxDetector, default_detector
from idolguard.detect.false_positives import RealReference
from idolguard.detect.recalibration import WorkspaceCalibration, active_calibration
from idolguard.detect.scoring import (
    AGGREGATION,
    MAX_HEATMAPS,
    MIN_FACE_PX,
    TOP_K,
    finalize,
    heatmap_png,
    measure,
    thresholds,
    verdict_name,
)
from idolguard.detect.synthetic import SyntheticModel, default_synthetic
from idolguard.pipeline.resources import Resources
from idolguard.pipeline.stage import Stage, StageContext


def score_file(
    path: Path,
    media_type: str,
    faces_output: dict[str, Any],
    *,
    detector: OnnxDetector | None = None,
    limits: Limits | None = None,
    settings: dict[str, Any] | None = None,
    mime: str | None = None,
    heatmaps: bool = False,
    calibration: WorkspaceCalibration | None = None,
) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
    """Score one file whose faces are known; returns (stage output, [(face index, heat-map PNG)])."""
    detector = detector or default_detector()
    synthetic = synthetic_family(settings)
    measured = measure(path, media_type, faces_output, detector, limits, settings, mime, synthetic)
    best = measured.pop("_best")
    workspace_calibration = calibration
    calibration, cal_id = active_calibration(detector, workspace_calibration)
    limits_ = operating_thresholds(detector, cal_id, settings)
    credentials = read_content_credentials(path, mime)
    output: dict[str, Any] = {
        "manipulation": {
            "model": detector.model_id,
            "synthetic_model": synthetic.model_id if synthetic is not None else None,
            "calibration": cal_id,
            "thresholds": limits_,
            "rules": AGGREGATION,
            "rules_code": "manip.rules",
            "rules_params": {"min": str(MIN_FACE_PX), "k": str(TOP_K)},
            "faces_seen": measured["faces_seen"],
            "faces": measured["faces"],
        },
        "content_credentials": credentials,
    }
    apply_scores(output, calibration, cal_id, limits_, detector.reference, synthetic)
    pngs: list[tuple[int, bytes]] = []
    if heatmaps:
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:MAX_HEATMAPS]
        pngs = [(face, heatmap_png(crop, cam, calibration)) for face, (_logit, crop, cam) in ranked]
    return output, pngs


def synthetic_family(settings: dict[str, Any] | None) -> SyntheticModel | None:
    """The synthetic-image family; None when its model file is absent (the face-swap family still runs)."""
    return default_synthetic()


def operating_thresholds(detector: OnnxDetector, cal_id: str, settings: dict[str, Any] | None) -> dict[str, float]:
    """The model's operating points (chosen on real idol photos under the model's own calibration) apply
    while that calibration is active; a workspace calibration gives probabilities of its own, so there the
    ``[detect]`` thresholds apply."""
    card = detector.card if cal_id.startswith("model:") else None
    return thresholds(settings, card)


def apply_scores(
    output: dict[str, Any],
    calibration: Any,
    cal_id: str,
    limits_: dict[str, float],
    reference: RealReference | None = None,
    synthetic: SyntheticModel | None = None,
) -> None:
    """(Re)compute the calibrated scores, false-positive rates and the verdict of a stage output in place."""
    info = output["manipulation"]
    result = finalize(
        {"faces": info["faces"], "faces_seen": info["faces_seen"]}, calibration, limits_, reference, synthetic
    )
    info["faces"] = result["faces"]
    info["calibration"] = cal_id
    info["thresholds"] = limits_
    verdict, reason = result["verdict"], result["verdict_reason"]
    why = coded(result["verdict_reason_code"], **result["verdict_reason_params"])
    credentials = output.get("content_credentials") or {}
    if credentials.get("ai_generated") and credentials.get("signature_valid"):
        verdict = "likely_manipulated"
        reason = "Content Credentials (valid signature) declare generative AI; " + reason
        why = coded("manip.c2pa_ai", reason=why)
    output["manipulation_score"] = result["manipulation_score"]
    output["false_positive_rate"] = result.get("false_positive_rate")
    info["false_positive_reference"] = reference.data if reference is not None else None
    info["families"] = result.get("families")
    info["deciding_family"] = result.get("deciding_family")
    output["verdict"] = verdict
    put(output, "verdict_reason", reason, why["code"], **why["params"])


def _stage_version() -> str:
    """Stage code version plus the model's, so a retrained or swapped model re-analyses stored items.

    A new ``faces`` version re-runs this stage by itself (the runner records upstream versions).
    Code version 3: synthetic-image family, operating points and false-positive rates on idol photos."""
    from idolguard.detect.detector import default_model_path, load_card

    try:
        card = load_card(default_model_path())
    except DetectorUnavailable:
        return "3"
    synthetic = default_synthetic()
    version = f"3+{card.get('name', 'model')}-{card.get('version', '0')}"
    if synthetic is not None:
        version += f"+syn-{synthetic.version}"
    if len(version) > 32:  # the stage_results column holds 32 characters
        import hashlib

        version = "3+" + hashlib.sha256(version.encode()).hexdigest()[:16]
    return version


class ManipulationStage(Stage):
    name = "manipulation"
    version = _stage_version()
    needs = ("faces",)
    produces = (
        "manipulation_score",
        "false_positive_rate",
        "verdict",
        "verdict_reason",
        "verdict_reason_code",
        "verdict_reason_params",
        "manipulation",
        "content_credentials",
    )
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    description = (
        "face-swap detector (self-blended-image EfficientNet-Lite0, ONNX) + synthetic-image detector "
        "(spectral/noise-residual statistics) + C2PA Content Credentials"
    )
    may_use = ("detector_calibration",)
    refresh_uses = ("detector_calibration",)  # re-score stored logits when the calibration changed

    def unavailable_reason(self) -> str | None:
        try:
            default_detector()
        except DetectorUnavailable as exc:
            return str(exc)
        except ImportError as exc:
            return f"missing dependency: {exc}"
        return None

    def run(self, ctx: StageContext) -> dict[str, Any]:
        output, pngs = score_file(
            ctx.path,
            ctx.media_type,
            ctx.inputs.get("faces") or {},
            limits=ctx.limits,
            settings=ctx.settings,
            mime=ctx.item.get("mime"),
            heatmaps=ctx.persist,
            calibration=ctx.resources.get("detector_calibration"),
        )
        faces = output["manipulation"]["faces"]
        for index, png in pngs:
            sha = ctx.add_derived(png, "heatmap", "image/png", {"face": index, "stage": self.name})
            faces[index]["heatmap_sha256"] = sha
        return output

    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        output = _rescored(output, (resources or Resources()).get("detector_calibration"))
        for name in self.produces:
            if name in output:
                obj[name] = output[name]
        if "verdict" in obj:  # results stored before the rename say "no_evidence"
            obj["verdict"] = verdict_name(obj["verdict"])
        per_face = (output.get("manipulation") or {}).get("faces") or []
        for face_obj, scored in zip(obj.get("faces") or [], per_face, strict=False):
            face_obj["manipulation_score"] = scored.get("manipulation_score")
            face_obj["manipulation_status"] = scored.get("status")
            if scored.get("heatmap_sha256"):
                face_obj["heatmap_sha256"] = scored["heatmap_sha256"]


def _rescored(output: dict[str, Any], workspace: WorkspaceCalibration | None) -> dict[str, Any]:
    """The stored output, re-scored if the active calibration is not the one it was scored with."""
    info = output.get("manipulation")
    if not isinstance(info, dict):
        return output
    try:
        detector = default_detector()
        calibration, cal_id = active_calibration(detector, workspace)
    except DetectorUnavailable:
        return output
    if cal_id == info.get("calibration") or info.get("model") != detector.model_id:
        return output
    import copy

    fresh = copy.deepcopy(output)
    limits_ = info.get("thresholds") or operating_thresholds(detector, cal_id, None)
    synthetic = default_synthetic() if info.get("synthetic_model") else None
    if synthetic is not None and synthetic.model_id != info.get("synthetic_model"):
        synthetic = None  # logits of another synthetic model: its calibration would not apply
    apply_scores(fresh, calibration, cal_id, limits_, detector.reference, synthetic)
    return fresh
