"""Takedown notices: one row per notice, its status, deadline, references and the hashes of what was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow

STATUSES = ("draft", "sent", "acknowledged", "removed", "partially_removed", "rejected", "no_response")
FINAL = ("removed", "rejected")


class Notice(Base):
    __tablename__ = "takedown_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    basis: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24), default="draft")
    to_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    urls: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    sightings: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(256))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recipient_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("takedown_notices.id"), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
