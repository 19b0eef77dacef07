"""Migration 0310: official collections from before ``signal_official_items`` get one row per item, however many
runs added it, and the database then refuses a second row for the same item (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idolguard.db.base import utcnow
from idolguard.signals.models import Bank, BankEntry, OfficialItem
from idolguard.workspace import Workspace
from tests.conftest import downgrade_to

A, B = "a" * 64, "b" * 64


def _entry(bank_id: int, value: str, item: str | None, when, by: str) -> dict:  # type: ignore[no-untyped-def]
    return {
        "bank_id": bank_id,
        "signal_type": "pdq",
        "value": value,
        "source_kind": "item" if item else "manual",
        "source_item": item,
        "added_at": when,
        "added_by": by,
        "enabled": True,
        "match_count": 0,
    }


def test_existing_collections_get_one_row_per_item(workspace: Workspace) -> None:
    from idolguard.db.session import upgrade

    engine = workspace.engine
    downgrade_to(workspace, "0300_signals")
    now = utcnow()
    with engine.begin() as conn:
        banks = Bank.__table__
        common = {"pdq_threshold": 31, "vpdq_frame_threshold": 31, "vpdq_match_percent": 80, "enabled": True}
        conn.execute(
            banks.insert(),
            [
                {
                    "id": 1,
                    "name": "official.Han_Yuri",
                    "kind": "negative",
                    "description": "Official media of Han Yuri (artist #7): source-face attribution",
                    "created_at": now,
                    "created_by": "a",
                    **common,
                },
                {
                    "id": 2,
                    "name": "partner.list",
                    "kind": "partner",
                    "description": None,
                    "created_at": now,
                    "created_by": "a",
                    **common,
                },
            ],
        )
        conn.execute(
            BankEntry.__table__.insert(),
            [
                # A was added by two runs that raced (their entries differ in one hash), B once; a manual entry
                # has no item; the partner bank is no official collection.
                _entry(1, "1" * 64, A, now, "first@agency"),
                _entry(1, "2" * 64, A, now + timedelta(seconds=1), "second@agency"),
                _entry(1, "3" * 64, B, now, "first@agency"),
                _entry(1, "4" * 64, None, now, "first@agency"),
                _entry(2, "5" * 64, A, now, "partner@agency"),
            ],
        )
    upgrade(engine)
    with workspace.sessions() as session:
        rows = session.execute(select(OfficialItem.bank_id, OfficialItem.item_sha256, OfficialItem.added_by)).all()
    assert sorted(tuple(r) for r in rows) == [(1, A, "first@agency"), (1, B, "first@agency")]
    with workspace.sessions() as session, pytest.raises(IntegrityError):
        session.add(OfficialItem(bank_id=1, item_sha256=A, added_by="third@agency"))
        session.flush()
