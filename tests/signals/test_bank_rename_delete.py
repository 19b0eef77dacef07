"""``bank rename`` and ``bank delete`` on real databases (SQLite, and PostgreSQL with IDOLGUARD_TEST_PG).

Renaming keeps every entry (matching finds them under the new name, the saved index stays valid), deleting
removes the bank and its entries from the database and the index; each is one signed ledger event and
``verify`` stays clean. Every refusal is coded (KO/EN) and loses nothing: managed names (official
collections, ``official.*``, ``known_abuse`` of another kind), taken or invalid names, a bank with entries
without ``--force``, and a bank with recorded matches even with it (they are evidence). Two renames at once
are serialised by the write lock: the second sees the first's result.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from idolguard import cli_lang
from idolguard.db.models import LedgerEntry
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.signals.bank_changes import delete_bank, rename_bank
from idolguard.signals.banks import create_bank, ensure_bank, new_bank
from idolguard.signals.models import Bank, BankEntry
from idolguard.signals.store import IndexStore, current_revision
from idolguard.workspace import Workspace
from tests.signals.helpers import in_thread, other_photo, save_jpeg


def _banked(cli, tmp_path: Path, name: str = "abuse") -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A ``known_abuse`` bank holding one photo; returns the photo and a re-encoded copy (another SHA-256,
    found through the PDQ index)."""
    original = save_jpeg(other_photo(), tmp_path / "original.jpg", quality=95)
    copy = save_jpeg(other_photo(), tmp_path / "copy.jpg", quality=60)
    cli("bank", "create", name, "--kind", "known_abuse")
    assert cli.json_lines("bank", "add", name, original, "--json")[0]["error"] is None
    return original, copy


def _events(ws: Workspace, action: str) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        return [
            dict(details or {})
            for details in session.execute(
                select(LedgerEntry.details).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)
            ).scalars()
        ]


def _entries(ws: Workspace) -> int:
    with ws.sessions() as session:
        return int(session.execute(select(func.count(BankEntry.id))).scalar_one())


def _index_revision(ws: Workspace, kind: str = "pdq") -> tuple[Any, int]:
    """(the saved index's revision, the database's): equal when the index was kept in step."""
    from idolguard.signals.index import HammingIndex

    _index, manifest = HammingIndex.load(IndexStore(ws).folder(kind))
    with ws.sessions() as session:
        return manifest.get("revision"), current_revision(session)


def _refused(code: ErrorCode, work: Any, *args: Any, **kwargs: Any) -> IdolGuardError:
    with pytest.raises(IdolGuardError) as refused:
        work(*args, **kwargs)
    assert refused.value.code is code, (refused.value.code, str(refused.value))
    korean = cli_lang.tr_error(refused.value, "ko")
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean), korean  # said in Korean, not the English text
    return refused.value


