"""Face detection with five landmarks.

``FaceDetector`` is the interface every consumer codes against (the faces stage, the manipulation detector's
face crops, face-anchored hashes). The built-in implementation is YuNet run through OpenCV's
``FaceDetectorYN``: small (int8, ~100 KB), fast on one CPU core, Apache/MIT licensed, and it gives the five
landmarks the aligner needs.

Landmark order (YuNet's): right eye, left eye, nose tip, right mouth corner, left mouth corner, where "right"
is the subject's right, i.e. the point on the left of the image for a frontal face.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from idolguard.faces.models import YUNET, model_path

MAX_FACES = 200  # a crowd photo is capped here (the stage reports that it capped)


@dataclass
class DetectedFace:
    bbox: tuple[float, float, float, float]  # x, y, w, h in pixels of the image given to ``detect``
    landmarks: np.ndarray  # 5x2 float32, YuNet order (see module docstring)
    score: float
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "bbox": [round(float(v), 1) for v in self.bbox],
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
            "det_score": round(float(self.score), 4),
        }


@runtime_checkable
class FaceDetector(Protocol):
    name: str

    def detect(self, image_rgb: np.ndarray) -> list[DetectedFace]:
        """All faces in an HxWx3 uint8 RGB image, best score first."""
        ...


MIN_INPUT_SIDE = 64


class YuNetDetector:
    """YuNet via ``cv2.FaceDetectorYN``; one OpenCV net per thread because the net keeps per-call state."""

    name = YUNET.name

    def __init__(
        self,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        max_side: int = 1280,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self._path = str(model_path(YUNET))
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.max_side = max_side  # larger images are downscaled for detection, coordinates mapped back
        self._local = threading.local()

    def _net(self, width: int, height: int):  # type: ignore[no-untyped-def]
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._cv2.FaceDetectorYN.create(
                self._path, "", (width, height), self.score_threshold, self.nms_threshold, self.top_k
            )
            self._local.net = net
        net.setInputSize((width, height))
        return net

    def detect(self, image_rgb: np.ndarray) -> list[DetectedFace]:
        image = _as_rgb(image_rgb)
        height, width = image.shape[:2]
        if width < 8 or height < 8:
            return []
        scale = 1.0
        if max(width, height) > self.max_side:
            scale = self.max_side / max(width, height)
            image = self._cv2.resize(
                image, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=self._cv2.INTER_AREA
            )
        # On inputs with a short side under ~48 px (e.g. a 3000x12 strip scaled to 1280x8), OpenCV's YuNet
        # returns garbage rows (plausible boxes, score 1.0) once the net has run on other sizes: measured 40/40
        # runs at 32 px, 0/40 at 48 px and above. Pad the short side to 64 at the bottom/right, which leaves
        # coordinates unchanged.
        pad_y, pad_x = max(0, MIN_INPUT_SIDE - image.shape[0]), max(0, MIN_INPUT_SIDE - image.shape[1])
        if pad_x or pad_y:
            image = self._cv2.copyMakeBorder(image, 0, pad_y, 0, pad_x, self._cv2.BORDER_REPLICATE)
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        net = self._net(bgr.shape[1], bgr.shape[0])
        _, rows = net.detect(bgr)
        if rows is None:
            return []
        faces: list[DetectedFace] = []
        for row in rows:
            if not np.all(np.isfinite(row[:15])) or row[2] <= 0 or row[3] <= 0:
                continue  # degenerate rows (non-finite or empty boxes) are never passed on
            x, y, w, h = (float(v) / scale for v in row[:4])
            if x >= width or y >= height or x + w <= 0 or y + h <= 0:
                continue  # a box that does not overlap the picture is not a face in it
            landmarks = (row[4:14].reshape(5, 2) / scale).astype(np.float32)
            faces.append(DetectedFace((x, y, w, h), landmarks, float(row[14])))
        faces.sort(key=lambda f: -f.score)
        return faces


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    return image[:, :, :3]


_DEFAULT: YuNetDetector | None = None
_LOCK = threading.Lock()


def get_detector() -> FaceDetector:
    """The process-wide default detector (loaded once, model digest checked at load)."""
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            _DEFAULT = YuNetDetector()
        return _DEFAULT


def detect_padded(detector: FaceDetector, image_rgb: np.ndarray, pad_ratio: float = 0.35) -> list[DetectedFace]:
    """Detect again on a bordered copy, for tightly cropped faces (profile pictures, face-only crops).

    YuNet needs some context around a face; a crop cut at the hairline and chin is often missed. Padding with
    the edge pixels restores the context; coordinates are mapped back to the original image.
    """
    import cv2

    height, width = image_rgb.shape[:2]
    pad = int(round(max(height, width) * pad_ratio))
    padded = cv2.copyMakeBorder(np.ascontiguousarray(image_rgb), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    faces = detector.detect(padded)
    for face in faces:
        x, y, w, h = face.bbox
        face.bbox = (x - pad, y - pad, w, h)
        face.landmarks = face.landmarks - np.float32(pad)
        face.extra["padded"] = True
    return faces
