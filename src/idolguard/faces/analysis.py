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
from idolguard.gallery.matching import GalleryIndex

SMALL_IMAGE_SIDE = 400  # images up to this size are retried with padding when no face is found
# Scanned (probe) faces are decided on the same vector as references: the mean of the crop's and its mirror
# image's embeddings (measured by the calibration's nested cross-validation, docs/BENCHMARKS.md, "Probe-side
# mirroring"). The mirror costs one more SFace pass per face, so it is embedded lazily: only for faces whose
# crop-only scores come within the band (``MatchParams.mirror_band``, else ``mirror_delta``) of some
# artist's ``possible`` threshold and that are not a certain ``match`` (``GalleryIndex.mirror_needed``), i.e.
# only where it can change the decision; with no gallery, never. (A video track of several frames is
# mirrored as a certain match too: faces/stage.py.)
MIRROR_PROBES = True
# What a face's vector was made from (stored per face as ``views``): the crop alone, or crop + mirror fused.
CROP = "crop"
CROP_MIRROR = "crop+mirror"
# Probe policies of ``FaceAnalyzer.probe_views``: ``lazy`` (shipped), every face mirrored, or never.
LAZY = "lazy"
PROBE_POLICIES = (LAZY, CROP_MIRROR, CROP)
# How enrolled reference vectors are made (stored per reference as ``reference_embedding``; the calibration
# record says which one its thresholds were fitted for). ``multiscale-v1``: the face aligned to the template at
# 3 scales (1.0; 0.92, more context; 1.08, less) and each crop's mirror, the 6 SFace vectors averaged
# (docs/BENCHMARKS.md, "Multi-scale references"). ``crop+mirror``: references enrolled before it (and the
# probe-side vector). Scanned faces, the cohort and pair comparison keep crop (+ mirror).
MULTISCALE_V1 = "multiscale-v1"
REFERENCE_EMBEDDING = MULTISCALE_V1
REFERENCE_SCALES = (1.0, 0.92, 1.08)


@dataclass
class FaceRecord:
    detection: DetectedFace
    aligned: np.ndarray  # 112x112 RGB
    quality: Quality
    embedding: np.ndarray | None = None  # unit vector, or None when embedding was skipped
    views: str = CROP  # what ``embedding`` was made from: ``crop`` or ``crop+mirror``
    crop_embedding: np.ndarray | None = None  # the crop's own vector (kept so the mirror can be fused later)

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
    # How scanned faces are embedded: ``lazy`` (crop now, mirror later where ``complete_views`` needs it),
    # ``crop+mirror`` (every face, the slow reference behaviour) or ``crop`` (never; benchmarks only).
    probe_views: str = LAZY

    def __post_init__(self) -> None:
        self.detector = self.detector or get_detector()
        self.embedder = self.embedder or get_embedder()
        if self.probe_views not in PROBE_POLICIES:
            raise ValueError(f"probe_views must be one of {PROBE_POLICIES}, not {self.probe_views!r}")

    def analyze(
        self, image_rgb: np.ndarray, *, embed: bool = True, reference: bool = False, mirror: bool = False
    ) -> ImageFaces:
        """All faces of one picture. ``reference=True`` embeds like an enrolment (``REFERENCE_EMBEDDING``,
        multi-scale: ``multiscale_embeddings``); ``mirror=True`` (cohort faces, pair comparison) and
        ``probe_views="crop+mirror"`` embed crop + mirror, else from the crop alone (the ``lazy`` policy adds
        the mirror afterwards where the gallery needs it: ``complete_views``). ``crop_embedding`` is always
        the crop's own vector."""
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
            if reference:
                for record in records:
                    views = multiscale_views(self.embedder, image_rgb, record.detection.landmarks, record.aligned)
                    record.crop_embedding, record.embedding = views[0], _mean(views)
                    record.views = REFERENCE_EMBEDDING
            elif mirror or self.probe_views == CROP_MIRROR:
                plain, fused = _both_views(self.embedder, crops)
                for record, crop_vector, vector in zip(records, plain, fused, strict=True):
                    record.crop_embedding, record.embedding, record.views = crop_vector, vector, CROP_MIRROR
            else:
                for record, vector in zip(records, self.embedder.embed(crops), strict=True):
                    record.crop_embedding, record.embedding, record.views = vector, vector, CROP
        return ImageFaces(records, total, capped, padded, notes)


