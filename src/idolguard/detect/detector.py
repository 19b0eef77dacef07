"""The manipulation ``Detector`` interface and the shipped ONNX Runtime implementation.

A detector takes square face crops cut by ``idolguard.detect.crops.crop_face`` and returns, per crop, a
calibrated probability that the face was manipulated (swapped or blended in), plus an optional heat map of
where the evidence is. Every detector has a name, a version and a model card (training data, date, metrics),
because a score that ends up in an evidence report must say which model produced it.

Inference uses ONNX Runtime only (no torch), one intra-op thread by default so that several workers can
share a machine predictably.
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.detect.calibration import Calibration
from idolguard.detect.false_positives import RealReference
from idolguard.errors import IdolGuardError

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS_DIR / "sbi-effnetlite0-128.onnx"
MODEL_ENV = "IDOLGUARD_DETECTOR_MODEL"


class DetectorUnavailable(IdolGuardError):
    """The detector model is missing or unreadable."""


@dataclass
class Prediction:
    probability: float  # calibrated, 0..1, higher = more likely manipulated
    logit: float  # raw model output, kept so scores can be recalibrated later without re-running the model
    heatmap: np.ndarray | None = None  # float32 (h, w), larger = pushed the score up


class Detector(ABC):
    name: str
    version: str
    input_size: int
    crop_scale: float

    @property
    @abstractmethod
    def card(self) -> dict[str, Any]:
        """The model card: what it was trained on, when, how, and what it measured."""

    @abstractmethod
    def predict(self, crops: list[np.ndarray]) -> list[Prediction]:
        """Score face crops (``input_size`` square, uint8 RGB)."""

    @property
    def model_id(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load_card(model_path: Path) -> dict[str, Any]:
    path = card_path(model_path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DetectorUnavailable(f"model card {path} is missing") from exc
    except (OSError, ValueError) as exc:
        raise DetectorUnavailable(f"model card {path} is unreadable: {exc}") from exc


class OnnxDetector(Detector):
    """An exported self-blended-image detector: ONNX graph (NHWC RGB 0..255 -> logit, CAM) + JSON card."""

    def __init__(self, model_path: Path = DEFAULT_MODEL, calibration: Calibration | None = None, threads: int = 1):
        if not model_path.is_file():
            raise DetectorUnavailable(f"detector model {model_path} is missing")
        self.model_path = model_path
        self._card = load_card(model_path)
        self.name = str(self._card.get("name", model_path.stem))
        self.input_size = int(self._card["input"]["size"])
        self.crop_scale = float(self._card["input"]["crop_scale"])
        self.version = str(self._card.get("version", "0"))
        self.calibration = calibration or Calibration.from_dict(self._card.get("calibration") or {})
        self.reference = RealReference.from_card(self._card)  # held-out real idol photos (None: not measured)
        self.threads = threads
        self._session = None
        self._lock = threading.Lock()

    @property
    def card(self) -> dict[str, Any]:
        return self._card

    def _get_session(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                try:
                    self._session = ort.InferenceSession(
                        str(self.model_path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
                    raise DetectorUnavailable(f"cannot load {self.model_path}: {exc}") from exc
            return self._session

    def raw(self, crops: list[np.ndarray], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Logits (N,) and CAMs (N, h, w) for crops of the model's input size."""
        session = self._get_session()
        logits, cams = [], []
        for start in range(0, len(crops), batch):
            chunk = crops[start : start + batch]
            for crop in chunk:
                if crop.shape != (self.input_size, self.input_size, 3) or crop.dtype != np.uint8:
                    raise ValueError(f"crop must be {self.input_size}x{self.input_size}x3 uint8, got {crop.shape}")
            x = np.stack(chunk).astype(np.float32)
            logit, cam = session.run(["logit", "cam"], {"image": x})
            logits.append(logit.reshape(-1))
            cams.append(cam)
        if not logits:
            return np.zeros(0, np.float32), np.zeros((0, 1, 1), np.float32)
        return np.concatenate(logits), np.concatenate(cams)

    def predict(self, crops: list[np.ndarray]) -> list[Prediction]:
        logits, cams = self.raw(crops)
        probs = self.calibration.apply(logits)
        return [
            Prediction(float(p), float(lg), cam.astype(np.float32))
            for p, lg, cam in zip(probs, logits, cams, strict=True)
        ]


def default_model_path() -> Path:
    """The shipped model, or the one named by ``IDOLGUARD_DETECTOR_MODEL`` (e.g. an agency-trained model)."""
    override = os.environ.get(MODEL_ENV)
    return Path(override).expanduser() if override else DEFAULT_MODEL


def default_detector() -> OnnxDetector:
    """The configured detector, loaded once per process per model path."""
    return _detector_at(str(default_model_path()))


@cache
def _detector_at(path: str) -> OnnxDetector:
    return OnnxDetector(Path(path))
