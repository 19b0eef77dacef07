"""Gallery persistence: enrol artists and cohort faces with custody records, and load a ``GalleryIndex``.

Enrolment keeps what a court or a consent audit may later ask for: the reference photo and the aligned crop go
into the vault, and one signed ledger event per artist records who enrolled which photos under which consent
reference, including the photos that were rejected and why.
"""

from __future__ import annotations

import hashlib
import shlex
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Integer, String, Text, cast, column, delete, func, select, table

from idolguard.db.base import UTCDateTime
from idolguard.errors import ErrorCode, IdolGuardError, MediaError
from idolguard.evidence.actions import Action
from idolguard.gallery.advice import Advice, advise
from idolguard.gallery.matching import GalleryIndex, MatchParams, reference_kind
from idolguard.gallery.messages import lookalike, say
from idolguard.gallery.models import Artist, ArtistAlias, ArtistReference, CohortFace
from idolguard.gallery.names import ALIAS_KINDS, fold, guess_kind, shown_escaped, suggestions, unsafe_characters
from idolguard.media.image import load_rgb, png_bytes
from idolguard.workspace import Workspace

if TYPE_CHECKING:  # the gallery never imports the faces area: callers hand it their analyzer
    from idolguard.faces.analysis import FaceAnalyzer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}
MIN_REFERENCE_QUALITY = 0.25  # a reference this poor would make every later match on this artist unreliable
MIN_REFERENCE_FACE_PX = 48.0


class GalleryError(IdolGuardError):
    """A gallery operation was refused (unknown artist, no usable photos...). ``outcomes`` says, per photo, why
    none was usable (pages list them)."""

    outcomes: list[ReferenceOutcome] = []  # noqa: RUF012 - replaced per instance where it applies


def find_artist(session: Any, name: str) -> Artist | None:
    """The artist known by ``name`` (display name or any alias, case- and width-insensitive), or None."""
    key = fold(name)
    if not key:
        return None
    for artist in session.execute(select(Artist)).scalars():
        if fold(artist.name) == key:
            return artist
    alias = session.execute(select(ArtistAlias).where(ArtistAlias.folded == key)).scalar_one_or_none()
    return session.get(Artist, alias.artist_id) if alias is not None else None


def require_artist(session: Any, name: str) -> Artist:
    """Like ``find_artist``, but an unknown name is an error that suggests the closest known names."""
    artist = find_artist(session, name)
    if artist is not None:
        return artist
    known: dict[str, str] = {}
    artists = {a.id: a.name for a in session.execute(select(Artist)).scalars()}
    for artist_name in artists.values():
        known[artist_name] = artist_name
    for alias in session.execute(select(ArtistAlias)).scalars():
        known[alias.alias] = say("alias_of", alias=alias.alias, artist=artists.get(alias.artist_id, "?"))
    message = say("unknown_artist", name=name)
    close = suggestions(name, known)
    if close:
        message += "; " + say("did_you_mean", options=", ".join(close))
    raise GalleryError(message)


def check_name(text: str | None) -> None:
    """Refuse a name (artist, alias, group) holding control or text-direction characters: it would be printed
    into reports, case documents and takedown notices, where an RLO or an ESC rewrites what a reader sees."""
    if text and unsafe_characters(text):
        shown = shown_escaped(text)
        raise GalleryError(
            f"the name {shown} contains control or text-direction characters (such as ESC or U+202E): "
            "type it again without them",
            code=ErrorCode.ENROL_BAD_NAME,
            name=shown,
        )


