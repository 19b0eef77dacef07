"""An erasure interrupted after its decision is committed (the process killed between objects, one object's
key already shredded but its ciphertext still there) is finished by running ``cases destroy`` again or by the
worker's start; ``verify`` warns meanwhile, passes afterwards, and the ledger says what was left.

The kill is real: the second approver's ``cases destroy`` runs in its own process, which sends itself SIGKILL
right after shredding the second object's key (the test wraps ``Vault.erase`` in that process only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cases.helpers import erase_by_decision, ingest_images, set_config_table
from tests.conftest import run_until_killed

KILLING_DESTROY = """
import os, signal, sys
from idolguard.evidence import vault as v

real = v.Vault.erase
calls = []

def erase(self, sha):
    calls.append(sha)
    if len(calls) == 2:  # the first object is fully erased; the second loses its key, then the process dies
        for key_file in self.key_paths(sha):
            v._shred(key_file)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, sha)

v.Vault.erase = erase
from idolguard.cli import main
sys.argv = ["idolguard", *sys.argv[1:]]
main()
"""


def _ledger(home: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines() if line.strip()]


def _verify(cli) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("verify", "--json", ok=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _finish(cli, ws, number: str, finish_by: str) -> None:  # type: ignore[no-untyped-def]
    """Finish an interrupted erasure the two ways a user does: `cases destroy` again, or a worker start."""
    if finish_by == "destroy-again":
        out = json.loads(cli("cases", "destroy", number, "--reason", "finish", "--json").stdout)
        assert out["finished"] == 2 and out["executed"] is True
    else:
        from idolguard.server.queues import Worker

        worker = Worker(ws)
        worker.start()
        worker.stop()


@pytest.mark.parametrize("finish_by", ["destroy-again", "worker-start"])
def test_killed_destruction_is_finished_and_recorded(cli, home: Path, tmp_path: Path, monkeypatch, finish_by) -> None:  # type: ignore[no-untyped-def]
    from idolguard.workspace import Workspace

    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    shas = ingest_images(cli, tmp_path / "m", 3)
    keep = ingest_images(cli, tmp_path / "k", 1, start=10)
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas)
    cli("cases", "close", number)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "alice")
    cli("cases", "destroy", number, "--reason", "retention over")

    run_until_killed(KILLING_DESTROY, "cases", "destroy", number, "--reason", "retention over", actor="bob")
    decision = [e for e in _ledger(home) if e["action"] == "case.destroy"]
    assert len(decision) == 1, "the decision was committed before the kill"
    erased = [o["sha256"] for o in decision[0]["details"]["objects"]]
    assert sorted(erased) == sorted(shas)
    ws = Workspace.open(home)
    first, second, third = erased
    assert not ws.vault.has(first) and not ws.vault.key_paths(first)  # erased before the kill
    assert ws.vault.has(second) and not ws.vault.key_paths(second)  # key shredded, ciphertext left
    assert ws.vault.has(third) and ws.vault.key_paths(third)  # not reached
    assert ws.vault.leftover(second, _decided_at(ws, number)) == "object"

    # verify does not call the shredded-key ciphertext damage: it warns that the erasure is unfinished.
    report = _verify(cli)
    assert {d["sha256"] for d in report["destroyed"]} == set(erased)
    unfinished = [w for w in report["warnings"] if "not finished" in w["message"]]
    assert {w["ref"] for w in unfinished} == {second, third}
    assert ws.vault.has(keep[0]) and ws.vault.check(keep[0]) is None

    _finish(cli, ws, number, finish_by)
    for sha in erased:
        assert not ws.vault.has(sha) and ws.vault.key_paths(sha) == [], sha
    finishes = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert len(finishes) == 1
    details = finishes[0]["details"]
    assert details["case"] == number and details["decision_seq"] == decision[0]["seq"]
    assert {o["sha256"]: o["left"] for o in details["objects"]} == {second: "object", third: "object and key"}
    assert {o["sha256"]: o["erasure"] for o in details["objects"]} == {second: "key-destroyed", third: "key-destroyed"}
    report = _verify(cli)
    assert not [w for w in report["warnings"] if "not finished" in w["message"]]
    assert {d["sha256"] for d in report["destroyed"]} == set(erased)
    # Nothing is left now: running it again refuses as before, and records nothing more.
    refused = cli("cases", "destroy", number, "--reason", "again", ok=False)
    assert "already destroyed" in " ".join(refused.output.split())
    assert len([e for e in _ledger(home) if e["action"] == "case.destroy_finish"]) == 1
    ws.close()


def _decided_at(ws, number: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from idolguard.cases.models import Case

    with ws.sessions() as session:
        return session.execute(select(Case.destroyed_at).where(Case.number == number)).scalar_one()


def test_content_submitted_again_after_destruction_is_not_erased(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same bytes ingested again after a destruction are new evidence: finishing old erasures (a worker
    start) leaves them alone, and verify checks them as usual."""
    from idolguard.cases.retention import finish_pending
    from idolguard.workspace import Workspace

    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    [sha] = ingest_images(cli, tmp_path / "m", 1)
    erase_by_decision(cli, monkeypatch, sha)
    ws = Workspace.open(home)
    assert not ws.vault.has(sha)
    again = ingest_images(cli, tmp_path / "again", 1)  # the same generated image: the same bytes
    assert again == [sha] and ws.vault.has(sha) and ws.vault.key_paths(sha)
    assert finish_pending(ws) == []
    assert ws.vault.has(sha) and ws.vault.check(sha) is None
    report = _verify(cli)
    assert not [w for w in report["warnings"] if "not finished" in w["message"]]
    ws.close()


