"""Tables of the web app (migration ``0800_web``, branch ``web``): accounts, sessions, API tokens, the triage
state of each item, reveals and durable jobs.

Evidence tables are never altered here: the triage row is a projection of stage results (refreshed by
``triage.sync_reviews``) plus the team's decision, and every decision is also a signed custody event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, JSONType, UTCDateTime, utcnow

ROLES = ("admin", "manager", "analyst", "counsel", "viewer")
STATUSES = ("new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate")
JOB_STATES = ("queued", "running", "done", "error")


class User(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    artists: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every artist
    password_hash: Mapped[str] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    never_reveal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A server-side session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    second_factor_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "web_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))  # read|write
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Review(Base):
    """Triage state of one item: a projection of its analysis (for ranking and filters) plus the decision."""

    __tablename__ = "web_reviews"
    __table_args__ = (
        # The queue is read in risk order and filtered while walking it (open items are most of the table).
        Index("ix_web_reviews_rank", "risk", "item_sha256"),
        # Scoped queues start from the artist index; this covers their status filter and risk sort.
        Index("ix_web_reviews_scope", "item_sha256", "status", "risk"),
        # The unattributed items in queue order (scoped analysts and managers see them): a partial index, so
        # neither database walks the whole queue past the attributed items to find them.
        Index(
            "ix_web_reviews_unattributed",
            "risk",
            "item_sha256",
            sqlite_where=text("artist IS NULL"),
            postgresql_where=text("artist IS NULL"),
        ),
    )

    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), default="new")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    artist: Mapped[str | None] = mapped_column(String(256), nullable=True)  # best identified artist
    artist_decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    manipulation: Mapped[float | None] = mapped_column(Float, nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(128), nullable=True)
    matches: Mapped[int] = mapped_column(Integer, default=0)
    sightings: Mapped[int] = mapped_column(Integer, default=0)
    fan_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    # Public-portal reports of links that led to this item, and their categories (filled by the worker).
    fan_reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fan_categories: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict, server_default="{}")
    media_type: Mapped[str] = mapped_column(String(16), default="other")
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class ReviewArtist(Base):
    """Every artist an item may show (match or possible): the key of per-artist scoping."""

    __tablename__ = "web_review_artists"

    __table_args__ = (
        # Per-artist queues walk this in risk order (the item's risk is copied here by sync_reviews).
        Index("ix_web_review_artists_rank", "artist", "risk", "item_sha256"),
    )

    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), primary_key=True)
    artist: Mapped[str] = mapped_column(String(256), primary_key=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)


class Reveal(Base):
    """One reveal of an original: who, why, until when (the custody event is the record; this is the grant)."""

    __tablename__ = "web_reveals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ledger_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Job(Base):
    """A durable background job (upload scan, capture); the queue carries only its id."""

    __tablename__ = "web_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # upload|capture
    state: Mapped[str] = mapped_column(String(16), default="queued")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class LoginThrottle(Base):
    """Failed sign-in attempts per client address (migration ``0810_web_throttle``): many failures from one
    address (password spraying over many accounts) block that address for a while, besides the per-account
    lock-out. Both are custody events."""

    __tablename__ = "web_login_throttle"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