def test_rename_keeps_entries_matching_and_the_index_and_is_signed(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _original, copy = _banked(cli, tmp_path)
    before = cli.json_lines("match", copy, "--json")[0]["matches"]
    assert before and {m["bank"] for m in before} == {"abuse"}
    entries = _entries(workspace)
    revision_before = _index_revision(workspace)

    out = cli.json_lines("bank", "rename", "abuse", "abuse-2025", "--reason", "yearly lists", "--json")
    assert out == [{"bank": "abuse-2025", "old_name": "abuse", "kind": "known_abuse", "entries": entries}]

    after = cli.json_lines("match", copy, "--json")[0]["matches"]
    assert {m["bank"] for m in after} == {"abuse-2025"}
    assert sorted(m["entry"] for m in after) == sorted(m["entry"] for m in before)  # same entries, same ids
    assert _entries(workspace) == entries
    assert _index_revision(workspace) == revision_before  # names are not in the index: nothing to rebuild
    assert [b["name"] for b in cli.json_lines("bank", "list", "--json")] == ["abuse-2025"]
    assert _events(workspace, "bank.rename") == [
        {"bank": "abuse", "new_name": "abuse-2025", "kind": "known_abuse", "entries": entries, "reason": "yearly lists"}
    ]
    assert "renamed" in cli("bank", "rename", "abuse-2025", "abuse-old").stdout
    assert cli("verify").exit_code == 0


def test_rename_refusals_are_coded_and_change_nothing(cli, workspace) -> None:  # type: ignore[no-untyped-def]
    create_bank(workspace, "neg", "negative")
    create_bank(workspace, "partner-list", "partner")
    _refused(ErrorCode.BANK_UNKNOWN, rename_bank, workspace, "nope", "other")
    _refused(ErrorCode.BANK_NAME_INVALID, rename_bank, workspace, "neg", "bad name")
    _refused(ErrorCode.BANK_NAME_INVALID, rename_bank, workspace, "neg", "x" * 129)
    _refused(ErrorCode.BANK_EXISTS, rename_bank, workspace, "neg", "partner-list")
    _refused(ErrorCode.BANK_EXISTS, rename_bank, workspace, "neg", "neg")
    _refused(ErrorCode.BANK_NAME_OFFICIAL, rename_bank, workspace, "neg", "official.someone")
    refused = _refused(ErrorCode.BANK_NAME_TRIAGE, rename_bank, workspace, "neg", "known_abuse")
    assert refused.params == {"name": "known_abuse", "kind": "negative"}
    with workspace.sessions() as session:
        assert sorted(session.execute(select(Bank.name)).scalars()) == ["neg", "partner-list"]
    assert _events(workspace, "bank.rename") == []
    # The command line: exit 2 (a refusal), the coded message in Korean.
    result = cli("--lang", "ko", "bank", "rename", "neg", "known_abuse", ok=False)
    assert result.exit_code == 2 and "known_abuse 종류의 뱅크만" in result.output, result.output


def test_managed_and_triage_names(workspace) -> None:  # type: ignore[no-untyped-def]
    """An official collection is neither renamed nor deleted; a bank that merely has an ``official.`` name (the
    one ``artists official add`` asks to rename) may be renamed away; the triage's name is for its kind."""
    from idolguard.signals.official import _description

    with workspace.write() as (session, ledger):
        new_bank(session, ledger, workspace.actor, "official.Jisoo", "negative", description=_description("Jisoo", 7))
    refused = _refused(ErrorCode.BANK_MANAGED, rename_bank, workspace, "official.Jisoo", "jisoo-photos")
    assert refused.params == {"name": "official.Jisoo", "artist": "Jisoo"}
    _refused(ErrorCode.BANK_MANAGED, delete_bank, workspace, "official.Jisoo", force=True, reason="test")

    create_bank(workspace, "official.taken", "partner")  # not a collection: in the way of one
    assert rename_bank(workspace, "official.taken", "partner-a").new == "partner-a"
    create_bank(workspace, "ka-old", "known_abuse")
    assert rename_bank(workspace, "ka-old", "known_abuse").kind == "known_abuse"  # triage may use it now
    assert rename_bank(workspace, "known_abuse", "ka-2025").new == "ka-2025"  # triage makes a new one
    with workspace.sessions() as session:
        assert sorted(session.execute(select(Bank.name)).scalars()) == ["ka-2025", "official.Jisoo", "partner-a"]


def test_delete_empty_needs_no_force_and_a_full_one_does(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    create_bank(workspace, "empty", "partner")
    assert cli.json_lines("bank", "delete", "empty", "--json") == [
        {"bank": "empty", "kind": "partner", "entries_removed": 0}
    ]
    _original, copy = _banked(cli, tmp_path)
    entries = _entries(workspace)
    refused = _refused(ErrorCode.BANK_NOT_EMPTY, delete_bank, workspace, "abuse")
    assert refused.params == {"name": "abuse", "entries": entries}
    assert _entries(workspace) == entries  # nothing lost
    result = cli("bank", "delete", "abuse", "--force", ok=False)
    assert result.exit_code == 2 and "--reason" in result.output and _entries(workspace) == entries

    result = cli("bank", "delete", "abuse", "--force", "--reason", "list withdrawn by the partner")
    assert f"its {entries} entries" in result.stdout
    assert _entries(workspace) == 0
    assert cli.json_lines("match", copy, "--json")[0]["matches"] == []
    saved, current = _index_revision(workspace)
    assert saved == current  # the deletion was applied to the saved index, not left for a rebuild
    assert _events(workspace, "bank.delete")[-1] == {
        "bank": "abuse",
        "kind": "known_abuse",
        "entries_removed": entries,
        "forced": True,
        "reason": "list withdrawn by the partner",
    }
    assert cli("verify").exit_code == 0


def test_delete_refuses_a_bank_with_recorded_matches_even_with_force(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A scanned copy matched the bank: its stored result (before ``sync``) and then its entry hit are
    evidence, so the bank stays; ``bank disable`` retires it, and verify stays clean."""
    _original, copy = _banked(cli, tmp_path)
    assert cli.json_lines("scan", copy, "--json")[0]["matches"]
    entries = _entries(workspace)
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "abuse", force=True, reason="r")
    assert refused.params["results"] >= 1
    cli("bank", "list")  # folds the stored result into entry hits
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "abuse", force=True, reason="r")
    assert refused.params["hits"] == 1
    # Renamed, the stored result still names the old name: its entries still count.
    rename_bank(workspace, "abuse", "renamed")
    _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "renamed", force=True, reason="r")
    assert _entries(workspace) == entries and _events(workspace, "bank.delete") == []
    result = cli("--lang", "ko", "bank", "delete", "renamed", "--force", "--reason", "r", ok=False)
    assert result.exit_code == 2 and "bank disable renamed" in result.output and "증거" in result.output
    cli("bank", "disable", "renamed")
    assert cli("verify").exit_code == 0


@pytest.mark.parametrize("same_bank", [True, False], ids=["one-bank-two-names", "two-banks-one-name"])
def test_two_renames_at_once(workspace, home: Path, monkeypatch: pytest.MonkeyPatch, same_bank: bool) -> None:
    """The first rename is held inside its write transaction (the bank read, not yet renamed); the second
    starts then and must wait on the write lock, then see the first's result: renaming the same bank again
    finds it gone (``bank.unknown``), taking the same name finds it taken (``bank.exists``). One rename lands."""
    from idolguard.signals import bank_changes

    create_bank(workspace, "a", "partner")
    create_bank(workspace, "b", "partner")
    first, second = (("a", "x"), ("a", "y")) if same_bank else (("a", "x"), ("b", "x"))
    inside, released = threading.Event(), threading.Event()
    real = bank_changes._refuse_reserved

    def held(name: str, kind: str) -> None:
        real(name, kind)
        if not inside.is_set():  # the first rename: hold its transaction open
            inside.set()
            assert released.wait(120)

    monkeypatch.setattr(bank_changes, "_refuse_reserved", held)
    one = in_thread(home, lambda ws: rename_bank(ws, *first))
    assert inside.wait(120), one[1]
    two = in_thread(home, lambda ws: rename_bank(ws, *second))
    two[0].join(1.0)
    assert two[0].is_alive(), f"the second rename did not wait for the first's transaction: {two[1]}"
    released.set()
    for thread, _out in (one, two):
        thread.join(120)
    assert one[1]["result"].new == "x", one[1]
    error = two[1].get("error")
    wanted = ErrorCode.BANK_UNKNOWN if same_bank else ErrorCode.BANK_EXISTS
    assert isinstance(error, IdolGuardError) and error.code is wanted, two[1]
    with workspace.sessions() as session:
        assert sorted(session.execute(select(Bank.name)).scalars()) == ["b", "x"]
    assert [e["new_name"] for e in _events(workspace, "bank.rename")] == ["x"]


def test_the_admin_ledger_names_the_new_events_in_both_languages() -> None:
    from idolguard.web.i18n import translator
    from idolguard.web.ledger_view import action_name

    assert action_name("bank.rename", translator("ko")) == "해시 뱅크 이름 변경"
    assert action_name("bank.delete", translator("ko")) == "해시 뱅크 삭제"
    assert action_name("bank.delete", translator("en")) == "Hash bank deleted"


def test_the_rename_kind_mismatch_asks_for_unblocks_the_triage_bank(workspace) -> None:  # type: ignore[no-untyped-def]
    """The case ``bank.kind_mismatch`` tells the reader to rename: a ``negative`` list named ``known_abuse`` is
    renamed away (its entries keep vetoing under the new name), then the triage's bank can be made."""
    create_bank(workspace, "known_abuse", "negative")
    refused = _refused(ErrorCode.BANK_KIND_MISMATCH, ensure_bank, workspace, "known_abuse", "known_abuse")
    assert "bank rename known_abuse" in cli_lang.tr_error(refused, "en")
    assert "bank rename known_abuse" in cli_lang.tr_error(refused, "ko")
    rename_bank(workspace, "known_abuse", "official-media-list", reason="kind mismatch")
    assert ensure_bank(workspace, "known_abuse", "known_abuse").kind == "known_abuse"
    with workspace.sessions() as session:
        kinds = dict(session.execute(select(Bank.name, Bank.kind)).tuples().all())
    assert kinds == {"known_abuse": "known_abuse", "official-media-list": "negative"}