def _killed_destruction(cli, home: Path, tmp_path: Path, monkeypatch) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """A two-approver destruction of three objects, the second approver's process killed mid-erasure (the
    first object erased, the second's key shredded with its ciphertext left, the third untouched)."""
    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    shas = ingest_images(cli, tmp_path / "m", 3)
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas)
    cli("cases", "close", number)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "alice")
    cli("cases", "destroy", number, "--reason", "retention over")
    run_until_killed(KILLING_DESTROY, "cases", "destroy", number, "--reason", "retention over", actor="bob")
    [decision] = [e for e in _ledger(home) if e["action"] == "case.destroy"]
    return number, [o["sha256"] for o in decision["details"]["objects"]]


def test_content_submitted_again_before_the_erasure_finished_is_kept(
    cli, home: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The same bytes ingested again while the decided erasure is unfinished (one leftover without its key,
    one with it) are new evidence: the leftover's erasure is finished first and the content is stored afresh
    under a new key, so finishing the erasure later (a worker start) never erases or strands it."""
    from idolguard.cases.retention import finish_pending
    from idolguard.workspace import Workspace

    number, erased = _killed_destruction(cli, home, tmp_path, monkeypatch)
    ws = Workspace.open(home)
    _first, second, third = erased
    old_third_keys = ws.vault.key_paths(third)
    assert ws.vault.has(second) and not ws.vault.key_paths(second) and old_third_keys
    again = ingest_images(cli, tmp_path / "again", 3)  # the same generated images: the same bytes
    assert sorted(again) == sorted(erased)
    for sha in erased:  # readable at once: a fresh object with its own new key
        assert ws.vault.check(sha) is None, sha
        assert ws.vault.source_format(sha) == "item" and len(ws.vault.key_paths(sha)) == 1
    assert not set(old_third_keys) & set(ws.vault.key_paths(third))  # the decided-on key was shredded
    finish_pending(ws)
    for sha in erased:
        assert ws.vault.has(sha) and ws.vault.check(sha) is None, sha
    # What the vault found left and erased on the way is signed by the next finisher, once.
    [finish] = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert {o["sha256"]: o["left"] for o in finish["details"]["objects"]} == {second: "object", third: "object and key"}
    assert finish_pending(ws) == []
    report = _verify(cli)
    assert not [w for w in report["warnings"] if "not finished" in w["message"]]
    assert not report["problems"], report["problems"]
    ws.close()


KILLED_AFTER_ERASING = """
import os, signal, sys
from idolguard.evidence import vault as v

real = v.Vault.erase_leftover

def erase_leftover(self, sha, decided_at):
    real(self, sha, decided_at)
    os.kill(os.getpid(), signal.SIGKILL)  # the files are gone; nothing after this runs

v.Vault.erase_leftover = erase_leftover
from idolguard.cli import main
sys.argv = ["idolguard", *sys.argv[1:]]
main()
"""


def test_finishing_killed_after_erasing_is_still_recorded(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A finisher killed right after erasing a leftover has already signed what it found left: no file goes
    without its ``case.destroy_finish`` event, and the next run finishes (and records) the rest."""
    number, erased = _killed_destruction(cli, home, tmp_path, monkeypatch)
    _first, second, third = erased
    run_until_killed(KILLED_AFTER_ERASING, "cases", "destroy", number, "--reason", "finish", actor="carol")
    recorded = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert recorded, "files were erased but no case.destroy_finish was signed"
    assert {o["sha256"] for o in recorded[0]["details"]["objects"]} == {second, third}
    cli("cases", "destroy", number, "--reason", "finish", "--json", ok=False)
    from idolguard.workspace import Workspace

    ws = Workspace.open(home)
    for sha in erased:
        assert not ws.vault.has(sha) and ws.vault.key_paths(sha) == [], sha
    named = {
        o["sha256"] for e in _ledger(home) if e["action"] == "case.destroy_finish" for o in e["details"]["objects"]
    }
    assert named == {second, third}
    # The rest was completed under the event the killed run signed: no second event for the same leftovers.
    assert len([e for e in _ledger(home) if e["action"] == "case.destroy_finish"]) == 1
    report = _verify(cli)
    assert not [w for w in report["warnings"] if "not finished" in w["message"]]
    ws.close()


KILLED_RIGHT_AFTER_SIGNING = """
import os, signal, sys
from idolguard.evidence import vault as v

def erase_leftover(self, sha, decided_at):
    # The first step after the case.destroy_finish transaction commits: die before erasing anything.
    os.kill(os.getpid(), signal.SIGKILL)

v.Vault.erase_leftover = erase_leftover
from idolguard.cli import main
sys.argv = ["idolguard", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("finish_by", ["destroy-again", "worker-start"])
def test_finisher_killed_right_after_signing_is_completed_without_a_second_event(
    cli, home: Path, tmp_path: Path, monkeypatch, finish_by
) -> None:  # type: ignore[no-untyped-def]
    """A finisher SIGKILLed right after its ``case.destroy_finish`` is committed (nothing erased yet): the next
    run recognises the signed event and completes that erasure without signing a second one; verify is clean."""
    from idolguard.workspace import Workspace

    number, erased = _killed_destruction(cli, home, tmp_path, monkeypatch)
    _first, second, third = erased
    run_until_killed(KILLED_RIGHT_AFTER_SIGNING, "cases", "destroy", number, "--reason", "finish", actor="carol")
    [signed] = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert {o["sha256"]: o["left"] for o in signed["details"]["objects"]} == {second: "object", third: "object and key"}
    ws = Workspace.open(home)
    assert ws.vault.has(second) and ws.vault.has(third) and ws.vault.key_paths(third)  # killed before erasing
    _finish(cli, ws, number, finish_by)
    for sha in erased:
        assert not ws.vault.has(sha) and ws.vault.key_paths(sha) == [], sha
    finishes = [e for e in _ledger(home) if e["action"] == "case.destroy_finish"]
    assert [e["seq"] for e in finishes] == [signed["seq"]], "a second case.destroy_finish was signed"
    report = _verify(cli)
    assert not [w for w in report["warnings"] if "not finished" in w["message"]]
    assert not report["problems"], report["problems"]
    assert not list((ws.vault.root / "finishing").glob("*.json"))  # the note went with the completed erasure
    refused = cli("cases", "destroy", number, "--reason", "again", ok=False)
    assert "already destroyed" in " ".join(refused.output.split())
    assert len([e for e in _ledger(home) if e["action"] == "case.destroy_finish"]) == 1
    ws.close()


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_finishers_run_one_at_a_time(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A worker start, ``serve`` and ``cases destroy`` may all finish erasures at once: they take turns
    (``vault/finish.lock``), so the second looks again after the first and records nothing twice."""
    import threading
    import time

    from idolguard.cases.retention import finish_pending
    from idolguard.workspace import Workspace

    _number, erased = _killed_destruction(cli, home, tmp_path, monkeypatch)
    ws = Workspace.open(home)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(ws.vault.root / "finish.lock"), "1.5"], stdout=subprocess.PIPE, text=True
    )
    results: list[object] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        runs = [threading.Thread(target=lambda: results.append(finish_pending(ws))) for _ in range(2)]
        for run in runs:
            run.start()
        time.sleep(0.5)
        assert ws.vault.has(erased[1]), "finished while another finisher held the lock"
        for run in runs:
            run.join(timeout=60)
    finally:
        holder.wait(timeout=30)
    assert sorted(len(r) for r in results) == [0, 1]  # type: ignore[arg-type]
    assert len([e for e in _ledger(home) if e["action"] == "case.destroy_finish"]) == 1
    for sha in erased:
        assert not ws.vault.has(sha) and ws.vault.key_paths(sha) == [], sha
    ws.close()
