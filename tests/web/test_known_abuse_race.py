"""Confirming abuse creates the ``known_abuse`` bank on first use: two confirmations at once make it once.

Two threads with their own workspace connections (as two server workers would), on SQLite and PostgreSQL. The
first is held inside its write transaction, the bank inserted but not committed, until the second has reached
its own write: the interleaving under test happens every time, not by luck of scheduling. Before, the second
checked "is there a bank?" outside the write lock, saw none, and its creation then failed "already exists".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.signals.models import Bank
from idolguard.workspace import Workspace
from tests.signals.helpers import in_thread


def _wait(event: threading.Event) -> None:
    assert event.wait(120), "the other side never reached its point"


def _items(workspace: Workspace, tmp_path, runs: int) -> list[str]:  # type: ignore[no-untyped-def]
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.runner import analyze
    from tests.conftest import jpeg_bytes

    shas = []
    for seed in range(runs):
        path = tmp_path / f"s{seed}.jpg"
        path.write_bytes(jpeg_bytes(seed + 10))
        shas.extend(r.sha256 for r in Ingestor(workspace, SightingInfo()).ingest([path]))
    analyze(workspace, shas, stage_names=["signals"])
    return shas


def test_two_first_confirmations_make_one_known_abuse_bank(workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two analysts confirm abuse at the same moment in a workspace without a ``known_abuse`` bank yet. The
    first is held after inserting the bank, before committing; the second starts then and must wait on the
    write lock (it is seen entering its write and still not done while the first is held), then find the
    bank: one bank, one ``bank.create``, both items banked."""
    from idolguard.signals import banks as banks_module
    from idolguard.web.triage import add_to_known_abuse

    first, second = _items(workspace, tmp_path, 2)
    inserted, released, second_writing = threading.Event(), threading.Event(), threading.Event()
    real_bump, real_write = banks_module.bump_revision, Workspace.write

    def held_bump(session: Any) -> Any:
        revision = real_bump(session)
        if not inserted.is_set():  # the first bank insert (the first thread's): hold it uncommitted
            inserted.set()
            _wait(released)
        return revision

    @contextmanager
    def noted_write(self: Workspace) -> Iterator[Any]:
        if inserted.is_set() and not released.is_set():  # only the second thread writes while the first is held
            second_writing.set()
        with real_write(self) as pair:
            yield pair

    monkeypatch.setattr(banks_module, "bump_revision", held_bump)
    monkeypatch.setattr(Workspace, "write", noted_write)

    def confirm(sha: str) -> Callable[[Workspace], str]:
        return lambda ws: add_to_known_abuse(ws, sha)

    one = in_thread(home, confirm(first))
    _wait(inserted)
    two = in_thread(home, confirm(second))
    _wait(second_writing)
    two[0].join(1.0)
    assert two[0].is_alive(), f"the second confirmation did not wait for the first's transaction: {two[1]}"
    released.set()
    for thread, _out in (one, two):
        thread.join(300)
    assert [out.get("result") for _t, out in (one, two)] == ["known_abuse"] * 2, (one[1], two[1])
    with workspace.sessions() as session:
        banks = list(session.execute(select(Bank.name)).scalars())
        actions = list(session.execute(select(LedgerEntry.action).where(LedgerEntry.action.like("bank.%"))).scalars())
    assert banks == ["known_abuse"] and actions.count("bank.create") == 1 and actions.count("bank.add") == 2


def test_a_known_abuse_bank_of_another_kind_is_refused_with_a_coded_message(workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bank named ``known_abuse`` that is a ``negative`` list (which would veto matches) is not used for
    confirmed abuse: the refusal is coded, so the item page tells a Korean reader to rename that bank."""
    from idolguard.signals.banks import new_bank
    from idolguard.web.errors import shown_error
    from idolguard.web.i18n import translator
    from idolguard.web.triage import add_to_known_abuse

    (sha,) = _items(workspace, tmp_path, 1)
    with workspace.write() as (session, ledger):  # made before ``bank create`` refused the name for that kind
        new_bank(session, ledger, workspace.actor, "known_abuse", "negative")
    with pytest.raises(IdolGuardError) as refused:
        add_to_known_abuse(workspace, sha)
    assert refused.value.code is ErrorCode.BANK_KIND_MISMATCH
    korean = shown_error(translator("ko"), refused.value)
    assert "이름을 바꾼" in korean and "negative" in korean and "known_abuse" in korean, korean
    english = shown_error(translator("en"), refused.value, english=True)
    assert "Rename that bank" in english and "negative" in english, english
