"""Incidents: one piece of abusive content and all its copies, wherever and by whomever they were posted.

Items join an incident when they match the same bank entry or match each other; the incident's sightings,
timeline and accounts are read from the core ``sightings`` table of its member items (never copied), so a
new sighting of a known item shows up without any extra step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idolguard.db.base import Base, UTCDateTime, utcnow

INCIDENT_STATES = ("open", "takedown_requested", "removed", "closed")


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(32), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)


class IncidentMember(Base):
    __tablename__ = "incident_members"

    item_sha256: Mapped[str] = mapped_column(ForeignKey("items.sha256"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)  # e.g. "bank entry 12 (pdq, distance 4)" or "matches item ab12..."
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
