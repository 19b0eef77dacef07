"""Cases end to end through the CLI on a real workspace: numbering, links, statuses, filings, notes,
assignments, legal hold and accounts, each change a signed custody event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cases.helpers import ingest_images


def _ledger_actions(home: Path) -> list[dict]:
    return [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines()]


def test_open_add_status_note_with_custody(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shas = ingest_images(cli, tmp_path / "m", 3)
    year = datetime.now(UTC).year
    first = cli("cases", "open", "Deepfake ring on X", "--artist", "Artist A").stdout.strip()
    second = cli("cases", "open", "Telegram channel", "--artist", "Artist B").stdout.strip()
    assert first == f"IG-{year}-0001" and second == f"IG-{year}-0002"

    added = cli.json_lines("cases", "add", first, shas[0], shas[1][:12], "--json")
    assert [r["ref"] for r in added] == [shas[0], shas[1]] and all(r["added"] for r in added)
    again = cli.json_lines("cases", "add", first, shas[0], "--json")
    assert again[0]["added"] is False
    shared = cli.json_lines("cases", "add", second, shas[0], "--json")
    assert shared[0]["added"] and shared[0]["also_in"] == [first]

    cli("cases", "status", first, "gathering")
    bad = cli("cases", "status", first, "filed", ok=False)
    assert bad.exit_code == 2 and "--kind" in " ".join(bad.output.split()) and "--ref" in " ".join(bad.output.split())
    cli("cases", "status", first, "filed", "--kind", "police", "--ref", "2026-000123", "--date", "2026-11-20")
    cli("cases", "note", first, "Counsel asked for the Telegram captures.")
    cli("cases", "assign", first, "kim.counsel", "--role", "counsel")
    cli("cases", "assign", first, "lee.manager", "--role", "manager")

    detail = cli.json_lines("cases", "show", first, "--json")[0]
    assert detail["status"] == "filed"
    assert detail["filings"] == [{"kind": "police", "reference": "2026-000123", "filed_on": "2026-11-20", "body": None}]
    assert {i["sha256"] for i in detail["items"]} == {shas[0], shas[1]}
    assert len(detail["sightings"]) == 2 and detail["notes"][0]["text"].startswith("Counsel")
    assert {(a["person"], a["role"]) for a in detail["assignees"]} == {
        ("kim.counsel", "counsel"),
        ("lee.manager", "manager"),
    }

    events = [e for e in _ledger_actions(home) if e["action"].startswith("case.")]
    actions = [e["action"] for e in events]
    assert actions.count("case.open") == 2 and actions.count("case.link") == 3
    assert "case.status" in actions and "case.note" in actions and actions.count("case.assign") == 2
    filed = [e for e in events if e["action"] == "case.status" and e["details"]["status"] == "filed"][0]
    assert filed["details"]["filing"]["reference"] == "2026-000123" and filed["details"]["case"] == first
    assert all(e["actor"] == "tester@idolguard" for e in events)
    assert cli("verify").exit_code == 0


def test_bad_input_is_clear_and_adds_nothing(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shas = ingest_images(cli, tmp_path / "m", 1)
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    for args, message in (
        (("cases", "show", "IG-2026-9999"), "no case"),
        (("cases", "add", number, shas[0], "f" * 64), "no item"),
        (("cases", "add", number, "incident:77"), "no incident 77"),
        (("cases", "add", number, "sighting:abc"), "numbers"),
        (("cases", "add", number, "bogus:1"), "unknown kind"),
        (("cases", "add", number, "account:x/@nobody"), "no account"),
        (("cases", "status", number, "archived"), "unknown status"),
        (("cases", "status", number, "filed", "--kind", "police", "--ref", "1", "--date", "2999-01-01"), "future"),
        (("cases", "note", number, "   "), "empty note"),
        (("cases", "assign", number, "x", "--role", "janitor"), "unknown role"),
    ):
        result = cli(*args, ok=False)
        assert result.exit_code == 2, args
        assert message in " ".join(result.output.split()), (args, result.output)
    detail = cli.json_lines("cases", "show", number, "--json")[0]
    assert detail["items"] == []  # the good hash in the failed add was not linked either


def test_status_transitions_and_hold(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "close", number)
    assert (
        cli(
            "cases", "status", number, "filed", "--kind", "court", "--ref", "x", "--date", "2026-01-01", ok=False
        ).exit_code
        == 2
    )
    cli("cases", "status", number, "open")  # reopen
    cli("cases", "hold", number, "--on", "--reason", "preservation letter from police")
    assert cli("cases", "hold", number, "--on", "--reason", "again", ok=False).exit_code == 2
    rows = cli.json_lines("cases", "list", "--json")
    assert rows[0]["legal_hold"] is True and rows[0]["status"] == "open"
    cli("cases", "hold", number, "--off", "--reason", "released")
    cli("cases", "retention", number, "0")
    assert cli.json_lines("cases", "list", "--retention-due", "--json") == []  # open: not due
    cli("cases", "close", number)
    assert [r["number"] for r in cli.json_lines("cases", "list", "--retention-due", "--json")] == [number]
    cli("cases", "retention", number, "30")
    assert cli.json_lines("cases", "list", "--retention-due", "--json") == []


def test_accounts_aliases_and_suggestions(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import jpeg_bytes

    path = tmp_path / "same.jpg"
    path.write_bytes(jpeg_bytes(42))
    cli("ingest", path, "--platform", "x", "--account", "@first", "--seen-at", "2026-11-01T10:00:00Z")
    cli("ingest", path, "--platform", "telegram", "--account", "chan9", "--seen-at", "2026-11-01T13:00:00Z")
    cli("ingest", path, "--platform", "x", "--account", "@late", "--seen-at", "2026-11-09T13:00:00Z")
    suggestions = cli.json_lines("accounts", "suggest", "--json")
    assert [s["accounts"] for s in suggestions] == [["telegram/chan9", "x/@first"]]
    assert suggestions[0]["min_gap_s"] == 3 * 3600
    assert cli("accounts", "sync").exit_code == 0
    accounts = {f"{a['platform']}/{a['handle']}": a for a in cli.json_lines("accounts", "list", "--json")}
    assert set(accounts) == {"x/@first", "telegram/chan9", "x/@late"}
    assert accounts["x/@first"]["first_seen"].startswith("2026-11-01T10:00")
    cli("accounts", "add", "x", "@first", "--name", "First Spreader", "--url", "https://x.example/first")
    cli("accounts", "alias", "x/@first", "telegram/chan9", "--reason", "same watermark and posting times")
    assert cli.json_lines("accounts", "suggest", "--json") == []  # an accepted link is no longer suggested
    accounts = {f"{a['platform']}/{a['handle']}": a for a in cli.json_lines("accounts", "list", "--json")}
    assert accounts["x/@first"]["display_name"] == "First Spreader"
    assert accounts["x/@first"]["aliases"][0]["reason"].startswith("same watermark")
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, "account:x/@first")
    detail = cli.json_lines("cases", "show", number, "--json")[0]
    assert [a["handle"] for a in detail["accounts"]] == ["@first"]


@pytest.mark.parametrize("approvers", [("alice", "alice"), ("alice", "bob")])
def test_destroy_needs_two_different_approvers(cli, home: Path, tmp_path: Path, monkeypatch, approvers) -> None:  # type: ignore[no-untyped-def]
    shas = ingest_images(cli, tmp_path / "m", 2)
    keep = ingest_images(cli, tmp_path / "k", 1, start=10)
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    other = cli("cases", "open", "other", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas, *keep)
    cli("cases", "add", other, *keep)
    monkeypatch.setenv("IDOLGUARD_ACTOR", approvers[0])
    assert "close it first" in " ".join(cli("cases", "destroy", number, "--reason", "r", ok=False).output.split())
    cli("cases", "close", number)
    cli("cases", "hold", number, "--on", "--reason", "court order")
    refused = cli("cases", "destroy", number, "--reason", "case over", ok=False)
    assert refused.exit_code == 2 and "legal hold" in " ".join(refused.output.split())
    cli("cases", "hold", number, "--off", "--reason", "court released")
    first = cli.json_lines("cases", "destroy", number, "--reason", "case over", "--json")[0]
    assert first["executed"] is False and first["roles_checked"] is False  # no web accounts: names only
    from idolguard.workspace import Workspace

    ws = Workspace.open(home)
    assert all(ws.vault.has(s) for s in shas)
    monkeypatch.setenv("IDOLGUARD_ACTOR", approvers[1])
    result = cli("cases", "destroy", number, "--reason", "case over", "--json", ok=False)
    if approvers[0] == approvers[1]:
        assert result.exit_code == 2 and "different manager or admin" in " ".join(result.output.split())
        # Once the workspace has web accounts, an operator who is no manager/admin user cannot approve.
        from idolguard.web.accounts import add_user

        add_user(ws, "carol", "analyst", [], by="test")
        monkeypatch.setenv("IDOLGUARD_ACTOR", "carol")
        refused = cli("cases", "destroy", number, "--reason", "case over", ok=False)
        assert refused.exit_code == 2 and "carol is analyst" in " ".join(refused.output.split())
        monkeypatch.setenv("IDOLGUARD_ACTOR", "dave")
        refused = cli("cases", "destroy", number, "--reason", "case over", ok=False)
        assert "not an active web user" in " ".join(refused.output.split())
        assert "IDOLGUARD_ACTOR" in " ".join(refused.output.split())
        assert all(ws.vault.has(s) for s in shas)
        return
    done = json.loads(result.stdout)
    assert done["executed"] is True and done["kept"] == [{"sha256": keep[0], "reason": f"also in {other}"}]
    assert not any(ws.vault.has(s) for s in shas) and ws.vault.has(keep[0])
    decision = [e for e in _ledger_actions(home) if e["action"] == "case.destroy"][0]
    assert {o["sha256"] for o in decision["details"]["objects"]} >= set(shas)
    assert [a["approver"] for a in decision["details"]["approvals"]] == ["alice", "bob"]
    detail = cli.json_lines("cases", "show", number, "--json")[0]
    assert {i["sha256"]: i["destroyed"] for i in detail["items"]} == {shas[0]: True, shas[1]: True, keep[0]: False}
    assert "already destroyed" in " ".join(cli("cases", "destroy", number, "--reason", "x", ok=False).output.split())

    # verify names the erased objects as destroyed by the signed decision, not as missing (tampering) ...
    verify = cli("verify", "--json", ok=False)
    assert verify.exit_code == 0, verify.output
    report = json.loads(verify.stdout.strip().splitlines()[-1])
    destroyed = {d["sha256"]: d for d in report["destroyed"]}
    assert set(shas) <= set(destroyed) and keep[0] not in destroyed
    assert destroyed[shas[0]]["approved_by"] == ["alice", "bob"] and destroyed[shas[0]]["case"] == number
    text = cli("verify").stdout
    assert f"destroyed by decision: {len(destroyed)} objects of {number}" in " ".join(text.split())
    # ... while deleting an object that no decision covers is still tampering.
    ws.vault.path_for(keep[0]).unlink()
    failed = cli("verify", "--json", ok=False)
    assert failed.exit_code == 3 and keep[0] in failed.stdout


def test_encrypted_destroy_shreds_item_keys_so_backups_stay_unreadable(
    cli, home: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """With encryption at rest, destruction destroys each erased object's own key (originals, derivatives,
    cached previews): a backup copy of the ciphertext cannot be read afterwards, not even with the vault key."""
    import os
    import shutil

    from sqlalchemy import select

    from idolguard.db.models import DerivedObject
    from idolguard.errors import IntegrityError
    from idolguard.evidence import crypto
    from idolguard.web.previews import preview_png
    from idolguard.workspace import Workspace
    from tests.cases.helpers import set_config_table
    from tests.conftest import astronaut

    master = os.urandom(32)
    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", master.hex())
    shas = ingest_images(cli, tmp_path / "m", 1)
    keep = ingest_images(cli, tmp_path / "k", 1, start=10)
    astronaut().save(tmp_path / "face.jpg", quality=92)  # a face: the scan stores derived face crops
    shas.append(cli.json_lines("scan", tmp_path / "face.jpg", "--json")[0]["sha256"])
    ws = Workspace.open(home)
    with ws.sessions() as session:
        derived = sorted(set(session.execute(select(DerivedObject.sha256)).scalars()))
    assert derived, "the face scan stored derived objects"
    erased = [*shas, *derived]
    assert all(crypto.encrypted_format(ws.vault.path_for(s)) == "item" and ws.vault.key_paths(s) for s in erased)
    preview = preview_png(ws, shas[0], "image")
    [cached] = (home / "cache" / "previews").glob(f"*/{shas[0]}*")
    backups = tmp_path / "backup"
    backups.mkdir()
    for sha in erased:
        shutil.copyfile(ws.vault.path_for(sha), backups / sha)
    shutil.copyfile(cached, backups / "preview")

    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    other = cli("cases", "open", "other", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas, *keep)
    cli("cases", "add", other, *keep)
    cli("cases", "close", number)
    for approver in ("alice", "bob"):
        monkeypatch.setenv("IDOLGUARD_ACTOR", approver)
        cli("cases", "destroy", number, "--reason", "retention over")
    for sha in erased:
        assert not ws.vault.has(sha) and ws.vault.key_paths(sha) == [], sha
    assert ws.vault.has(keep[0]) and ws.vault.read_bytes(keep[0]) and ws.vault.key_paths(keep[0])
    assert not cached.exists(), "the cached preview of a destroyed item is deleted too"
    decision = [e for e in _ledger_actions(home) if e["action"] == "case.destroy"][0]["details"]
    assert {o["sha256"]: o["erasure"] for o in decision["objects"]} == {s: "key-destroyed" for s in erased}
    verify = cli("verify", "--json", ok=False)
    assert verify.exit_code == 0, verify.output
    report = json.loads(verify.stdout.strip().splitlines()[-1])
    assert set(erased) <= {d["sha256"] for d in report["destroyed"]}

    # The backups, put back where they were, do not decrypt: their keys are gone.
    for sha in erased:
        restored = ws.vault.path_for(sha)
        restored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backups / sha, restored)
        with pytest.raises(IntegrityError, match="item key"):
            ws.vault.read_bytes(sha)
        with open(restored, "rb") as handle, pytest.raises(IntegrityError):
            b"".join(crypto.decrypt_stream(master, handle, sha))  # the master key never encrypted it
    with open(backups / "preview", "rb") as handle, pytest.raises(IntegrityError):
        b"".join(crypto.decrypt_stream(master, handle, "preview"))
    assert preview.startswith(b"\x89PNG")
    tampered = cli("verify", "--json", ok=False)
    assert tampered.exit_code == 3 and "item key" in tampered.stdout
