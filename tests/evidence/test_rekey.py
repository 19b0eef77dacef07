"""``idolguard vault rekey``: old single-key (IGV1) objects get their own item keys without their plaintext
hash changing; the run is verified, recorded, and resumable after a real kill mid-run; a destruction after
it is cryptographic erasure."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from idolguard.errors import IntegrityError
from idolguard.evidence import crypto
from idolguard.evidence.vault import Vault
from tests.cases.helpers import ingest_images, set_config_table
from tests.conftest import run_until_killed

KILLING_REKEY = """
import os, signal, sys
from idolguard.evidence import vault as v

real = v.Vault.rekey
calls = []

def rekey(self, sha):
    calls.append(sha)
    result = real(self, sha)
    if len(calls) == 2:  # two objects swapped, the batch's ledger event not written yet
        os.kill(os.getpid(), signal.SIGKILL)
    return result

v.Vault.rekey = rekey
from idolguard.cli import main
sys.argv = ["idolguard", *sys.argv[1:]]
main()
"""


def _make_legacy(vault: Vault, sha: str, master: bytes) -> None:
    """Rewrite an object exactly as an IdolGuard before per-item keys stored it: IGV1 under the vault key, no
    key file (the modification time kept, as the old file's would be)."""
    path = vault.path_for(sha)
    data = vault.read_bytes(sha)
    stat = path.stat()
    for key_file in vault.key_paths(sha):
        key_file.unlink()
    path.chmod(0o600)
    with open(path, "wb") as out:
        crypto.encrypt_stream(master, [data], out)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert crypto.encrypted_format(path) == "v1"


def _ledger(home: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines() if line.strip()]


def _verify_ok(cli) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("verify", "--json", ok=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_rekey_is_resumable_after_a_kill_and_makes_destruction_cryptographic(
    cli, home: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from idolguard.workspace import Workspace

    master = os.urandom(32)
    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", master.hex())
    shas = ingest_images(cli, tmp_path / "m", 3)
    ws = Workspace.open(home)
    originals = {sha: ws.vault.read_bytes(sha) for sha in shas}
    for sha in shas:
        _make_legacy(ws.vault, sha, master)
    mtimes = {sha: ws.vault.path_for(sha).stat().st_mtime_ns for sha in shas}
    assert _verify_ok(cli)["vault_key_objects"] == 3
    assert "idolguard vault rekey" in " ".join(cli("verify").stdout.split())  # verify points to the command

    dry = json.loads(cli("vault", "rekey", "--dry-run", "--json").stdout)
    assert dry["formats"] == {"v1": 3} and dry["to_rekey"] == 3 and dry["rekeyed"] == 0
    assert all(ws.vault.source_format(sha) == "v1" for sha in shas)
    assert not [e for e in _ledger(home) if e["action"] == "vault.rekey"]

    run_until_killed(KILLING_REKEY, "vault", "rekey")
    ordered = sorted(shas)
    assert [ws.vault.source_format(sha) for sha in ordered] == ["item", "item", "v1"]
    assert (ws.vault.root / "rekey.journal").exists()
    assert not [e for e in _ledger(home) if e["action"] == "vault.rekey"]
    _verify_ok(cli)  # half-migrated is still intact evidence
    assert json.loads(cli("vault", "rekey", "--dry-run", "--json").stdout)["resumed"] == 3

    done = json.loads(cli("vault", "rekey", "--json").stdout)
    assert done["rekeyed"] == 1 and done["resumed"] == 2 and done["failed"] == []
    assert not (ws.vault.root / "rekey.journal").exists()
    [event] = [e for e in _ledger(home) if e["action"] == "vault.rekey"]
    recorded = {o["sha256"]: o for o in event["details"]["objects"]}
    assert set(recorded) == set(shas) and all(o["from"] == "v1" for o in recorded.values())
    assert {sha for sha, o in recorded.items() if o.get("by_interrupted_run")} == set(ordered[:2])
    for sha in shas:
        path = ws.vault.path_for(sha)
        assert crypto.encrypted_format(path) == "item" and len(ws.vault.key_paths(sha)) == 1
        assert ws.vault.read_bytes(sha) == originals[sha] and hashlib.sha256(originals[sha]).hexdigest() == sha
        assert path.stat().st_mtime_ns == mtimes[sha]
        with open(path, "rb") as handle, pytest.raises(IntegrityError):
            b"".join(crypto.decrypt_stream(master, handle, sha))  # the vault key alone no longer opens it
    assert _verify_ok(cli)["vault_key_objects"] == 0
    again = json.loads(cli("vault", "rekey", "--json").stdout)
    assert again["formats"] == {"item": 3} and again["rekeyed"] == 0 and again["events"] == []

    # Destroying them now destroys their keys, not only the files.
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas)
    cli("cases", "close", number)
    for approver in ("alice", "bob"):
        monkeypatch.setenv("IDOLGUARD_ACTOR", approver)
        cli("cases", "destroy", number, "--reason", "retention over")
    decision = [e for e in _ledger(home) if e["action"] == "case.destroy"][0]["details"]
    assert {o["sha256"]: o["erasure"] for o in decision["objects"]} == {s: "key-destroyed" for s in shas}
    ws.close()


def test_rekey_refuses_a_damaged_object_and_changes_nothing(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    data = b"an older object " * 90000  # more than one segment
    sha = hashlib.sha256(data).hexdigest()
    path = vault.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        crypto.encrypt_stream(master, [data], out)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError):
        vault.rekey(sha)
    assert path.read_bytes() == bytes(damaged) and vault.key_paths(sha) == []
    assert list(vault.tmp.iterdir()) == []


def test_rekey_leaves_an_object_erased_meanwhile_erased_and_shreds_stale_keys(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    objects = []
    for n in range(2):
        data = f"older object {n} ".encode() * 5000
        sha = hashlib.sha256(data).hexdigest()
        path = vault.path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            crypto.encrypt_stream(master, [data], out)
        objects.append((sha, data))
    (erased, _), (kept, kept_data) = objects

    # A destruction erases the first object while its new copy is being prepared: it must stay erased.
    store = vault._store_key

    def store_then_erase(sha256: str, key_id: bytes, data_key: bytes, *, durable: bool) -> Path:
        stored = store(sha256, key_id, data_key, durable=durable)
        vault.erase(sha256)
        return stored

    vault._store_key = store_then_erase  # type: ignore[method-assign]
    assert vault.rekey(erased) is None
    vault._store_key = store  # type: ignore[method-assign]
    assert not vault.has(erased) and vault.key_paths(erased) == [] and list(vault.tmp.iterdir()) == []

    # A key left by an attempt that died before its swap is never used: the next rekey shreds it.
    key_id, data_key = crypto.new_data_key()
    stale = vault._store_key(kept, key_id, data_key, durable=True)
    assert vault.rekey(kept) == "v1"
    assert not stale.exists() and len(vault.key_paths(kept)) == 1
    assert vault.read_bytes(kept) == kept_data and vault.check(kept) is None
    assert vault.rekey(kept) is None  # already has its own key


def test_rekey_needs_an_encrypted_vault(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("vault", "rekey", ok=False)
    assert result.exit_code == 4 and "not encrypted" in " ".join(result.output.split())


def test_a_decoder_reading_a_plaintext_object_is_not_cut_off_by_rekey(tmp_path: Path) -> None:
    """``materialize`` in an encrypted vault copies even a not-yet-re-keyed plaintext object out, so a rekey
    swapping its file for ciphertext meanwhile never makes a decoder that reopens the path read ciphertext."""
    data = b"a plaintext original from before encryption " * 3000
    sha = Vault(tmp_path / "v").put_bytes(data).sha256
    vault = Vault(tmp_path / "v", key=os.urandom(32))
    assert vault.source_format(sha) == "plain"
    with vault.materialize(sha) as path:
        assert vault.rekey(sha) == "plain"
        assert path.read_bytes() == data  # reopened after the swap: still the plaintext
    assert vault.read_bytes(sha) == data


KILLED_BEFORE_JOURNAL_UNLINK = """
import os, signal, sys
from pathlib import Path
import idolguard.core.rekey as r

real = r.journal_path

class Killing(type(Path())):
    def unlink(self, missing_ok=False):
        os.kill(os.getpid(), signal.SIGKILL)  # the batch's event is signed; the journal is not removed yet

r.journal_path = lambda ws: Killing(real(ws))
from idolguard.cli import main
sys.argv = ["idolguard", *sys.argv[1:]]
main()
"""


def test_a_batch_recorded_before_a_kill_is_not_recorded_again(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Killed after its ``vault.rekey`` event but before removing the journal: the next run sees the batch in
    the ledger and records nothing more (not the same objects again as done ``by_interrupted_run``)."""
    from idolguard.workspace import Workspace

    master = os.urandom(32)
    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", master.hex())
    shas = ingest_images(cli, tmp_path / "m", 2)
    ws = Workspace.open(home)
    for sha in shas:
        _make_legacy(ws.vault, sha, master)
    run_until_killed(KILLED_BEFORE_JOURNAL_UNLINK, "vault", "rekey")
    assert (ws.vault.root / "rekey.journal").exists()
    [event] = [e for e in _ledger(home) if e["action"] == "vault.rekey"]
    assert {o["sha256"] for o in event["details"]["objects"]} == set(shas)
    again = json.loads(cli("vault", "rekey", "--json").stdout)
    assert again["events"] == [] and again["resumed"] == 0 and again["rekeyed"] == 0
    assert not (ws.vault.root / "rekey.journal").exists()
    assert len([e for e in _ledger(home) if e["action"] == "vault.rekey"]) == 1
    ws.close()


def test_a_plaintext_original_that_starts_with_the_item_magic_is_rekeyed(tmp_path: Path) -> None:
    """Submitted bytes may begin with ``IGV2``/``IGV1``: judged by the magic alone such an original counted as
    already keyed (never re-encrypted) or as vault-key ciphertext. Its raw bytes hash to its name: ``plain``."""
    master = os.urandom(32)
    originals = [crypto.MAGIC_ITEM + os.urandom(5000), crypto.MAGIC + os.urandom(5000)]
    shas = [Vault(tmp_path / "v").put_bytes(data).sha256 for data in originals]
    vault = Vault(tmp_path / "v", key=master)
    for sha, data, label in zip(shas, originals, ("plain", "v1"), strict=True):
        assert vault.source_format(sha) == label
        assert vault.rekey(sha) == label
        assert vault.source_format(sha) == "item" and len(vault.key_paths(sha)) == 1
        assert vault.read_bytes(sha) == data and vault.check(sha) is None
