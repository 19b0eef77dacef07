"""An ordinary destruction is never taken for an interrupted one: ``cases destroy`` holds ``vault/finish.lock``
from its decision's commit through the erasure, so a ``finish_pending`` (a ``worker``/``serve`` start, ``vault
rekey``) landing in between waits, then finds nothing left, and signs no ``case.destroy_finish``.

The interleaving is forced: the destroying thread stops after the decision is committed, before any file is
erased, and a real second finisher (its own Workspace, its own database connection) runs there; the destroying
thread waits for it (up to a few seconds: without the lock it finishes at once) before erasing."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.cases.helpers import ingest_images, set_config_table


def _ledger(home: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_finisher_between_decision_and_erasure_signs_nothing(
    cli, home: Path, tmp_path: Path, monkeypatch, encrypted: bool
) -> None:  # type: ignore[no-untyped-def]
    from idolguard.cases import retention
    from idolguard.workspace import Workspace

    if encrypted:
        set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
        monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    shas = ingest_images(cli, tmp_path / "m", 2)
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas)
    cli("cases", "close", number)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "alice")
    cli("cases", "destroy", number, "--reason", "retention over")

    other = Workspace.open(home)  # the worker's own workspace and connection
    found: list[list[retention.Finished]] = []
    failures: list[BaseException] = []
    real_erase = retention.erase_files
    in_gap = {"decision_committed": False}

    def finisher() -> None:
        try:
            found.append(retention.finish_pending(other))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    thread = threading.Thread(target=finisher, name="worker-start")

    def erase_files(ws, shas, copies, previews_of=None):  # type: ignore[no-untyped-def]
        if not thread.is_alive() and not found:  # the decision's erasure, not the finisher's own
            in_gap["decision_committed"] = bool([e for e in _ledger(home) if e["action"] == "case.destroy"])
            thread.start()
            thread.join(timeout=5)  # without the lock it runs to the end here, signing a finish event
        return real_erase(ws, shas, copies, previews_of)

    monkeypatch.setattr(retention, "erase_files", erase_files)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "bob")
    out = json.loads(cli("cases", "destroy", number, "--reason", "retention over", "--json").stdout)
    thread.join(timeout=60)
    assert not thread.is_alive() and not failures, failures
    assert in_gap["decision_committed"], "the finisher did not run between the commit and the erasure"
    assert out["executed"] is True and out["destroyed"] == 2
    finishes = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert finishes == [], f"an uninterrupted destruction was recorded as interrupted: {finishes}"
    assert found == [[]]
    for sha in shas:
        assert not other.vault.has(sha) and other.vault.key_paths(sha) == []
    other.close()
