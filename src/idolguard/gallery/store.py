"""Gallery persistence: enrol artists and cohort faces with custody records, and load a ``GalleryIndex``.

Enrolment keeps what a court or a consent audit may later ask for: the reference photo and the aligned crop go
into the vault, and one signed ledger event per artist records who enrolled which photos under which consent
reference, including the photos that were rejected and why.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, select

from idolguard.errors import IdolGuardError, MediaError
from idolguard.gallery.matching import GalleryIndex, MatchParams
from idolguard.gallery.models import Artist, ArtistReference, CohortFace
from idolguard.media.image import load_rgb, png_bytes
from idolguard.workspace import Workspace

if TYPE_CHECKING:  # the gallery never imports the faces area: callers hand it their analyzer
    from idolguard.faces.analysis import FaceAnalyzer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}
MIN_REFERENCE_QUALITY = 0.25  # a reference this poor would make every later match on this artist unreliable
MIN_REFERENCE_FACE_PX = 48.0


class GalleryError(IdolGuardError):
    """A gallery operation was refused (unknown artist, no usable photos...)."""


@dataclass
class ReferenceOutcome:
    path: str
    accepted: bool
    reason: str | None = None
    photo_sha256: str | None = None
    crop_sha256: str | None = None
    quality: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class EnrolResult:
    artist: str
    created: bool
    references: list[ReferenceOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.references if r.accepted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "artist": self.artist,
            "created": self.created,
            "accepted": self.accepted,
            "rejected": len(self.references) - self.accepted,
            "references": [r.as_dict() for r in self.references],
        }


def photo_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise GalleryError(f"{folder} is not a folder or file")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _reference_from_photo(path: Path, analyzer: FaceAnalyzer, ws: Workspace) -> tuple[ReferenceOutcome, Any]:
    """Check one photo; the second value is the face record when it is usable as a reference."""
    outcome = ReferenceOutcome(str(path), accepted=False)
    try:
        data = path.read_bytes()
    except OSError as exc:
        outcome.reason = f"cannot read: {exc}"
        return outcome, None
    outcome.photo_sha256 = hashlib.sha256(data).hexdigest()
    try:
        image = load_rgb(path, ws.config.limits)
    except MediaError as exc:
        outcome.reason = str(exc)
        return outcome, None
    found = analyzer.analyze(image, reference=True)
    if not found.faces:
        outcome.reason = "no face found"
        return outcome, None
    confident = [f for f in found.faces if f.detection.score >= 0.8]
    if len(confident) > 1:
        outcome.reason = f"{len(confident)} faces found; a reference photo must show only the artist"
        return outcome, None
    face = max(found.faces, key=lambda f: f.detection.score)
    outcome.quality = round(face.quality.score, 3)
    if face.quality.face_px < MIN_REFERENCE_FACE_PX:
        outcome.reason = f"face too small ({face.quality.face_px:.0f} px; need {MIN_REFERENCE_FACE_PX:.0f})"
        return outcome, None
    if face.quality.score < MIN_REFERENCE_QUALITY:
        q = face.quality
        outcome.reason = (
            f"poor quality {q.score:.2f} < {MIN_REFERENCE_QUALITY} (size {q.size:.2f}, sharpness {q.sharpness:.2f}, "
            f"frontal {q.frontal:.2f})"
        )
        return outcome, None
    return outcome, (data, face)


def enrol_artist(
    ws: Workspace,
    name: str,
    photos: list[Path],
    consent_ref: str | None = None,
    analyzer: FaceAnalyzer | None = None,
) -> EnrolResult:
    """Add an artist (or more references to an existing one). Nothing is written if no photo is usable."""
    name = name.strip()
    if not name:
        raise GalleryError("artist name is empty")
    if not photos:
        raise GalleryError("no photos given (supported: " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")
    if analyzer is None:
        raise TypeError("pass the faces area's FaceAnalyzer (the gallery does not import the faces area)")
    outcomes: list[ReferenceOutcome] = []
    usable: list[tuple[ReferenceOutcome, bytes, Any]] = []
    for path in photos:
        outcome, found = _reference_from_photo(path, analyzer, ws)
        outcomes.append(outcome)
        if found is not None:
            usable.append((outcome, *found))
    if not usable:
        reasons = "; ".join(f"{Path(o.path).name}: {o.reason}" for o in outcomes)
        raise GalleryError(f"no usable reference photo for {name!r} ({reasons})")
    crops: list[tuple[ReferenceOutcome, bytes, Any, bytes]] = []
    for outcome, data, face in usable:
        png = png_bytes(face.aligned)
        outcome.crop_sha256 = hashlib.sha256(png).hexdigest()
        crops.append((outcome, data, face, png))
        ws.vault.put_bytes(data)
        ws.vault.put_bytes(png)
    embedder = analyzer.embedder.name if analyzer.embedder else "unknown"
    with ws.write() as (session, ledger):
        artist = session.execute(select(Artist).where(Artist.name == name)).scalar_one_or_none()
        created = artist is None
        if artist is None:
            artist = Artist(name=name, consent_ref=consent_ref, enrolled_by=ws.actor)
            session.add(artist)
            session.flush()
        elif consent_ref:
            artist.consent_ref = consent_ref
        existing = set(
            session.execute(
                select(ArtistReference.photo_sha256).where(
                    ArtistReference.artist_id == artist.id, ArtistReference.embedder == embedder
                )
            ).scalars()
        )
        for outcome, _data, face, _png in crops:
            if outcome.photo_sha256 in existing:
                outcome.reason = "already enrolled for this artist"
                continue
            existing.add(outcome.photo_sha256)
            outcome.accepted = True
            session.add(
                ArtistReference(
                    artist_id=artist.id,
                    photo_sha256=outcome.photo_sha256,
                    crop_sha256=outcome.crop_sha256,
                    source_name=Path(outcome.path).name,
                    embedder=embedder,
                    embedding=np.asarray(face.embedding, "<f4").tobytes(),
                    quality=float(face.quality.score),
                    det_score=float(face.detection.score),
                    face={**face.detection.as_dict(), "quality": face.quality.as_dict()},
                )
            )
        ledger.append(
            "enrol",
            item=None,
            details={
                "artist": name,
                "new_artist": created,
                "consent_ref": consent_ref or artist.consent_ref,
                "embedder": embedder,
                "accepted": [
                    {"photo": o.photo_sha256, "crop": o.crop_sha256, "name": Path(o.path).name}
                    for o in outcomes
                    if o.accepted
                ],
                "rejected": [
                    {"photo": o.photo_sha256, "name": Path(o.path).name, "reason": o.reason}
                    for o in outcomes
                    if not o.accepted
                ],
            },
        )
    return EnrolResult(name, created, outcomes)


def set_threshold(ws: Workspace, name: str, threshold: float | None, reason: str | None = None) -> None:
    """Give one artist a stricter (or looser) match threshold than the calibrated global one; None resets it."""
    with ws.write() as (session, ledger):
        artist = session.execute(select(Artist).where(Artist.name == name)).scalar_one_or_none()
        if artist is None:
            raise GalleryError(f"no artist named {name!r}")
        previous = artist.threshold
        artist.threshold = threshold
        ledger.append(
            "threshold",
            item=None,
            details={"artist": name, "previous": previous, "threshold": threshold, "reason": reason},
        )


def remove_artist(ws: Workspace, name: str, reason: str | None = None) -> int:
    """Delete an artist and its reference vectors (vault copies stay: the vault only grows). Returns refs removed."""
    with ws.write() as (session, ledger):
        artist = session.execute(select(Artist).where(Artist.name == name)).scalar_one_or_none()
        if artist is None:
            raise GalleryError(f"no artist named {name!r}")
        refs = (
            session.execute(select(ArtistReference.photo_sha256).where(ArtistReference.artist_id == artist.id))
            .scalars()
            .all()
        )
        session.execute(delete(ArtistReference).where(ArtistReference.artist_id == artist.id))
        session.delete(artist)
        ledger.append("unenrol", item=None, details={"artist": name, "references": list(refs), "reason": reason})
    return len(refs)


def list_artists(ws: Workspace) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        rows = session.execute(
            select(Artist, func.count(ArtistReference.id))
            .outerjoin(ArtistReference, ArtistReference.artist_id == Artist.id)
            .group_by(Artist.id)
            .order_by(Artist.name)
        ).all()
    return [
        {
            "name": a.name,
            "references": n,
            "consent_ref": a.consent_ref,
            "enrolled_by": a.enrolled_by,
            "created_at": a.created_at.isoformat(),
            "threshold": a.threshold,
        }
        for a, n in rows
    ]


def show_artist(ws: Workspace, name: str) -> dict[str, Any]:
    with ws.sessions() as session:
        artist = session.execute(select(Artist).where(Artist.name == name)).scalar_one_or_none()
        if artist is None:
            raise GalleryError(f"no artist named {name!r}")
        refs = (
            session.execute(
                select(ArtistReference).where(ArtistReference.artist_id == artist.id).order_by(ArtistReference.id)
            )
            .scalars()
            .all()
        )
    return {
        "name": artist.name,
        "consent_ref": artist.consent_ref,
        "enrolled_by": artist.enrolled_by,
        "created_at": artist.created_at.isoformat(),
        "threshold": artist.threshold,
        "references": [
            {
                "photo_sha256": r.photo_sha256,
                "crop_sha256": r.crop_sha256,
                "source_name": r.source_name,
                "embedder": r.embedder,
                "quality": round(r.quality, 3),
                "det_score": round(r.det_score, 3),
                "enrolled_at": r.created_at.isoformat(),
            }
            for r in refs
        ],
    }


def add_cohort(ws: Workspace, photos: list[Path], analyzer: FaceAnalyzer | None = None) -> dict[str, int]:
    """Add faces of people who are *not* protected artists (for score normalisation); every face is used."""
    if analyzer is None:
        raise TypeError("pass the faces area's FaceAnalyzer (the gallery does not import the faces area)")
    added = skipped = 0
    rows = []
    for path in photos:
        try:
            data = path.read_bytes()
            found = analyzer.analyze(load_rgb(path, ws.config.limits))
        except (OSError, MediaError):
            skipped += 1
            continue
        sha = hashlib.sha256(data).hexdigest()
        faces = [f for f in found.faces if f.quality.score >= MIN_REFERENCE_QUALITY / 2]
        if not faces:
            skipped += 1
            continue
        face = max(faces, key=lambda f: f.detection.score)
        rows.append((sha, path.name, face))
    embedder = analyzer.embedder.name if analyzer.embedder else "unknown"
    with ws.write() as (session, ledger):
        known = set(session.execute(select(CohortFace.photo_sha256).where(CohortFace.embedder == embedder)).scalars())
        for sha, source, face in rows:
            if sha in known:
                skipped += 1
                continue
            known.add(sha)
            session.add(
                CohortFace(
                    photo_sha256=sha,
                    source_name=source,
                    embedder=embedder,
                    embedding=np.asarray(face.embedding, "<f4").tobytes(),
                    quality=float(face.quality.score),
                )
            )
            added += 1
        ledger.append("cohort", item=None, details={"added": added, "skipped": skipped, "embedder": embedder})
    return {"added": added, "skipped": skipped}


def gallery_revision(ws: Workspace) -> str:
    """A cheap fingerprint of everything matching depends on (gallery rows, thresholds, decision parameters)."""
    with ws.sessions() as session:
        refs = session.execute(select(func.count(ArtistReference.id), func.max(ArtistReference.id))).one()
        cohort = session.execute(select(func.count(CohortFace.id), func.max(CohortFace.id))).one()
        artists = session.execute(select(Artist.id, Artist.name, Artist.threshold).order_by(Artist.id)).all()
    params = MatchParams.for_settings(ws.config.raw).as_dict()
    text = repr((tuple(refs), tuple(cohort), [tuple(a) for a in artists], sorted(params.items(), key=str)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_index(ws: Workspace, embedder: str, params: MatchParams | None = None) -> GalleryIndex:
    revision = gallery_revision(ws)
    with ws.sessions() as session:
        artists = session.execute(select(Artist).order_by(Artist.name)).scalars().all()
        refs = session.execute(
            select(ArtistReference.artist_id, ArtistReference.embedding).where(ArtistReference.embedder == embedder)
        ).all()
        cohort = session.execute(select(CohortFace.embedding).where(CohortFace.embedder == embedder)).scalars().all()
    position = {a.id: i for i, a in enumerate(artists)}
    vectors = np.array([np.frombuffer(e, "<f4") for _, e in refs], dtype=np.float32).reshape(-1, 128)
    owners = np.array([position[a] for a, _ in refs], dtype=np.int64)
    # Artists whose references were all made by another embedder cannot be matched: leave them out.
    present = sorted(set(owners.tolist()))
    remap = {old: new for new, old in enumerate(present)}
    names = [artists[i].name for i in present]
    owners = np.array([remap[o] for o in owners.tolist()], dtype=np.int64)
    thresholds = {a.name: a.threshold for a in artists if a.threshold is not None}
    cohort_vectors = np.array([np.frombuffer(e, "<f4") for e in cohort], dtype=np.float32).reshape(-1, 128)
    params = params or MatchParams.for_settings(ws.config.raw)
    return GalleryIndex(names, vectors, owners, cohort_vectors, thresholds, params, revision)


_CACHE: dict[tuple[str, str], GalleryIndex] = {}
_CACHE_LOCK = threading.Lock()


def cached_index(ws: Workspace, embedder: str) -> GalleryIndex:
    """The gallery index, rebuilt only when the gallery revision changes (one small query per call)."""
    key = (ws.config.db_url, embedder)
    revision = gallery_revision(ws)
    with _CACHE_LOCK:
        index = _CACHE.get(key)
        if index is not None and index.revision == revision:
            return index
    index = load_index(ws, embedder)
    with _CACHE_LOCK:
        _CACHE[key] = index
    return index