def _add_aliases(session: Any, artist: Artist, aliases: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Attach aliases (alias, kind) to ``artist``; refuses an alias that already names someone else."""
    added = []
    for alias, kind in aliases:
        alias = alias.strip()
        check_name(alias)
        key = fold(alias)
        if not key or key == fold(artist.name):
            continue
        if kind not in ALIAS_KINDS:
            raise GalleryError(f"alias kind must be one of {', '.join(ALIAS_KINDS)}")
        owner = find_artist(session, alias)
        if owner is not None and owner.id != artist.id:
            raise GalleryError(say("alias_taken", alias=alias, artist=owner.name))
        if owner is not None:
            continue  # already this artist's alias
        session.add(ArtistAlias(artist_id=artist.id, alias=alias, folded=key, kind=kind))
        session.flush()
        added.append({"alias": alias, "kind": kind})
    return added


@dataclass
class ReferenceOutcome:
    path: str
    accepted: bool
    reason: str | None = None
    photo_sha256: str | None = None
    crop_sha256: str | None = None
    quality: float | None = None
    # ``reason`` as a stable code (``idolguard.errors.ErrorCode``) and its values, for pages in other languages.
    reason_code: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)

    def refuse(self, reason: str, code: ErrorCode, **params: Any) -> None:
        self.reason, self.reason_code, self.reason_params = reason, str(code), params

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class EnrolResult:
    artist: str
    created: bool
    references: list[ReferenceOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    advice: Advice | None = None
    lookalikes: list[dict[str, Any]] = field(default_factory=list)

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
            "warnings": list(self.warnings),
            "advice": self.advice.as_dict() if self.advice else None,
            "lookalikes": list(self.lookalikes),
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
        outcome.refuse(f"cannot read: {exc}", ErrorCode.MEDIA_UNREADABLE)
        return outcome, None
    outcome.photo_sha256 = hashlib.sha256(data).hexdigest()
    try:
        image = load_rgb(path, ws.config.limits)
    except MediaError as exc:
        outcome.refuse(str(exc), exc.code, **exc.params)
        return outcome, None
    found = analyzer.analyze(image, reference=True)
    if not found.faces:
        outcome.refuse("no face found", ErrorCode.ENROL_NO_FACE)
        return outcome, None
    confident = [f for f in found.faces if f.detection.score >= 0.8]
    if len(confident) > 1:
        outcome.refuse(
            f"{len(confident)} faces found; a reference photo must show only the artist",
            ErrorCode.ENROL_MANY_FACES,
            count=len(confident),
        )
        return outcome, None
    face = max(found.faces, key=lambda f: f.detection.score)
    outcome.quality = round(face.quality.score, 3)
    if face.quality.face_px < MIN_REFERENCE_FACE_PX:
        outcome.refuse(
            f"face too small ({face.quality.face_px:.0f} px; need {MIN_REFERENCE_FACE_PX:.0f})",
            ErrorCode.ENROL_FACE_SMALL,
            px=f"{face.quality.face_px:.0f}",
            need=f"{MIN_REFERENCE_FACE_PX:.0f}",
        )
        return outcome, None
    if face.quality.score < MIN_REFERENCE_QUALITY:
        q = face.quality
        outcome.refuse(
            f"poor quality {q.score:.2f} < {MIN_REFERENCE_QUALITY} (size {q.size:.2f}, sharpness {q.sharpness:.2f}, "
            f"frontal {q.frontal:.2f})",
            ErrorCode.ENROL_POOR_QUALITY,
            score=f"{q.score:.2f}",
            need=f"{MIN_REFERENCE_QUALITY}",
        )
        return outcome, None
    return outcome, (data, face)


def enrol_artist(
    ws: Workspace,
    name: str,
    photos: list[Path],
    consent_ref: str | None = None,
    analyzer: FaceAnalyzer | None = None,
    *,
    aliases: list[tuple[str, str]] | None = None,
    group: str | None = None,
) -> EnrolResult:
    """Add an artist (or more references to an existing one, found by any of its names). Nothing is written
    if no photo is usable. The result carries warnings: too few or too similar references (with the kind of
    photo that would help), and photos whose face looks more like another enrolled artist than this one."""
    name = name.strip()
    if not name:
        raise GalleryError("artist name is empty")
    for text in (name, group, *(a for a, _k in aliases or [])):
        check_name(text)
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
        refused = GalleryError(
            f"no usable reference photo for {name!r} ({reasons})", code=ErrorCode.ENROL_NONE_USABLE, name=name
        )
        refused.outcomes = outcomes
        raise refused
    crops: list[tuple[ReferenceOutcome, bytes, Any, bytes]] = []
    for outcome, data, face in usable:
        png = png_bytes(face.aligned)
        outcome.crop_sha256 = hashlib.sha256(png).hexdigest()
        crops.append((outcome, data, face, png))
        ws.vault.put_bytes(data)
        ws.vault.put_bytes(png)
    embedder = analyzer.embedder.name if analyzer.embedder else "unknown"
    lookalikes = _lookalikes(ws, embedder, name, crops)
    with ws.write() as (session, ledger):
        artist = find_artist(session, name)
        created = artist is None
        if artist is None:
            artist = Artist(name=name, consent_ref=consent_ref, enrolled_by=ws.actor, group_name=group or None)
            session.add(artist)
            session.flush()
        else:
            name = artist.name
            if consent_ref and consent_ref not in (artist.consent_ref or "").split("; "):
                # A consent reference is evidence of the mandate: never replaced silently. A second one is
                # kept beside the first (both shown) and the change is a custody event of its own.
                previous = artist.consent_ref
                artist.consent_ref = f"{previous}; {consent_ref}" if previous else consent_ref
                ledger.append(
                    Action.GALLERY_SET_CONSENT,
                    item=None,
                    details={
                        "artist": name,
                        "previous": previous,
                        "consent_ref": artist.consent_ref,
                        "added": consent_ref,
                    },
                )
            if group:
                artist.group_name = group
        added_aliases = _add_aliases(session, artist, [(a, k or guess_kind(a)) for a, k in aliases or []])
        existing = set(
            session.execute(
                select(ArtistReference.photo_sha256).where(
                    ArtistReference.artist_id == artist.id, ArtistReference.embedder == embedder
                )
            ).scalars()
        )
        # One face cannot be two artists: a photo file already enrolled for someone else is refused (it would
        # make every later scan of that face split between two names), saying whose reference it is.
        others = dict(
            session.execute(
                select(ArtistReference.photo_sha256, Artist.name)
                .join(Artist, Artist.id == ArtistReference.artist_id)
                .where(
                    ArtistReference.artist_id != artist.id,
                    ArtistReference.photo_sha256.in_([o.photo_sha256 for o, *_rest in crops]),
                )
            ).all()
        )
        for outcome, _data, face, _png in crops:
            if outcome.photo_sha256 in existing:
                outcome.refuse("already enrolled for this artist", ErrorCode.ENROL_DUPLICATE, artist=name)
                continue
            if outcome.photo_sha256 in others:
                other = others[outcome.photo_sha256]
                outcome.refuse(
                    f"already a reference of {other}: one face cannot be two artists (if it was enrolled under "
                    "the wrong artist, take it out there first: idolguard artists remove-photo)",
                    ErrorCode.ENROL_OTHER_ARTIST,
                    artist=other,
                )
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
                    face={
                        **face.detection.as_dict(),
                        "quality": face.quality.as_dict(),
                        # how ``embedding`` was made (``faces/analysis.py`` ``REFERENCE_EMBEDDING``)
                        "reference_embedding": face.views,
                    },
                )
            )
        if created and not any(o.accepted for o in outcomes):  # nothing usable: no artist without references
            refused = GalleryError(
                f"no usable reference photo for {name!r}", code=ErrorCode.ENROL_NONE_USABLE, name=name
            )
            refused.outcomes = outcomes
            raise refused
        accepted = {o.photo_sha256 for o in outcomes if o.accepted}
        lookalikes = [hit for hit in lookalikes if hit["photo_sha256"] in accepted]  # a refused photo is not one
        ledger.append(
            Action.GALLERY_ENROL,
            item=None,
            details={
                "artist": name,
                "new_artist": created,
                "consent_ref": consent_ref or artist.consent_ref,
                "group": artist.group_name,
                "aliases": added_aliases,
                "lookalikes": lookalikes,
                "embedder": embedder,
                "reference_embedding": sorted({face.views for o, _d, face, _p in crops if o.accepted}),
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
    result = EnrolResult(name, created, outcomes, lookalikes=lookalikes)
    for hit in lookalikes:
        score = "-" if hit["score"] is None else f"{hit['score']:.2f}"
        result.warnings.append(
            lookalike(
                photo=hit["photo"],
                other=hit["other"],
                other_score=hit["other_score"],
                artist=name,
                score=score,
            )
        )
    result.advice = artist_advice(ws, name, embedder)
    result.warnings += advice_lines(name, result.advice)
    return result


def _lookalikes(ws: Workspace, embedder: str, name: str, crops: list[Any]) -> list[dict[str, Any]]:
    """New reference faces that score higher against another enrolled artist than against ``name``.

    Compared like a probe against the current gallery. For a new artist, a face that another artist would
    already claim as ``possible`` or better is reported too (a mislabelled photo, or a look-alike that needs
    a stricter threshold).
    """
    index = load_index(ws, embedder)
    if index.empty:
        return []
    with ws.sessions() as session:
        target = find_artist(session, name)
        target_name = target.name if target is not None else None
    vectors = np.stack([np.asarray(face.embedding, np.float32) for _, _, face, _ in crops])
    scores = index.artist_scores(vectors)
    own = index.names.index(target_name) if target_name in index.names else None
    out = []
    for (outcome, _data, _face, _png), row in zip(crops, scores, strict=True):
        others = [(float(row[k]), k) for k in range(len(index.names)) if k != own]
        if not others:
            continue
        other_score, other = max(others)
        own_score = float(row[own]) if own is not None else None
        claimed = other_score >= index.artist_threshold(other) - index.params.possible_gap
        if (own_score is not None and other_score > own_score) or (own_score is None and claimed):
            out.append(
                {
                    "photo": Path(outcome.path).name,
                    "photo_sha256": outcome.photo_sha256,
                    "other": index.names[other],
                    "other_score": round(other_score, 4),
                    "score": None if own_score is None else round(own_score, 4),
                }
            )
    return out


def stored_lookalikes(ws: Workspace, name: str, embedder: str) -> list[dict[str, Any]]:
    """``_lookalikes`` for an artist's stored references (after ``artists reembed`` changed their vectors).

    Each reference is compared with the other artists as enrolment compares a new photo, and with the artist's
    own *other* references (itself left out: it would always win); with no other reference of its own, a face
    another artist would claim as ``possible`` or better is reported, as for a new artist."""
    index = load_index(ws, embedder)
    with ws.sessions() as session:
        artist = require_artist(session, name)
        refs = session.execute(
            select(ArtistReference.photo_sha256, ArtistReference.source_name, ArtistReference.embedding)
            .where(ArtistReference.artist_id == artist.id, ArtistReference.embedder == embedder)
            .order_by(ArtistReference.id)
        ).all()
        name = artist.name
    if index.empty or name not in index.names or len(index.names) < 2 or not refs:
        return []
    own = index.names.index(name)
    vectors = np.array([np.frombuffer(e, "<f4") for _s, _n, e in refs], np.float32).reshape(-1, 128)
    scores = index.artist_scores(vectors)
    own_sims = vectors @ vectors.T
    out = []
    for k, (sha, source, _e) in enumerate(refs):
        others = [(float(scores[k, a]), a) for a in range(len(index.names)) if a != own]
        other_score, other = max(others)
        rest = np.sort(np.delete(own_sims[k], k))[::-1][:2]  # mean of the two best, as ``artist_scores``
        own_score = float(rest.mean()) if len(rest) else None
        claimed = other_score >= index.artist_threshold(other) - index.params.possible_gap
        if (own_score is not None and other_score > own_score) or (own_score is None and claimed):
            out.append(
                {
                    "photo": source or sha[:12],
                    "photo_sha256": sha,
                    "other": index.names[other],
                    "other_score": round(other_score, 4),
                    "score": None if own_score is None else round(own_score, 4),
                }
            )
    return out


def enrolment_warnings(ws: Workspace, name: str, embedder: str, lang: str | None = None) -> dict[str, Any]:
    """The warnings ``artists add`` gives, from what is stored now: look-alikes and reference advice."""
    lookalikes = stored_lookalikes(ws, name, embedder)
    advice = artist_advice(ws, name, embedder)
    lines = [
        lookalike(
            lang,
            photo=hit["photo"],
            other=hit["other"],
            other_score=hit["other_score"],
            artist=name,
            score="-" if hit["score"] is None else f"{hit['score']:.2f}",
        )
        for hit in lookalikes
    ]
    lines += advice_lines(name, advice, lang)
    return {"lookalikes": lookalikes, "advice": advice.as_dict(), "warnings": lines}


def advice_lines(name: str, advice: Advice | None, lang: str | None = None) -> list[str]:
    from idolguard.gallery.advice import RECOMMENDED_REFERENCES
    from idolguard.gallery.messages import kinds_text

    if advice is None or advice.ok:
        return []
    lines = []
    if advice.more_needed:
        lines.append(
            say(
                "advice_more",
                lang,
                artist=name,
                distinct=advice.distinct,
                more=advice.more_needed,
                minimum=advice.minimum,
                recommended=RECOMMENDED_REFERENCES,
            )
        )
    if advice.kinds:
        lines.append(say("advice_kinds", lang, kinds=kinds_text(advice.kinds, lang)))
    return lines


def artist_advice(ws: Workspace, name: str, embedder: str | None = None) -> Advice:
    """Reference advice for one artist from what is stored (see ``gallery/advice.py``)."""
    minimum = MatchParams.for_settings(ws.config.raw).min_references
    with ws.sessions() as session:
        artist = require_artist(session, name)
        query = select(ArtistReference).where(ArtistReference.artist_id == artist.id)
        if embedder:
            query = query.where(ArtistReference.embedder == embedder)
        refs = session.execute(query).scalars().all()
        vectors = np.array([np.frombuffer(r.embedding, "<f4") for r in refs], np.float32).reshape(-1, 128)
        qualities = [dict((r.face or {}).get("quality") or {}) for r in refs]
    return advise(vectors, qualities, minimum)


def add_alias(ws: Workspace, name: str, alias: str, kind: str | None = None) -> dict[str, Any]:
    """Give an artist another name (one custody event); refused when the name already means someone else."""
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        added = _add_aliases(session, artist, [(alias, kind or guess_kind(alias))])
        if added:
            ledger.append("gallery.alias", item=None, details={"artist": artist.name, "added": added})
        return {"artist": artist.name, "added": added}


def remove_alias(ws: Workspace, name: str, alias: str) -> dict[str, Any]:
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        row = session.execute(
            select(ArtistAlias).where(ArtistAlias.artist_id == artist.id, ArtistAlias.folded == fold(alias))
        ).scalar_one_or_none()
        if row is None:
            raise GalleryError(f"{artist.name!r} has no alias {alias!r}")
        session.delete(row)
        ledger.append("gallery.alias", item=None, details={"artist": artist.name, "removed": [row.alias]})
        return {"artist": artist.name, "removed": row.alias}


def set_group(ws: Workspace, name: str, group: str | None) -> dict[str, Any]:
    """Put an artist in a group (or take them out with None); one custody event."""
    check_name(group)
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        previous = artist.group_name
        artist.group_name = (group or "").strip() or None
        details = {"artist": artist.name, "previous": previous, "group": artist.group_name}
        ledger.append("gallery.group", item=None, details=details)
        return {"artist": artist.name, "group": artist.group_name, "previous": previous}


def remove_photo(ws: Workspace, name: str, ref: str, reason: str | None = None) -> dict[str, Any]:
    """Take one reference photo out of an artist's matching set (the vault keeps the bytes; the ledger records
    the removal). ``ref``: a photo SHA-256 prefix (8+ hex characters) or the enrolled file name."""
    ref = ref.strip()
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        refs = session.execute(select(ArtistReference).where(ArtistReference.artist_id == artist.id)).scalars().all()
        lowered = ref.lower()
        hits = [
            r
            for r in refs
            if (len(lowered) >= 8 and r.photo_sha256.startswith(lowered)) or (r.source_name or "") == ref
        ]
        if not hits:
            raise GalleryError(say("photo_not_found", artist=artist.name, ref=ref))
        photos = {r.photo_sha256 for r in hits}
        if len(photos) > 1:
            raise GalleryError(say("photo_ambiguous", artist=artist.name, ref=ref, count=len(photos)))
        for row in hits:
            session.delete(row)
        ledger.append(
            "gallery.remove_photo",
            item=None,
            details={
                "artist": artist.name,
                "photo": hits[0].photo_sha256,
                "crop": hits[0].crop_sha256,
                "embedders": sorted({r.embedder for r in hits}),
                "reason": reason,
            },
        )
        left = len(refs) - len(hits)
        return {"artist": artist.name, "photo_sha256": hits[0].photo_sha256, "references_left": left}


def set_threshold(ws: Workspace, name: str, threshold: float | None, reason: str | None = None) -> None:
    """Give one artist a stricter (or looser) match threshold than the calibrated global one; None resets it."""
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        name = artist.name
        previous = artist.threshold
        artist.threshold = threshold
        ledger.append(
            Action.GALLERY_SET_THRESHOLD,
            item=None,
            details={"artist": name, "previous": previous, "threshold": threshold, "reason": reason},
        )


def official_marker(artist_id: int) -> str:
    """How an official collection's bank names its artist (in its description; ``signals/official.py``): by
    id, so a bank that merely has the artist's name, or a removed artist's, is never taken for theirs."""
    return f"(artist #{artist_id})"


def owns_official_bank(artist: Artist, description: str | None, created_at: datetime) -> bool:
    """Whether a bank is this artist's official collection: its description names the artist's id and it was
    made after the artist was enrolled. The second half matters on SQLite, which may give a removed artist's id
    to the next artist enrolled: a collection left by the first is then not the newcomer's."""
    return official_marker(artist.id) in (description or "") and created_at >= artist.created_at


