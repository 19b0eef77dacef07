"""The aggregation and verdict rules, on stored logits (no model needed)."""

from __future__ import annotations

import numpy as np

from idolguard.detect.calibration import Calibration
from idolguard.detect.scoring import TOP_K, finalize, observations

IDENTITY = Calibration("identity")
LIMITS = {"likely": 0.8, "uncertain": 0.5}


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def face(*probs: float, **extra: object) -> dict:
    return {"status": "scored", "frame_logits": [[float(i), logit(p)] for i, p in enumerate(probs)], **extra}


def test_track_score_is_the_mean_of_its_top_frames() -> None:
    probs = [0.1, 0.95, 0.2, 0.9, 0.85, 0.3]
    out = finalize({"faces": [face(*probs)], "faces_seen": 1}, IDENTITY, LIMITS)
    expected = float(np.mean(sorted(probs, reverse=True)[:TOP_K]))
    assert abs(out["faces"][0]["manipulation_score"] - expected) < 1e-3
    assert out["faces"][0]["frames_scored"] == len(probs)
    assert out["verdict"] == "likely_manipulated"


def test_one_odd_frame_does_not_flag_a_track() -> None:
    out = finalize({"faces": [face(0.99, 0.1, 0.1, 0.05)], "faces_seen": 1}, IDENTITY, LIMITS)
    assert out["manipulation_score"] < 0.5 and out["verdict"] == "not_detected"


def test_item_score_is_the_max_over_faces_and_bands_are_explicit() -> None:
    faces = [face(0.2), face(0.65), face(0.1)]
    out = finalize({"faces": faces, "faces_seen": 3}, IDENTITY, LIMITS)
    assert abs(out["manipulation_score"] - 0.65) < 1e-3
    assert out["verdict"] == "uncertain" and "[0.50, 0.80)" in out["verdict_reason"]
    low = finalize({"faces": [face(0.49)], "faces_seen": 1}, IDENTITY, LIMITS)
    assert low["verdict"] == "not_detected"


def test_no_face_and_unjudgeable_faces() -> None:
    none = finalize({"faces": [], "faces_seen": 0}, IDENTITY, LIMITS)
    assert none == {
        "faces": [],
        "manipulation_score": None,
        "verdict": "not_detected",
        "verdict_reason": "no face found",
        "verdict_reason_code": "manip.no_face",  # the same reason as a code, for reports in other languages
        "verdict_reason_params": {},
    }
    small = {"status": "insufficient_resolution", "reason": "insufficient resolution: face is 20px, below 48px"}
    out = finalize({"faces": [small], "faces_seen": 1}, IDENTITY, LIMITS)
    assert out["manipulation_score"] is None and out["verdict"] == "uncertain"
    assert "insufficient resolution" in out["verdict_reason"]


def test_calibration_changes_scores_but_not_order() -> None:
    faces = [face(0.3), face(0.6)]
    steep = Calibration("platt", a=3.0, b=0.0)
    a = finalize({"faces": faces, "faces_seen": 2}, IDENTITY, LIMITS)
    b = finalize({"faces": faces, "faces_seen": 2}, steep, LIMITS)
    assert a["faces"][1]["manipulation_score"] < b["faces"][1]["manipulation_score"]
    assert b["faces"][0]["manipulation_score"] < b["faces"][1]["manipulation_score"]


def test_observations_follow_tracks_to_their_faces() -> None:
    faces_output = {
        "faces": [{"index": 0, "track_id": 5, "bbox": [1, 2, 3, 4]}, {"index": 1, "track_id": 9, "bbox": [5, 6, 7, 8]}],
        "face_tracks": [
            {"track_id": 9, "frames": [{"t": 0.0, "frame_index": 0, "bbox": [5, 6, 7, 8]}]},
            {
                "track_id": 5,
                "frames": [
                    {"t": 1.0, "frame_index": 10, "bbox": [1, 2, 3, 4]},
                    {"t": 2.0, "frame_index": 20, "bbox": [1, 2, 3, 4]},
                ],
            },
        ],
    }
    obs = observations(faces_output)
    assert [(o.face, o.frame_index) for o in obs] == [(1, 0), (0, 10), (0, 20)]
    still = observations({"faces": [{"bbox": [0, 0, 10, 10], "frame_t": None}]})
    assert len(still) == 1 and still[0].frame_index is None


def test_every_score_carries_its_false_positive_rate_on_real_idol_photos() -> None:
    from idolguard.detect.false_positives import RealReference

    # 10 reference photos at probabilities 0.05 .. 0.95 (identity calibration): 2 of 10 score >= 0.8.
    reference = RealReference(tuple(logit(p) for p in np.linspace(0.05, 0.95, 10)), "test photos")
    out = finalize({"faces": [face(0.8)], "faces_seen": 1}, IDENTITY, LIMITS, reference)
    rate = out["false_positive_rate"]
    assert rate["k"] == 2 and rate["n"] == 10 and rate["rate"] == 0.2
    assert rate["ci95"][0] < 0.2 < rate["ci95"][1]
    assert out["faces"][0]["false_positive_rate"] == rate
    higher = finalize({"faces": [face(0.99)], "faces_seen": 1}, IDENTITY, LIMITS, reference)
    assert higher["false_positive_rate"]["k"] == 0 and higher["false_positive_rate"]["ci95"][1] > 0
    assert "false_positive_rate" not in finalize({"faces": [], "faces_seen": 0}, IDENTITY, LIMITS, reference)


def test_old_verdict_name_is_read_as_not_detected_and_thresholds_come_from_the_card() -> None:
    from idolguard.detect.scoring import thresholds, verdict_name

    assert verdict_name("no_evidence") == "not_detected"
    assert verdict_name("uncertain") == "uncertain" and verdict_name(None) is None
    card = {"operating_points": {"likely": 0.97, "uncertain": 0.9}}
    assert thresholds(None, card) == {"likely": 0.97, "uncertain": 0.9}
    assert thresholds(None, None) == {"likely": 0.8, "uncertain": 0.5}
    override = {"detect": {"likely_threshold": 0.7, "uncertain_threshold": 0.6}}
    assert thresholds(override, card) == {"likely": 0.97, "uncertain": 0.9}  # the model's points by default
    assert thresholds(override, None) == {"likely": 0.7, "uncertain": 0.6}
    off = {"detect": {"likely_threshold": 0.7, "uncertain_threshold": 0.6, "model_operating_points": False}}
    assert thresholds(off, card) == {"likely": 0.7, "uncertain": 0.6}
    bad = {"operating_points": {"likely": 0.3, "uncertain": 0.9}}  # inconsistent card: generic thresholds
    assert thresholds(None, bad) == {"likely": 0.8, "uncertain": 0.5}


def test_results_stored_with_the_old_verdict_name_are_reported_under_the_new_one() -> None:
    from idolguard.detect.stage import ManipulationStage

    stored = {"manipulation_score": 0.12, "verdict": "no_evidence", "verdict_reason": "all face scores below 0.50"}
    obj: dict = {"faces": []}
    ManipulationStage().contribute(obj, stored)
    assert obj["verdict"] == "not_detected" and obj["manipulation_score"] == 0.12
    assert stored["verdict"] == "no_evidence"  # the stored result itself is never rewritten
