"""Capture tables: one record per captured URL, the media it yielded, and each later liveness check.

Large artifacts (page body, screenshot, PDF, WARC, WACZ, manifest, timestamp tokens) live in the vault and
are referenced here by SHA-256; the manifest is itself an evidence item so ``verify`` re-hashes everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow


class Capture(Base):
    """The capture record of one URL: what was asked, what answered, from where, and what was preserved."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requested_url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|partial|error|refused
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    actor: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    server_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    redirect_chain: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    response_headers: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    tls: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    page_title: Mapped[str | None] = mapped_column(Text, nullable=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # platform, author, post time...
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # kind -> {sha256, size, mime}
    manifest_sha256: Mapped[str | None] = mapped_column(ForeignKey("items.sha256"), nullable=True, index=True)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wacz_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    timestamps: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # RFC 3161 results per TSA
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # per-step problems, in order (English)
    # ... and beside each, its stable code and values (``{"code", "params"}``, ``idolguard.errors.ErrorCode``) or
    # null, in the same order, so readers in other languages are told from their catalog; NULL on rows from
    # before migration 0670 (their text is recognised instead: ``capture.views.problem_codes``).
    error_codes: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the first problem, for display


class CaptureMedia(Base):
    """A media file found on a captured page, stored as an evidence item (or the reason it was not)."""

    __tablename__ = "capture_media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(32))  # og:image, img, yt-dlp ...
    item_sha256: Mapped[str | None] = mapped_column(ForeignKey("items.sha256"), nullable=True, index=True)
    media_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was not kept, in English (evidence)
    # ... and as a stable code with its values (``idolguard.errors.ErrorCode``), so readers in other languages
    # are told from their catalog; NULL on rows from before migration 0660 (their text is recognised instead:
    # ``capture.views.media_problem``).
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class CaptureCheck(Base):
    """A later liveness check of a captured URL; the original capture is never modified."""

    __tablename__ = "capture_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16))  # live|removed|blocked|changed|error
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    final_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
