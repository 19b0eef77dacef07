"""Identity embeddings of aligned faces.

``FaceEmbedder`` turns aligned 112x112 RGB crops into L2-normalised vectors, so cosine similarity is a dot
product and a gallery search is one matrix product. The built-in implementation is SFace (128-d, int8) through
OpenCV's ``FaceRecognizerSF``.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

import numpy as np

from idolguard.faces.models import SFACE, model_path


@runtime_checkable
class FaceEmbedder(Protocol):
    name: str
    dim: int

    def embed(self, aligned_rgb: list[np.ndarray]) -> np.ndarray:
        """An (N, dim) float32 array of unit vectors for N aligned 112x112 RGB crops."""
        ...


class SFaceEmbedder:
    name = SFACE.name
    dim = 128

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self._path = str(model_path(SFACE))
        self._local = threading.local()

    def _net(self):  # type: ignore[no-untyped-def]
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._cv2.FaceRecognizerSF.create(self._path, "")
            self._local.net = net
        return net

    def embed(self, aligned_rgb: list[np.ndarray]) -> np.ndarray:
        net = self._net()
        out = np.zeros((len(aligned_rgb), self.dim), dtype=np.float32)
        for i, crop in enumerate(aligned_rgb):
            if crop.shape[:2] != (112, 112):
                crop = self._cv2.resize(crop, (112, 112), interpolation=self._cv2.INTER_AREA)
            feature = net.feature(np.ascontiguousarray(crop[:, :, ::-1]))
            out[i] = np.asarray(feature, dtype=np.float32).reshape(-1)
        return normalise(out)


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


_DEFAULT: SFaceEmbedder | None = None
_LOCK = threading.Lock()


def get_embedder() -> FaceEmbedder:
    """The process-wide default embedder (loaded once, model digest checked at load)."""
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            _DEFAULT = SFaceEmbedder()
        return _DEFAULT
