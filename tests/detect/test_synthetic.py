"""The synthetic-image family: features, the stored model, and how it joins the verdict."""

from __future__ import annotations

import numpy as np

from idolguard.detect.calibration import Calibration
from idolguard.detect.scoring import finalize
from idolguard.detect.synthetic import SyntheticModel, features
from tests.conftest import astronaut

IDENTITY = Calibration("identity")
LIMITS = {"likely": 0.8, "uncertain": 0.5}


def _crop() -> np.ndarray:
    return np.asarray(astronaut().crop((150, 30, 300, 180)).resize((128, 128)))


def test_features_are_finite_and_see_smoothing() -> None:
    import cv2

    crop = _crop()
    f = features(crop)
    assert f.ndim == 1 and np.isfinite(f).all() and len(f) > 40
    assert np.array_equal(f, features(crop))
    smooth = features(cv2.GaussianBlur(crop, (5, 5), 1.5))
    assert np.abs(smooth - f).max() > 0.5  # high-frequency statistics move when detail is removed
    assert features(np.asarray(astronaut().resize((300, 300)))).shape == f.shape  # any size is resized


def _model(sign: float) -> SyntheticModel:
    n = len(features(_crop()))
    coef = np.zeros(n)
    coef[0] = sign
    card = {"version": "t", "operating_points": {"likely": 0.9, "uncertain": 0.6}}
    return SyntheticModel(np.zeros(n), np.ones(n), coef, 0.0, IDENTITY, card)


def test_model_round_trips_through_its_json_form() -> None:
    model = _model(1.0)
    again = SyntheticModel.from_dict(model.as_dict())
    crops = [_crop()]
    assert np.allclose(again.logits(crops), model.logits(crops))
    assert again.model_id == {"name": "synthetic-spectral", "version": "t"}
    assert model.logits([]).shape == (0,)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_the_more_severe_family_decides_and_both_are_explained() -> None:
    synthetic = _model(1.0)
    face = {
        "status": "scored",
        "frame_logits": [[None, _logit(0.2)]],
        "frame_synthetic_logits": [[None, _logit(0.95)]],
    }
    out = finalize({"faces": [face], "faces_seen": 1}, IDENTITY, LIMITS, None, synthetic)
    assert out["verdict"] == "likely_manipulated" and out["deciding_family"] == "synthetic_image"
    assert abs(out["manipulation_score"] - 0.95) < 1e-3
    fams = out["families"]
    assert fams["face_swap"]["verdict"] == "not_detected" and fams["synthetic_image"]["verdict"] == "likely_manipulated"
    assert "synthetic-image score 0.95 >= 0.90" in out["verdict_reason"]
    assert abs(out["faces"][0]["synthetic_score"] - 0.95) < 1e-3
    # The synthetic family uses its own operating points: 0.85 is only "uncertain" there (likely at 0.9).
    face["frame_synthetic_logits"] = [[None, _logit(0.85)]]
    face["frame_logits"] = [[None, _logit(0.82)]]
    out = finalize({"faces": [face], "faces_seen": 1}, IDENTITY, LIMITS, None, synthetic)
    assert out["verdict"] == "likely_manipulated" and out["deciding_family"] == "face_swap"
    assert out["families"]["synthetic_image"]["verdict"] == "uncertain"
    # Without the synthetic model (or its logits) the face-swap family alone decides, as before.
    alone = finalize({"faces": [face], "faces_seen": 1}, IDENTITY, LIMITS)
    assert set(alone["families"]) == {"face_swap"}


def test_tiny_synthetic_training_run_writes_a_usable_card(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Benign stand-ins (astronaut variants; 'generated' = smoothed copies): exercises every step only."""
    from PIL import ImageFilter, ImageOps

    from idolguard.detect.domain import split_of
    from idolguard.detect.synthetic import SyntheticModel
    from idolguard.detect.training.synthetic_train import train_synthetic

    data = tmp_path / "data"
    idol, synth = data / "idol-style-real" / "images", data / "synthetic-dev" / "gen"
    idol.mkdir(parents=True)
    synth.mkdir(parents=True)
    base = astronaut().crop((100, 0, 400, 300))
    names, seen = [], {"train": 0, "calibration": 0, "test": 0}
    i = 0
    while min(seen.values()) < 2:  # enough photos in every split of the real idol-style set
        name = f"images/r{i}.jpg"
        split = split_of("idol-style-real:" + name)
        if seen[split] < 3:
            seen[split] += 1
            names.append(name)
            img = base.rotate((i % 5) - 2).resize((256, 256))
            (ImageOps.mirror(img) if i % 2 else img).save(data / "idol-style-real" / name, quality=70 + i % 20)
        i += 1
    (data / "idol-style-real" / "manifest.csv").write_text(
        "path,label,kind\n" + "".join(f"{n},real,x\n" for n in names)
    )
    rows = []
    for g in range(2):
        for k in range(3):
            path = f"gen/g{g}_{k}.png"
            base.rotate(k - 1).resize((256, 256)).filter(ImageFilter.GaussianBlur(1.5 + g)).save(
                data / "synthetic-dev" / path
            )
            rows.append(f"{path},fake,stylegan2:g{g}\n")
    (data / "synthetic-dev" / "manifest.csv").write_text("path,label,generator\n" + "".join(rows))
    out = tmp_path / "synthetic.json"
    card = train_synthetic(data, out, tmp_path / "work", pool_faces=0, log=lambda _m: None)
    assert set(card["metrics"]["leave_one_generator_out_auc_vs_real_training_photos"]) == {
        "stylegan2:g0",
        "stylegan2:g1",
    }
    assert card["real_idol_reference"]["n"] >= 2 and card["operating_points"]["likely"] >= 0.8
    model = SyntheticModel.from_dict(__import__("json").loads(out.read_text()))
    assert model.logits([_crop()]).shape == (1,)
