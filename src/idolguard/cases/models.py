"""Case tables: the case, what it links, who works on it, filings, notes, accounts and destruction.

Links point at existing records by reference (an item's SHA-256, an incident/sighting/capture/account id), so
a record can belong to several cases and nothing is copied. Destroyed media keep a row in
``destroyed_objects`` naming the signed decision (ledger sequence number) that erased them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, UTCDateTime, utcnow

CASE_STATUSES = ("open", "gathering", "filed", "closed")
LINK_KINDS = ("item", "incident", "sighting", "capture", "account")
FILING_KINDS = ("police", "court", "platform")
ASSIGNEE_ROLES = ("counsel", "manager")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # IG-YYYY-NNNN
    title: Mapped[str] = mapped_column(Text)
    artist: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="open")
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # after closing
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(256))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseLink(Base):
    __tablename__ = "case_links"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "ref", name="uq_case_link"),
        Index("ix_case_links_kind_ref", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # item|incident|sighting|capture|account
    ref: Mapped[str] = mapped_column(String(64))  # sha256 or numeric id as text
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(256))


class CaseAssignee(Base):
    __tablename__ = "case_assignees"
    __table_args__ = (UniqueConstraint("case_id", "person", "role", name="uq_case_assignee"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # counsel|manager
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseFiling(Base):
    """A police complaint, court filing or platform escalation, with the reference the other side gave."""

    __tablename__ = "case_filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # police|court|platform
    reference: Mapped[str] = mapped_column(Text)
    filed_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, the date on the filing
    body: Mapped[str | None] = mapped_column(Text, nullable=True)  # e.g. "Seoul Gangnam Police Station"
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(256))


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(Base):
    """A posting account as a first-class record (who shared it); sightings name it by platform + handle."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_account_handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(128))
    handle: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    profile_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(256))


class AccountAlias(Base):
    """Two accounts believed to be the same person or operation, with why (manual or an accepted suggestion)."""

    __tablename__ = "account_aliases"
    __table_args__ = (UniqueConstraint("account_a", "account_b", name="uq_account_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_a: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    account_b: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    linked_by: Mapped[str] = mapped_column(String(256))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountCapture(Base):
    """A capture of the account's profile page."""

    __tablename__ = "account_captures"
    __table_args__ = (UniqueConstraint("account_id", "capture_id", name="uq_account_capture"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))


class DestructionApproval(Base):
    """One approval of the destruction of a case's media; two different approvers are needed."""

    __tablename__ = "case_destruction_approvals"
    __table_args__ = (UniqueConstraint("case_id", "approver", name="uq_destruction_approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    approver: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DestroyedObject(Base):
    """A vault object erased by a signed decision; its hash stays so reports and verify can name it."""

    __tablename__ = "destroyed_objects"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # original|derived|capture_copy
    destroyed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision_seq: Mapped[int] = mapped_column(Integer)  # ledger seq of the case.destroy event
