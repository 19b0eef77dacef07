"""``artists reembed``: give stored reference vectors the embedding the calibration was fitted for.

Why: the face thresholds are fitted for one way of embedding references (``faces/analysis.py``
``REFERENCE_EMBEDDING``, recorded as ``reference_embedding`` in ``gallery/calibration.json``). References
enrolled before it keep their old vectors, and their artists are never decided ``match`` (at most ``possible``,
``gallery/matching.py`` ``REFERENCE_MISMATCH``) until they are re-embedded. The photos are in the vault, so
nothing has to be enrolled again: each reference is re-embedded from its vault object (read through the vault,
which decrypts when encryption at rest is on), from the same face the enrolment chose.

Guarantees:

- **One transaction and one signed ``gallery.reembed`` event per artist**: an artist's references change
  together with their custody record, or not at all.
- **Resumable and idempotent**: only references of another kind are touched; a run killed midway loses at most
  the artist in progress (rolled back), and the next run continues. A reference is replaced (old row deleted,
  new row inserted, in one transaction; the table allows one vector per photo, artist and embedder), so there
  are never two vectors for one reference, and the gallery revision changes (stored face results are re-matched
  on the next read, as after any gallery change: ``faces/stage.py`` ``contribute_faces``).
- **A reference whose photo is missing from the vault (erased, lost) or unreadable is reported and kept as it
  is** (still flagged as mismatched: its artist stays at most ``possible``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from idolguard.errors import ErrorCode, IdolGuardError, MediaError
from idolguard.evidence.actions import Action
from idolguard.faces.analysis import REFERENCE_EMBEDDING, FaceAnalyzer, FaceRecord, multiscale_views, normalise
from idolguard.gallery.matching import reference_kind
from idolguard.gallery.models import Artist, ArtistReference
from idolguard.gallery.store import require_artist
from idolguard.media.image import load_rgb, png_bytes
from idolguard.workspace import Workspace


@dataclass
class Kept:
    """A reference left as it was, with the coded reason (``ErrorCode``) and its values."""

    photo_sha256: str
    source_name: str | None
    code: str
    params: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"photo": self.photo_sha256, "name": self.source_name, "code": self.code, "params": self.params}


@dataclass
class ArtistReembed:
    artist: str
    pending: int = 0  # references of another kind before the run
    converted: list[dict[str, Any]] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    already: int = 0  # references already of the target kind

    def as_dict(self) -> dict[str, Any]:
        return {
            "artist": self.artist,
            "pending": self.pending,
            "converted": len(self.converted),
            "references": self.converted,
            "kept": [k.as_dict() for k in self.kept],
            "already": self.already,
        }


def _iou(a: tuple[float, ...] | list[float], b: tuple[float, ...] | list[float]) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _enrolled_face(image: np.ndarray, stored: dict[str, Any], analyzer: FaceAnalyzer) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks, aligned crop) of the face the enrolment chose: detected again (the same detector gives the
    same landmarks, so the same crop as the stored one), the detection overlapping the stored box most; when
    none overlaps (a detector changed), the stored landmarks (rounded to 0.1 px) are used."""
    found = analyzer.analyze(image, embed=False)
    box = stored.get("bbox") or [0, 0, 0, 0]
    best: FaceRecord | None = max(found.faces, key=lambda f: _iou(f.bbox, box), default=None)
    if best is not None and _iou(best.bbox, box) >= 0.5:
        return np.asarray(best.detection.landmarks, np.float64), best.aligned
    from idolguard.faces.align import align_face

    landmarks = np.asarray(stored.get("landmarks") or [], np.float64).reshape(5, 2)
    return landmarks, align_face(image, landmarks)


@dataclass(frozen=True)
class _Ref:
    """What the run needs of a stored reference (read in one session, used after it closed)."""

    id: int
    photo_sha256: str
    crop_sha256: str
    source_name: str | None
    face: dict[str, Any]


