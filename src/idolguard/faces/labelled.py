"""Labelled face sets for calibration: one CSV (``path,identity,source``) embedded once and cached.

A row with an empty ``identity`` is a face of someone who is never enrolled (an impostor: a stranger, an
actor, a face from a crawl). ``source`` names the collection the photo came from; cross-validation keeps
sources apart so a threshold is never checked on the collection it was fitted on.

Each photo is embedded as a reference (``REFERENCE_EMBEDDING``, multi-scale, as at enrolment), as crop + mirror
and from the plain crop, with its face quality; a probe is the crop + mirror vector (the one scanned faces are
decided on wherever the mirror can change the decision: lazy mirroring, ``GalleryIndex.mirror_needed``), or the
plain crop when asked for, and the crop alone is kept too (``LabelledFaces.crop``) so lazy decisions can be
replayed exactly. The embeddings are cached in an ``.npz`` keyed by the photo's SHA-256 and tagged with the
reference embedding (a cache of another one is not reused), so re-running a calibration with other parameters
costs nothing and a changed photo is re-embedded.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from idolguard.errors import IdolGuardError, MediaError
from idolguard.gallery.calibration import LabelledFaces


def read_labelled_csv(path: Path) -> list[tuple[Path, str, str]]:
    """Rows of (absolute photo path, identity or "", source); relative paths are relative to the CSV."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"path", "source"} - set(reader.fieldnames or [])
            if missing:
                raise IdolGuardError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rows = []
            for line, row in enumerate(reader, start=2):
                rel = (row.get("path") or "").strip()
                source = (row.get("source") or "").strip()
                if not rel or not source:
                    raise IdolGuardError(f"{path}:{line}: path and source must not be empty")
                photo = Path(rel) if Path(rel).is_absolute() else path.parent / rel
                rows.append((photo, (row.get("identity") or "").strip(), source))
    except OSError as exc:
        raise IdolGuardError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise IdolGuardError(f"{path} lists no photos")
    return rows


Entry = tuple[np.ndarray, np.ndarray, np.ndarray, float]  # crop, crop + mirror, reference, quality (-1: no face)


def _load_cache(cache: Path | None, kind: str) -> dict[str, Entry]:
    if cache is None or not cache.exists():
        return {}
    data = np.load(cache, allow_pickle=False)
    if "reference_embedding" not in data or str(data["reference_embedding"]) != kind or "mirror" not in data:
        return {}  # made for other reference vectors: embed again
    return {
        str(key): (probe, mirror, ref, float(q))
        for key, probe, mirror, ref, q in zip(
            data["keys"], data["probe"], data["mirror"], data["reference"], data["quality"], strict=True
        )
    }


def _save_cache(cache: Path, entries: dict[str, Entry], kind: str) -> None:
    keys = sorted(entries)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(
        tmp,
        keys=np.array(keys),
        probe=np.array([entries[k][0] for k in keys], np.float32).reshape(-1, 128),
        mirror=np.array([entries[k][1] for k in keys], np.float32).reshape(-1, 128),
        reference=np.array([entries[k][2] for k in keys], np.float32).reshape(-1, 128),
        quality=np.array([entries[k][3] for k in keys], np.float64),
        reference_embedding=np.array(kind),
    )
    tmp.replace(cache)


NO_FACE = np.zeros(128, np.float32)


def embed_labelled(
    rows: list[tuple[Path, str, str]],
    cache: Path | None = None,
    on_done: Callable[[int], None] | None = None,
    mirror_probes: bool | None = None,
) -> LabelledFaces:
    """Embed every photo (primary face) as probe and as reference; photos without a face are listed apart.
    ``mirror_probes``: probes embedded as crop + mirror (default: as the product does, ``MIRROR_PROBES``)."""
    from idolguard.faces.analysis import (
        MIRROR_PROBES,
        REFERENCE_EMBEDDING,
        FaceAnalyzer,
        fuse_views,
        multiscale_views,
        primary_face,
    )

    mirror = MIRROR_PROBES if mirror_probes is None else mirror_probes
    from idolguard.media.image import load_rgb

    entries = _load_cache(cache, REFERENCE_EMBEDDING)
    analyzer: FaceAnalyzer | None = None
    paths, identities, sources, probes, refs, qualities, crops = [], [], [], [], [], [], []
    missing: list[tuple[str, str, str]] = []
    fresh = 0
    for photo, identity, source in rows:
        try:
            data = photo.read_bytes()
        except OSError as exc:
            missing.append((str(photo), source, f"cannot read: {exc}"))
            if on_done:
                on_done(1)
            continue
        key = hashlib.sha256(data).hexdigest()
        if key not in entries:
            analyzer = analyzer or FaceAnalyzer()
            try:
                image = load_rgb(photo)
                found = analyzer.analyze(image, embed=False)
                face = primary_face(found.faces, image.shape)
            except (MediaError, OSError):
                face = None
            if face is None:
                entries[key] = (NO_FACE, NO_FACE, NO_FACE, -1.0)
            else:
                assert analyzer.embedder is not None
                views = multiscale_views(analyzer.embedder, image, face.detection.landmarks, face.aligned)
                ref = views.sum(axis=0)
                ref = (ref / max(float(np.linalg.norm(ref)), 1e-12)).astype(np.float32)
                entries[key] = (views[0], fuse_views(views[0], views[1]), ref, face.quality.score)
            fresh += 1
            if cache is not None and fresh % 200 == 0:
                _save_cache(cache, entries, REFERENCE_EMBEDDING)
        probe, fused, ref, quality = entries[key]
        if quality < 0:
            missing.append((str(photo), source, "no face found"))
        else:
            paths.append(str(photo))
            identities.append(identity)
            sources.append(source)
            probes.append(fused if mirror else probe)
            refs.append(ref)
            crops.append(probe)
            qualities.append(quality)
        if on_done:
            on_done(1)
    if cache is not None and fresh:
        _save_cache(cache, entries, REFERENCE_EMBEDDING)
    return LabelledFaces(
        paths,
        np.array(identities, dtype=object),
        np.array(sources, dtype=object),
        np.array(probes, np.float32).reshape(-1, 128),
        np.array(refs, np.float32).reshape(-1, 128),
        np.array(qualities, np.float64),
        missing,
        np.array(crops, np.float32).reshape(-1, 128),
    )
