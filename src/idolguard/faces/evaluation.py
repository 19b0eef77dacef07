"""Shared pieces of ``eval faces`` and ``eval gallery``: embed labelled photos once, then score.

Each labelled photo contributes its primary face (see ``analysis.primary_face``); a photo where no face is
found is kept in the results as a failure (it counts against accuracy) rather than silently dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idolguard.errors import IdolGuardError, MediaError
from idolguard.faces.analysis import FaceAnalyzer, FaceRecord, complete_views, primary_face
from idolguard.gallery.matching import GalleryIndex
from idolguard.media.image import load_rgb

NO_FACE = "no face found"  # a photo read but without a face (an unreadable one says why it could not be read)


@dataclass
class PhotoEmbedding:
    path: str
    embedding: np.ndarray | None
    quality: float | None
    error: str | None = None
    face: FaceRecord | None = None  # the primary face (its crop, for a lazily added mirror view)


def read_csv(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = set(required) - set(reader.fieldnames or [])
            if missing:
                raise IdolGuardError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            return [dict(row) for row in reader]
    except OSError as exc:
        raise IdolGuardError(f"cannot read {path}: {exc}") from exc


def embed_photos(
    paths: Iterable[str],
    root: Path,
    analyzer: FaceAnalyzer | None = None,
    on_done: Callable[[int], None] | None = None,
    *,
    reference: bool = False,
    mirror: bool = False,
) -> dict[str, PhotoEmbedding]:
    """Primary-face embedding of each distinct photo (relative to ``root``); ``reference`` as at enrolment
    (multi-scale), ``mirror`` as crop + mirror (cohort faces, the pair protocol's column a)."""
    analyzer = analyzer or FaceAnalyzer()
    results: dict[str, PhotoEmbedding] = {}
    for rel in dict.fromkeys(paths):
        try:
            image = load_rgb(root / rel)
            found = analyzer.analyze(image, reference=reference, mirror=mirror)
            face = primary_face(found.faces, image.shape)
            if face is None:
                results[rel] = PhotoEmbedding(rel, None, None, NO_FACE)
            else:
                results[rel] = PhotoEmbedding(rel, face.embedding, face.quality.score, face=face)
        except (MediaError, OSError) as exc:
            results[rel] = PhotoEmbedding(rel, None, None, str(exc))
        if on_done:
            on_done(1)
    return results


def complete_photo_views(
    photos: Iterable[PhotoEmbedding], index: GalleryIndex, analyzer: FaceAnalyzer | None = None
) -> int:
    """Lazy probe mirroring for evaluated probes, exactly as a scan does (``analysis.complete_views``): the
    mirror view is added where it can change the decision against ``index``; returns how many got it."""
    found = [p for p in photos if p.face is not None and p.embedding is not None]
    embedder = (analyzer or FaceAnalyzer()).embedder
    assert embedder is not None
    count = complete_views(embedder, [p.face for p in found if p.face is not None], index)
    for photo in found:
        assert photo.face is not None
        photo.embedding = photo.face.embedding
    return count


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> tuple[float, float]:
    """(TAR, threshold) at the strictest threshold whose false-accept rate is <= ``far``.

    With fewer than 1/far impostor pairs the threshold is simply above every impostor score, so the figure is
    an upper bound on what a larger test would show; callers report the impostor count next to it.
    """
    if len(impostor) == 0 or len(genuine) == 0:
        return float("nan"), float("nan")
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(far * len(ordered)))
    threshold = float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else float(ordered[-1])
    return float((genuine >= threshold).mean()), threshold


def best_accuracy_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) maximising accuracy; used to calibrate, never to report a held-out figure."""
    order = np.argsort(scores)
    s, y = scores[order], labels[order].astype(bool)
    positives = y.sum()
    # threshold just above s[i]: predicted positive = s > s[i]
    fn = np.cumsum(y)  # positives at or below i
    tn = np.cumsum(~y)
    correct = tn + (positives - fn)
    best = int(np.argmax(correct))
    candidates = [(correct[best] / len(s), (s[best] + s[min(best + 1, len(s) - 1)]) / 2)]
    all_pos = positives / len(s)
    if all_pos > candidates[0][0]:
        candidates = [(all_pos, float(s[0]) - 1e-6)]
    return float(candidates[0][0]), float(candidates[0][1])