def _embed_from_vault(
    ws: Workspace, ref: _Ref, analyzer: FaceAnalyzer
) -> tuple[np.ndarray | None, dict[str, Any] | Kept]:
    """The new vector of one reference and what to record about it, or the reason it is kept."""
    sha = ref.photo_sha256
    if not ws.vault.has(sha):
        return None, Kept(sha, ref.source_name, str(ErrorCode.REEMBED_VAULT_MISSING), {"photo": sha[:12]})
    problem = ws.vault.check(sha)  # re-hash (and decrypt) before trusting the bytes
    if problem is not None:
        params = {"photo": sha[:12], "reason": problem}
        return None, Kept(sha, ref.source_name, str(ErrorCode.REEMBED_UNREADABLE), params)
    try:
        with ws.vault.materialize(sha) as path:
            image = load_rgb(path, ws.config.limits)
    except (MediaError, IdolGuardError, OSError) as exc:
        params = {"photo": sha[:12], "reason": str(exc)}
        return None, Kept(sha, ref.source_name, str(ErrorCode.REEMBED_UNREADABLE), params)
    landmarks, aligned = _enrolled_face(image, ref.face, analyzer)
    assert analyzer.embedder is not None
    views = multiscale_views(analyzer.embedder, image, landmarks, aligned)
    vector = normalise(views.sum(axis=0, keepdims=True))[0]
    crop_sha = hashlib.sha256(png_bytes(aligned)).hexdigest()
    return vector, {
        "photo": sha,
        "crop": ref.crop_sha256,
        "name": ref.source_name,
        "from": reference_kind(ref.face),
        "same_crop": crop_sha == ref.crop_sha256,
    }


def reembed_references(
    ws: Workspace,
    analyzer: FaceAnalyzer,
    artists: list[str] | None = None,
    *,
    dry_run: bool = False,
    on_reference: Callable[[int], None] | None = None,
) -> list[ArtistReembed]:
    """Re-embed every reference (of ``artists``, default all) whose vector is not ``REFERENCE_EMBEDDING``.

    ``dry_run``: report what would be converted or kept; nothing is written (no vault read either)."""
    assert analyzer.embedder is not None
    embedder = analyzer.embedder.name
    target = REFERENCE_EMBEDDING
    with ws.sessions() as session:
        if artists:
            chosen = [require_artist(session, name) for name in artists]
        else:
            chosen = list(session.execute(select(Artist).order_by(Artist.name)).scalars())
        plan = []
        for artist in dict((a.id, a) for a in chosen).values():
            refs = (
                session.execute(
                    select(ArtistReference)
                    .where(ArtistReference.artist_id == artist.id, ArtistReference.embedder == embedder)
                    .order_by(ArtistReference.id)
                )
                .scalars()
                .all()
            )
            pending = [
                _Ref(r.id, r.photo_sha256, r.crop_sha256, r.source_name, dict(r.face or {}))
                for r in refs
                if reference_kind(r.face) != target
            ]
            plan.append((artist.id, artist.name, pending, len(refs) - len(pending)))
    reports = []
    for artist_id, name, pending, already in plan:
        report = ArtistReembed(name, pending=len(pending), already=already)
        reports.append(report)
        if dry_run:
            report.converted = [{"photo": r.photo_sha256, "name": r.source_name} for r in pending]
            continue
        new: dict[int, tuple[np.ndarray, dict[str, Any]]] = {}
        for ref in pending:
            vector, info = _embed_from_vault(ws, ref, analyzer)
            if vector is None:
                assert isinstance(info, Kept)
                report.kept.append(info)
            else:
                assert isinstance(info, dict)
                new[ref.id] = (vector, info)
            if on_reference:
                on_reference(1)
        if not new:
            continue
        with ws.write() as (session, ledger):
            for ref_id, (vector, info) in new.items():
                row = session.get(ArtistReference, ref_id)
                if row is None or reference_kind(row.face) == target:
                    continue  # removed, or converted by another run meanwhile
                replacement = ArtistReference(
                    artist_id=row.artist_id,
                    photo_sha256=row.photo_sha256,
                    crop_sha256=row.crop_sha256,
                    source_name=row.source_name,
                    embedder=row.embedder,
                    embedding=np.asarray(vector, "<f4").tobytes(),
                    quality=row.quality,
                    det_score=row.det_score,
                    face={**dict(row.face or {}), "reference_embedding": target},
                    created_at=row.created_at,
                )
                session.delete(row)
                session.flush()  # the old row goes first: one vector per photo, artist and embedder
                session.add(replacement)
                session.flush()
                report.converted.append(info)
            if report.converted:
                ledger.append(
                    Action.GALLERY_REEMBED,
                    item=None,
                    details={
                        "artist": name,
                        "artist_id": artist_id,
                        "embedder": embedder,
                        "reference_embedding": target,
                        "references": report.converted,
                        "kept": [k.as_dict() for k in report.kept],
                    },
                )
    return reports