# The signals area's tables, read by name: the gallery sits below the signals area and may not import it.
_BANKS = table(
    "signal_banks",
    column("id", Integer),
    column("name", String),
    column("kind", String),
    column("description", Text),
    column("created_at", UTCDateTime),
)
_BANK_ENTRIES = table("signal_bank_entries", column("bank_id", Integer), column("source_item", String))


def _official_collections(session: Any, artist: Artist) -> list[tuple[int, str, int, int]]:
    """(bank id, bank name, items, hashes) of the artist's official collection(s) (``owns_official_bank``)."""
    banks = session.execute(
        select(_BANKS.c.id, _BANKS.c.name, _BANKS.c.description, _BANKS.c.created_at).where(
            _BANKS.c.kind == "negative",
            _BANKS.c.name.startswith("official.", autoescape=True),
            _BANKS.c.description.contains(official_marker(artist.id), autoescape=True),
        )
    ).all()
    found = []
    for bank_id, name, description, created_at in banks:
        if not owns_official_bank(artist, description, created_at):
            continue
        items, hashes = session.execute(
            select(func.count(func.distinct(_BANK_ENTRIES.c.source_item)), func.count()).where(
                _BANK_ENTRIES.c.bank_id == bank_id
            )
        ).one()
        found.append((bank_id, name, int(items), int(hashes)))
    return found


