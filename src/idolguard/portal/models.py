"""Portal tables: reports, their links, the de-duplicated link queue, durable jobs, rate counters, used
challenges and reporter trust.

``portal_jobs`` is deliberately generic (kind + JSON payload + lease) so the team app's job worker can adopt it;
see docs/ARCHITECTURE.md. No table stores a reporter's IP address or e-mail in clear: rate limits and trust use
keyed hashes (HMAC with the portal secret), and the contact e-mail is kept only for the agency to reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow

REPORT_STATUSES = ("received", "under_review", "action_taken", "not_actionable")


class PortalReport(Base):
    """One submission from a fan: receipt number, secret status token (hashed), what was reported."""

    __tablename__ = "portal_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    status_token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    category: Mapped[str] = mapped_column(String(32))
    artist: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reporter_key: Mapped[str] = mapped_column(String(64), index=True)  # HMAC of contact or browser token
    ip_key: Mapped[str] = mapped_column(String(64), index=True)  # HMAC of the client address
    lang: Mapped[str] = mapped_column(String(8))
    url_count: Mapped[int] = mapped_column(Integer)
    challenge_nonce: Mapped[str] = mapped_column(String(64), unique=True)  # one report per solved challenge
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalLink(Base):
    """One distinct (canonical) link across all reports: the unit that is captured and triaged."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    url_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the canonical URL
    host: Mapped[str] = mapped_column(String(256))
    short_link: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|captured|known|failed
    status: Mapped[str] = mapped_column(String(16), default="received")  # the reporters' view
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # action_taken|not_actionable
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[float] = mapped_column(Float, default=0.5, index=True)
    known_as: Mapped[str | None] = mapped_column(String(64), nullable=True)  # capture:N / sighting:N
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), nullable=True)
    item_sha256: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    first_reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # English, as the capture recorded it
    # Why the capture failed as a stable code (``idolguard.errors.ErrorCode``) and the values its message names,
    # so the team's page says it in the reader's language instead of showing the capture's English text.
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class PortalLinkItem(Base):
    """The items a link led to, one row each (``PortalLink.item_sha256`` keeps them in capture order): the
    item -> links lookup of triage (fan report counts) and of decisions is an index probe, not a scan of every
    link's list."""

    __tablename__ = "portal_link_items"
    __table_args__ = (Index("ix_portal_link_items_item", "item_sha256", "link_id"),)

    link_id: Mapped[int] = mapped_column(ForeignKey("portal_links.id"), primary_key=True)
    item_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)


class PortalReportLink(Base):
    """Which links a report named (as typed and canonical)."""

    __tablename__ = "portal_report_links"
    __table_args__ = (UniqueConstraint("report_id", "link_id", name="uq_portal_report_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("portal_reports.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("portal_links.id"), index=True)
    original_url: Mapped[str] = mapped_column(Text)
    first_report: Mapped[bool] = mapped_column(default=False)  # this report made the link known


class PortalJob(Base):
    """A durable background job (survives restarts: a running job whose lease expired is taken again)."""

    __tablename__ = "portal_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|running|done|failed
    priority: Mapped[float] = mapped_column(Float, default=0.5, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class PortalRateCounter(Base):
    """A fixed-window counter (``scope:key:window``) for the database rate limiter."""

    __tablename__ = "portal_rate_counters"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PortalReporter(Base):
    """Trust of one reporter (keyed hash of contact e-mail or browser token): confirmed vs dismissed links."""

    __tablename__ = "portal_reporters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    dismissed: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