def add_mirror(embedder: FaceEmbedder, records: list[FaceRecord]) -> None:
    """Give crop-only records their crop + mirror vector (one SFace pass each; records already mirrored are
    left alone). The fused vector is exactly the one ``reference_embeddings`` gives for the same crop."""
    todo = [r for r in records if r.views == CROP and r.crop_embedding is not None]
    if not todo:
        return
    mirrors = embedder.embed([np.ascontiguousarray(r.aligned[:, ::-1]) for r in todo])
    for record, mirror in zip(todo, mirrors, strict=True):
        assert record.crop_embedding is not None
        record.embedding = fuse_views(record.crop_embedding, mirror)
        record.views = CROP_MIRROR


def complete_views(embedder: FaceEmbedder, records: list[FaceRecord], index: GalleryIndex | None) -> int:
    """Lazy probe mirroring: add the mirror view to the crop-only records whose decision it could change
    against ``index`` (``GalleryIndex.mirror_needed``); returns how many were mirrored. No gallery: none."""
    pending = [r for r in records if r.views == CROP and r.embedding is not None]
    if index is None or index.empty or not pending:
        return 0
    # Qualities rounded as the stage stores and decides them (``stage.face_entry``).
    qualities = [round(r.quality.score, 3) for r in pending]
    needed = index.mirror_needed(np.stack([r.embedding for r in pending]), qualities)
    chosen = [r for r, flag in zip(pending, needed, strict=True) if flag]
    add_mirror(embedder, chosen)
    return len(chosen)


def fuse_views(crop: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """The crop + mirror vector from the two unit vectors (normalised sum, as ``reference_embeddings``)."""
    return normalise((np.asarray(crop, np.float32) + np.asarray(mirror, np.float32))[None, :])[0]


def _both_views(embedder: FaceEmbedder, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    both = embedder.embed(list(crops) + mirrored)
    return both[: len(crops)], normalise(both[: len(crops)] + both[len(crops) :])


def reference_embeddings(embedder: FaceEmbedder, crops: list[np.ndarray]) -> np.ndarray:
    """Crop + mirror embeddings: the mean of the crop's and its mirror image's embeddings.

    The vector of every scanned face whose decision the mirror can change (``complete_views``), of cohort faces
    and of references enrolled before multi-scale references (``crop+mirror``).
    """
    return _both_views(embedder, crops)[1]


def multiscale_views(
    embedder: FaceEmbedder, image_rgb: np.ndarray, landmarks: np.ndarray, aligned: np.ndarray | None = None
) -> np.ndarray:
    """The 6 unit vectors of a multi-scale reference, in order: crop, mirror at each of ``REFERENCE_SCALES``
    (``aligned``, the scale-1.0 crop, is reused when given so the first view is the stored crop's own)."""
    crops: list[np.ndarray] = []
    for scale in REFERENCE_SCALES:
        crop = aligned if scale == 1.0 and aligned is not None else align_face(image_rgb, landmarks, scale=scale)
        crops += [crop, np.ascontiguousarray(crop[:, ::-1])]
    return embedder.embed(crops)


def multiscale_embeddings(
    embedder: FaceEmbedder, image_rgb: np.ndarray, landmarks: list[np.ndarray]
) -> list[np.ndarray]:
    """Multi-scale reference vectors (``multiscale-v1``) of the faces at ``landmarks`` in one picture: why
    several alignments rather than one: a reference averaged over slightly different framings lies nearer
    the centre of the artist's own faces, so look-alikes cross the threshold less often (issue 17)."""
    return [_mean(multiscale_views(embedder, image_rgb, points)) for points in landmarks]


def _mean(vectors: np.ndarray) -> np.ndarray:
    return normalise(np.asarray(vectors, np.float32).sum(axis=0, keepdims=True))[0]


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