def remove_artist(ws: Workspace, name: str, reason: str | None = None) -> int:
    """Delete an artist and its reference vectors (vault copies stay: the vault only grows). Returns refs removed.

    Refused while the artist's official collection (``artists official add``) still holds anything. That
    collection is evidence-adjacent: it keeps the agency's own files from ever being reported and names them
    when a deepfake copied a face from one. An agency wants it retired on purpose, item by item in the ledger
    with a reason, not dropped as a side effect, and it cannot outlive its artist either (it would still
    suppress and attribute for nobody, and block the same artist's collection after a re-enrolment). So the
    refusal says what to run (``artists official remove ARTIST --all --reason ...``, one transaction). An
    empty collection bank (every file refused, or every item removed) goes with the artist, in the same
    transaction, and the ``gallery.unenrol`` event names it. Writers are serialised by the ledger lock, so a
    collection cannot gain an item between this check and the deletion.
    """
    with ws.write() as (session, ledger):
        artist = require_artist(session, name)
        name = artist.name
        collections = _official_collections(session, artist)
        kept = [(bank, items, hashes) for _id, bank, items, hashes in collections if hashes]
        if kept:
            bank, items, hashes = kept[0]
            raise IdolGuardError(
                say("official_left", artist=name, bank=bank, items=items, hashes=hashes, quoted=shlex.quote(name))
            )
        refs = (
            session.execute(select(ArtistReference.photo_sha256).where(ArtistReference.artist_id == artist.id))
            .scalars()
            .all()
        )
        session.execute(delete(ArtistReference).where(ArtistReference.artist_id == artist.id))
        emptied = [bank for _id, bank, _items, _hashes in collections]
        if collections:
            session.execute(delete(_BANKS).where(_BANKS.c.id.in_([bank_id for bank_id, *_ in collections])))
        session.delete(artist)
        details: dict[str, Any] = {"artist": name, "references": list(refs), "reason": reason}
        if emptied:
            details["official_banks_removed"] = emptied
        ledger.append(Action.GALLERY_UNENROL, item=None, details=details)
    return len(refs)


