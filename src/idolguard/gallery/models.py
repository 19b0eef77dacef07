"""Gallery tables: artists, their reference faces, and cohort faces used only for score normalisation.

Embeddings are stored as raw little-endian float32 bytes with the embedder's name, so a future embedder can be
enrolled next to the current one and old vectors are never compared with new ones by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow


class Artist(Base):
    """A protected person. ``threshold`` overrides the calibrated threshold for this artist only; ``group_name``
    is the group (or agency unit) the artist belongs to, e.g. ``BLACKPINK``."""

    __tablename__ = "gallery_artists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    consent_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    enrolled_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    group_name: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)


class ArtistAlias(Base):
    """Another name an artist is known by (Hangul, romanised, stage or legal name); lookups accept any of them.

    ``folded`` is the case- and width-insensitive form (see ``gallery/names.py``); it is unique across all
    artists, so one name never points at two people.
    """

    __tablename__ = "gallery_artist_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artist_id: Mapped[int] = mapped_column(ForeignKey("gallery_artists.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(200))
    folded: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="other")  # hangul | romanised | stage | legal | other
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArtistReference(Base):
    """One enrolled reference face: the photo and aligned crop live in the vault, the vector here."""

    __tablename__ = "gallery_references"
    __table_args__ = (UniqueConstraint("artist_id", "photo_sha256", "embedder", name="uq_gallery_ref_photo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artist_id: Mapped[int] = mapped_column(ForeignKey("gallery_artists.id", ondelete="CASCADE"), index=True)
    photo_sha256: Mapped[str] = mapped_column(String(64))
    crop_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    embedder: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float)
    det_score: Mapped[float] = mapped_column(Float)
    face: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # bbox, landmarks, quality parts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CohortFace(Base):
    """A face known *not* to be any protected artist; only used to normalise match scores."""

    __tablename__ = "gallery_cohort"
    __table_args__ = (UniqueConstraint("photo_sha256", "embedder", name="uq_gallery_cohort_photo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    photo_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    embedder: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
