"""Confirming abuse creates the ``known_abuse`` bank on first use: two confirmations at once make it once.

Two threads with their own workspace connections (as two server workers would), released together by a
barrier, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.signals.models import Bank
from idolguard.workspace import Workspace
from tests.signals.helpers import in_thread


def test_two_first_confirmations_make_one_known_abuse_bank(workspace, home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two analysts confirm abuse at the same moment in a workspace without a ``known_abuse`` bank yet: one
    bank, one ``bank.create``, both items banked. Before, each request checked "is there a bank?" outside the
    write lock, and the second's creation failed with "already exists" (a 500 on the page)."""
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.runner import analyze
    from idolguard.web.triage import add_to_known_abuse
    from tests.conftest import jpeg_bytes

    runs = 2
    shas = []
    for seed in range(runs):
        path = tmp_path / f"s{seed}.jpg"
        path.write_bytes(jpeg_bytes(seed + 10))
        shas.extend(r.sha256 for r in Ingestor(workspace, SightingInfo()).ingest([path]))
    analyze(workspace, shas, stage_names=["signals"])
    barrier = threading.Barrier(runs, timeout=120)

    def confirm(sha: str) -> Callable[[Workspace], str]:
        def work(ws: Workspace) -> str:
            barrier.wait()
            return add_to_known_abuse(ws, sha)

        return work

    threads = [in_thread(home, confirm(sha)) for sha in shas]
    for thread, _out in threads:
        thread.join(300)
    assert [out.get("result") for _t, out in threads] == ["known_abuse"] * runs, threads
    with workspace.sessions() as session:
        banks = list(session.execute(select(Bank.name)).scalars())
        actions = list(session.execute(select(LedgerEntry.action).where(LedgerEntry.action.like("bank.%"))).scalars())
    assert banks == ["known_abuse"] and actions.count("bank.create") == 1 and actions.count("bank.add") == runs