def list_artists(ws: Workspace, group: str | None = None) -> list[dict[str, Any]]:
    """Enrolled artists (optionally of one group, any case), with reference counts, group and aliases."""
    with ws.sessions() as session:
        rows = session.execute(
            select(Artist, func.count(ArtistReference.id))
            .outerjoin(ArtistReference, ArtistReference.artist_id == Artist.id)
            .group_by(Artist.id)
            .order_by(Artist.name)
        ).all()
        aliases: dict[int, list[str]] = {}
        for alias in session.execute(select(ArtistAlias).order_by(ArtistAlias.id)).scalars():
            aliases.setdefault(alias.artist_id, []).append(alias.alias)
        kinds: dict[int, dict[str, int]] = {}
        for artist_id, face in session.execute(select(ArtistReference.artist_id, ArtistReference.face)).all():
            counts = kinds.setdefault(artist_id, {})
            counts[reference_kind(face)] = counts.get(reference_kind(face), 0) + 1
    expected = MatchParams.for_settings(ws.config.raw).reference_embedding
    if group is not None:
        rows = [(a, n) for a, n in rows if fold(a.group_name or "") == fold(group)]
    return [
        {
            "name": a.name,
            "group": a.group_name,
            "aliases": aliases.get(a.id, []),
            "references": n,
            "consent_ref": a.consent_ref,
            "enrolled_by": a.enrolled_by,
            "created_at": a.created_at.isoformat(),
            "threshold": a.threshold,
            "reference_embeddings": kinds.get(a.id, {}),
            # references the calibration was not fitted for: never decided ``match`` until ``artists reembed``
            "reembed_needed": sum(v for k, v in kinds.get(a.id, {}).items() if k != expected),
        }
        for a, n in rows
    ]


