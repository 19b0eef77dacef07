"""The shipped ONNX detector through ONNX Runtime (no torch): scores, heat maps, batching, card."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.detect.crops import crop_face
from idolguard.detect.detector import default_detector

from .media import ASTRONAUT_BBOX, astronaut_array


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    detector = default_detector()
    return crop_face(astronaut_array(), ASTRONAUT_BBOX, detector.input_size, detector.crop_scale)


def test_card_names_model_training_and_calibration() -> None:
    detector = default_detector()
    card = detector.card
    assert detector.name and detector.version
    assert card["input"]["size"] == detector.input_size
    assert card["calibration"]["method"] in ("platt", "isotonic")
    assert card["training"]["hardware"]["cpu_count"] >= 1
    assert card["training"]["holdout_faces"] > 0


def test_prediction_is_a_probability_with_a_heat_map(crop: np.ndarray) -> None:
    detector = default_detector()
    (pred,) = detector.predict([crop])
    assert 0.0 <= pred.probability <= 1.0
    assert pred.heatmap is not None and pred.heatmap.ndim == 2
    # The CAM is exact for a global-average-pooled linear head: its mean is the logit.
    assert abs(float(pred.heatmap.mean()) - pred.logit) < 1e-3
    assert abs(detector.calibration.apply(pred.logit) - pred.probability) < 1e-9


def test_batching_does_not_change_scores(crop: np.ndarray) -> None:
    detector = default_detector()
    flipped = np.ascontiguousarray(crop[:, ::-1])
    single = [detector.predict([c])[0].logit for c in (crop, flipped)]
    batch = [p.logit for p in detector.predict([crop, flipped])]
    assert np.allclose(single, batch, atol=1e-4)


def test_wrong_crop_size_is_refused() -> None:
    detector = default_detector()
    with pytest.raises(ValueError, match="crop must be"):
        detector.predict([np.zeros((10, 10, 3), np.uint8)])
    assert detector.predict([]) == []
