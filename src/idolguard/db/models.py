"""Core evidence tables: items, sightings, derived objects, stage results and the custody ledger.

Other areas (faces, signals, capture, incidents...) add their own model modules on the same ``Base``;
``idolguard.db.all_models`` imports them all so Alembic and ``create_all`` see one schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow


class Item(Base):
    """One distinct piece of evidence, identified by the SHA-256 of its original bytes."""

    __tablename__ = "items"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(16), default="other")  # image|video|other
    mime: Mapped[str | None] = mapped_column(String(128), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    media_meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # EXIF / container metadata
    original_name: Mapped[str | None] = mapped_column(Text, nullable=True)  # first name it was seen under
    encrypted: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sighting(Base):
    """Each time an item was submitted or found: where, by whom, with the metadata given at intake."""

    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(256))
    source_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    platform: Mapped[str | None] = mapped_column(String(128), nullable=True)
    account: Mapped[str | None] = mapped_column(String(256), nullable=True)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    file_mtime: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archive_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # when extracted from a zip
    archive_member: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class DerivedObject(Base):
    """A file made from an original (thumbnail, frame, face crop, heat map), stored as its own vault object."""

    __tablename__ = "derived_objects"
    __table_args__ = (UniqueConstraint("sha256", "parent_sha256", "kind", name="uq_derived_triplet"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    parent_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    stage_version: Mapped[str] = mapped_column(String(32))
    mime: Mapped[str | None] = mapped_column(String(128), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StageResult(Base):
    """Output of one stage version on one item: the unit of reuse when ``scan`` runs again."""

    __tablename__ = "stage_results"
    __table_args__ = (UniqueConstraint("item_sha256", "stage", "version", name="uq_stage_result"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # ok|error|skipped
    output: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LedgerEntry(Base):
    """One signed custody event; ``seq`` is dense and ``prev_hash`` links to the entry before it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_ledger_prev"),
        Index("ix_ledger_item", "item_sha256"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64), index=True)
    item_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    line: Mapped[str] = mapped_column(Text)  # the exact JSONL line, so DB and mirror can be compared byte-wise