def reference_embedding_status(ws: Workspace) -> dict[str, Any]:
    """Whether the stored reference vectors are of the embedding the calibration was fitted for.

    ``mismatched``: references of another kind, ``artists``: the artists holding them (their faces are never
    decided ``match``, at most ``possible``, until ``artists reembed`` re-embeds them from the vault)."""
    params = MatchParams.for_settings(ws.config.raw)
    expected = params.reference_embedding
    counts: dict[str, int] = {}
    artists: set[str] = set()
    with ws.sessions() as session:
        rows = session.execute(
            select(Artist.name, ArtistReference.face).join(Artist, Artist.id == ArtistReference.artist_id)
        ).all()
    for name, face in rows:
        kind = reference_kind(face)
        counts[kind] = counts.get(kind, 0) + 1
        if kind != expected:
            artists.add(name)
    mismatched = sum(v for k, v in counts.items() if k != expected)
    return {
        "calibrated_for": expected,
        # a local ``[faces.matching]`` block without ``reference_embedding`` (written before the field): read as
        # crop + mirror, so the user is told to re-run ``calibrate faces`` or remove the block
        "assumed": bool(params.source.get("reference_embedding_assumed")),
        "references": counts,
        "mismatched": mismatched,
        "artists": sorted(artists),
    }


