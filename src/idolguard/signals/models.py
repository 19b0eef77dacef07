"""Hash banks (modelled on Meta's HMA banks) and the bookkeeping that keeps the on-disk index honest.

A bank is a named list of hashes with a purpose (``kind``): ``known_abuse`` (confirmed deepfakes to find
again), ``negative`` (official media that must never be reported as a match) and ``partner`` (lists imported
from platforms/NGOs). Every entry records where it came from (item, case or import), when and by whom, so an
analyst can always explain a match. Entries are disabled rather than deleted when a match must stop without
losing history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow

BANK_KINDS = ("known_abuse", "negative", "partner")
# Signal types (``signal_bank_entries.signal_type``) are classes in ``signals/types/``, one file each.


class Bank(Base):
    __tablename__ = "signal_banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    vpdq_frame_threshold: Mapped[int] = mapped_column(Integer, default=31)
    vpdq_match_percent: Mapped[int] = mapped_column(Integer, default=80)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(256))


class BankEntry(Base):
    """One hash in one bank. ``value`` is lowercase hex (pdq/md5/sha256) or the vPDQ digest (see ``frames``)."""

    __tablename__ = "signal_bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value", name="uq_signal_entry"),
        Index("ix_signal_entry_value", "signal_type", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("signal_banks.id", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)  # vPDQ: [[index, t, hex, q], ...]
    source_kind: Mapped[str] = mapped_column(String(16))  # item|import|manual
    source_item: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source_ref: Mapped[str | None] = mapped_column(Text, nullable=True)  # case id, import file sha256, partner
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match_count: Mapped[int] = mapped_column(Integer, default=0)
    last_matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class SignalState(Base):
    """Counters shared by processes: ``revision`` bumps with every bank change, so a saved index knows if it
    is stale; ``synced_result_id`` is how far incidents/match counters have consumed stored match results."""

    __tablename__ = "signal_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class EntryHit(Base):
    """First time an item matched an entry: the basis of the per-entry match counter (distinct items, so a
    re-scan of the same file does not inflate it) and of incident grouping."""

    __tablename__ = "signal_entry_hits"

    entry_id: Mapped[int] = mapped_column(ForeignKey("signal_bank_entries.id", ondelete="CASCADE"), primary_key=True)
    item_sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    signal: Mapped[str] = mapped_column(String(32))
    distance: Mapped[int] = mapped_column(Integer)
    transform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    first_matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficialItem(Base):
    """One item of an artist's official collection (``artists official add``), written in the transaction that
    banks its hashes. The primary key (bank, item) is what makes adding the same file twice impossible: two
    runs racing past the "already there?" check cannot both commit, whatever the database or the number of
    processes (the loser is reported as already there). The bank entries stay the searched hashes."""

    __tablename__ = "signal_official_items"

    bank_id: Mapped[int] = mapped_column(ForeignKey("signal_banks.id", ondelete="CASCADE"), primary_key=True)
    item_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(256))
