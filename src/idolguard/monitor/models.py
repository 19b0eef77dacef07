"""Monitoring tables: one row per watched source and one per entry seen on it (URL and content hash).

An entry is never captured twice for the same source: it is skipped when its canonical URL or its content hash
(the listing's own content key or the captured media's SHA-256) was seen before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow


class WatchedSource(Base):
    """A page, feed, channel or account checked on a schedule; its status is what ``watch list`` shows."""

    __tablename__ = "monitor_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # page|feed|channel|telegram|account
    every_s: Mapped[int] = mapped_column(Integer)
    artist: Mapped[str | None] = mapped_column(String(256), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active|paused|removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(256))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    source_status: Mapped[str] = mapped_column(String(16), default="new")  # new|ok|error|gone
    gone_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    items_found: Mapped[int] = mapped_column(Integer, default=0)  # new entries captured, all runs
    last_found: Mapped[int] = mapped_column(Integer, default=0)  # new entries captured in the last run
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # the last run's problems


class WatchSeen(Base):
    """An entry of a source already handled: captured, or skipped as a duplicate of an earlier one."""

    __tablename__ = "monitor_seen"
    __table_args__ = (UniqueConstraint("source_id", "url", name="uq_monitor_seen_source_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("monitor_sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # captured|duplicate|failed
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), nullable=True)
    media_sha256: Mapped[list[Any]] = mapped_column(JSONType, default=list)
