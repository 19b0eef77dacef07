"""Detect, align, assess and embed every face of one picture: the unit of work shared by the stage, enrolment,
``identify`` and the evaluation commands, so all of them see faces exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from idolguard.faces.align import align_face
from idolguard.faces.detector import MAX_FACES, DetectedFace, FaceDetector, detect_padded, get_detector
from idolguard.faces.embedder import FaceEmbedder, get_embedder, normalise
from idolguard.faces.quality import Quality, estimate_quality

SMALL_IMAGE_SIDE = 400  # images up to this size are retried with padding when no face is found
# Scanned (probe) faces are embedded like references: the mean of the crop's and its mirror image's
# embeddings. Measured by the calibration's nested cross-validation (docs/BENCHMARKS.md, "Probe-side
# mirroring"); costs one more SFace pass per face. ``calibration.json`` records the choice (``probe_views``).
MIRROR_PROBES = True


@dataclass
class FaceRecord:
    detection: DetectedFace
    aligned: np.ndarray  # 112x112 RGB
    quality: Quality
    embedding: np.ndarray | None = None  # unit vector, or None when embedding was skipped

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return self.detection.bbox


@dataclass
class ImageFaces:
    faces: list[FaceRecord]
    total_detected: int
    capped: bool = False
    padded_retry: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class FaceAnalyzer:
    detector: FaceDetector | None = None
    embedder: FaceEmbedder | None = None
    max_faces: int = MAX_FACES
    pad_retry: bool = True
    mirror_probes: bool = MIRROR_PROBES  # embed scanned faces as crop + mirror (see ``MIRROR_PROBES``)

    def __post_init__(self) -> None:
        self.detector = self.detector or get_detector()
        self.embedder = self.embedder or get_embedder()

    def analyze(self, image_rgb: np.ndarray, *, embed: bool = True, reference: bool = False) -> ImageFaces:
        """All faces of one picture. ``reference=True`` embeds like an enrolment (see ``reference_embeddings``);
        probes are embedded the same way when ``mirror_probes`` is on, else from the crop alone."""
        assert self.detector is not None and self.embedder is not None
        detections = self.detector.detect(image_rgb)
        padded = False
        if not detections and self.pad_retry and max(image_rgb.shape[:2]) <= SMALL_IMAGE_SIDE:
            detections = detect_padded(self.detector, image_rgb)
            padded = bool(detections)
        total = len(detections)
        notes: list[str] = []
        capped = total > self.max_faces
        if capped:
            notes.append(f"{total} faces detected; only the {self.max_faces} most confident were analysed")
            detections = detections[: self.max_faces]
        records = []
        for det in detections:
            aligned = align_face(image_rgb, det.landmarks)
            records.append(FaceRecord(det, aligned, estimate_quality(det.bbox, det.landmarks, aligned)))
        if embed and records:
            crops = [r.aligned for r in records]
            mirrored = reference or self.mirror_probes
            vectors = reference_embeddings(self.embedder, crops) if mirrored else self.embedder.embed(crops)
            for record, vector in zip(records, vectors, strict=True):
                record.embedding = vector
        return ImageFaces(records, total, capped, padded, notes)


def reference_embeddings(embedder: FaceEmbedder, crops: list[np.ndarray]) -> np.ndarray:
    """Embeddings of reference faces: the mean of the crop's and its mirror image's embeddings.

    Used for every reference and, with ``MIRROR_PROBES``, for every scanned face too (docs/BENCHMARKS.md).
    """
    mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    both = embedder.embed(list(crops) + mirrored)
    summed = both[: len(crops)] + both[len(crops) :]
    return normalise(summed)


def primary_face(faces: list[FaceRecord], shape: tuple[int, ...]) -> FaceRecord | None:
    """The subject of a portrait: the largest face, discounted by its distance from the image centre.

    Used where one face per photo is expected (gallery references, labelled evaluation photos): a bystander
    in the background must not become the reference.
    """
    if not faces:
        return None
    height, width = shape[:2]
    centre = np.array([width / 2, height / 2])
    diag = float(np.hypot(width, height)) or 1.0

    def weight(face: FaceRecord) -> float:
        x, y, w, h = face.bbox
        offset = float(np.linalg.norm(np.array([x + w / 2, y + h / 2]) - centre)) / diag
        return (w * h) * (1.0 - offset) * face.detection.score

    return max(faces, key=weight)


def crop_png(aligned_rgb: np.ndarray) -> bytes:
    """PNG bytes of an aligned crop: lossless and deterministic, so its hash identifies the crop."""
    from idolguard.media.image import png_bytes

    return png_bytes(aligned_rgb)