def reference_warning(status: dict[str, Any], lang: str | None = None) -> str | None:
    """One line (KO/EN) when references need re-embedding, else None."""
    if not status["mismatched"]:
        return None
    line = say(
        "reembed_needed",
        lang,
        n=status["mismatched"],
        artists=len(status["artists"]),
        kind=status["calibrated_for"],
    )
    if status.get("assumed"):
        line += "; " + say("calibration_unlabelled", lang, kind=status["calibrated_for"])
    return line


def show_artist(ws: Workspace, name: str) -> dict[str, Any]:
    with ws.sessions() as session:
        artist = require_artist(session, name)
        aliases = (
            session.execute(select(ArtistAlias).where(ArtistAlias.artist_id == artist.id).order_by(ArtistAlias.id))
            .scalars()
            .all()
        )
        refs = (
            session.execute(
                select(ArtistReference).where(ArtistReference.artist_id == artist.id).order_by(ArtistReference.id)
            )
            .scalars()
            .all()
        )
    advice = artist_advice(ws, artist.name)
    params = MatchParams.for_settings(ws.config.raw)
    expected = params.reference_embedding
    stale = sum(1 for r in refs if reference_kind(r.face) != expected)
    warnings = advice_lines(artist.name, advice)
    if stale:
        warnings.append(say("reembed_needed", n=stale, artists=1, kind=expected))
        if params.source.get("reference_embedding_assumed"):
            warnings.append(say("calibration_unlabelled", kind=expected))
    return {
        "name": artist.name,
        "group": artist.group_name,
        "aliases": [{"alias": a.alias, "kind": a.kind} for a in aliases],
        "consent_ref": artist.consent_ref,
        "enrolled_by": artist.enrolled_by,
        "created_at": artist.created_at.isoformat(),
        "threshold": artist.threshold,
        "advice": advice.as_dict(),
        "warnings": warnings,
        "reembed_needed": stale,
        "references": [
            {
                "photo_sha256": r.photo_sha256,
                "crop_sha256": r.crop_sha256,
                "source_name": r.source_name,
                "embedder": r.embedder,
                "quality": round(r.quality, 3),
                "det_score": round(r.det_score, 3),
                "reference_embedding": reference_kind(r.face),
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
            # Crop + mirror, like the scanned faces the cohort stands for are decided on (and as calibrated).
            found = analyzer.analyze(load_rgb(path, ws.config.limits), mirror=True)
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
        ledger.append(
            Action.GALLERY_ADD_COHORT, item=None, details={"added": added, "skipped": skipped, "embedder": embedder}
        )
    return {"added": added, "skipped": skipped}


def gallery_revision(ws: Workspace) -> str:
    """A fingerprint of everything matching depends on (gallery rows, thresholds, decision parameters).

    References are fingerprinted by content: each row's id, owner, embedder, stored ``face`` and vector bytes.
    Count and max id alone do not change when a row is replaced by one that takes the freed id again (SQLite
    reuses the highest id: ``artists reembed`` converting the newest reference, or ``remove-photo`` then ``add``
    of the newest one), and the stored face results and a running server's index would keep the old vectors
    (review s8 finding 4). Cohort rows are only ever added, so their count and max id suffice."""
    digest = hashlib.sha256()
    count = 0
    with ws.sessions() as session:
        # Core rows, the JSON as stored text (never parsed): about 20 ms for 5,000 references on SQLite.
        rows = session.connection().execute(
            select(
                ArtistReference.id,
                ArtistReference.artist_id,
                ArtistReference.embedder,
                cast(ArtistReference.face, Text),
                ArtistReference.embedding,
            ).order_by(ArtistReference.id)
        )
        for ref_id, artist_id, embedder, face, embedding in rows:
            count += 1
            digest.update(repr((ref_id, artist_id, embedder, face, len(embedding))).encode())
            digest.update(bytes(embedding))
        cohort = session.execute(select(func.count(CohortFace.id), func.max(CohortFace.id))).one()
        artists = session.execute(select(Artist.id, Artist.name, Artist.threshold).order_by(Artist.id)).all()
    params = MatchParams.for_settings(ws.config.raw).as_dict()
    refs = (count, digest.hexdigest())
    text = repr((refs, tuple(cohort), [tuple(a) for a in artists], sorted(params.items(), key=str)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_index(ws: Workspace, embedder: str, params: MatchParams | None = None) -> GalleryIndex:
    revision = gallery_revision(ws)
    with ws.sessions() as session:
        artists = session.execute(select(Artist).order_by(Artist.name)).scalars().all()
        refs = session.execute(
            select(ArtistReference.artist_id, ArtistReference.embedding, ArtistReference.face).where(
                ArtistReference.embedder == embedder
            )
        ).all()
        cohort = session.execute(select(CohortFace.embedding).where(CohortFace.embedder == embedder)).scalars().all()
    position = {a.id: i for i, a in enumerate(artists)}
    vectors = np.array([np.frombuffer(e, "<f4") for _, e, _f in refs], dtype=np.float32).reshape(-1, 128)
    owners = np.array([position[a] for a, _e, _f in refs], dtype=np.int64)
    kinds = [reference_kind(f) for _a, _e, f in refs]
    # Artists whose references were all made by another embedder cannot be matched: leave them out.
    present = sorted(set(owners.tolist()))
    remap = {old: new for new, old in enumerate(present)}
    names = [artists[i].name for i in present]
    owners = np.array([remap[o] for o in owners.tolist()], dtype=np.int64)
    thresholds = {a.name: a.threshold for a in artists if a.threshold is not None}
    cohort_vectors = np.array([np.frombuffer(e, "<f4") for e in cohort], dtype=np.float32).reshape(-1, 128)
    params = params or MatchParams.for_settings(ws.config.raw)
    return GalleryIndex(names, vectors, owners, cohort_vectors, thresholds, params, revision, kinds)


_CACHE: dict[tuple[str, str], GalleryIndex] = {}
_CACHE_LOCK = threading.Lock()


def cached_index(ws: Workspace, embedder: str) -> GalleryIndex:
    """The gallery index, rebuilt only when the gallery revision changes (one read of the reference rows per
    call, no decoding)."""
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
