"""``bank rename`` and ``bank delete`` on real databases (SQLite, and PostgreSQL with IDOLGUARD_TEST_PG).

Renaming keeps every entry (matching finds them under the new name, the saved index stays valid), deleting
removes the bank and its entries from the database and the index; each is one signed ledger event and
``verify`` stays clean. Every refusal is coded (KO/EN) and loses nothing: managed names (official
collections, ``official.*``, ``known_abuse`` of another kind), taken or invalid names, a bank with entries
without ``--force``, and a bank with recorded matches even with it (they are evidence). Two renames at once
are serialised by the write lock: the second sees the first's result.
"""

from __future__ import annotations

import hashlib
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
from tests.signals.helpers import in_thread, other_photo, photo, save_jpeg


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

    # ``bank create`` refuses the managed names as rename does (a bank made before that rule may be in the way).
    _refused(ErrorCode.BANK_NAME_OFFICIAL, create_bank, workspace, "official.Foo", "partner")
    refused = _refused(ErrorCode.BANK_NAME_TRIAGE, create_bank, workspace, "known_abuse", "negative")
    assert refused.params == {"name": "known_abuse", "kind": "negative"}
    with workspace.write() as (session, ledger):  # not a collection: in the way of one (made before the rule)
        new_bank(session, ledger, workspace.actor, "official.taken", "partner")
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
    # The library asks for the reason too (not only the command line): a blank one is no reason.
    refused = _refused(ErrorCode.BANK_FORCE_REASON, delete_bank, workspace, "abuse", force=True, reason="  ")
    assert _entries(workspace) == entries
    with workspace.sessions() as session:
        held = list(session.execute(select(BankEntry.id, BankEntry.signal_type, BankEntry.value)).tuples())
        bank_id = session.execute(select(Bank.id).where(Bank.name == "abuse")).scalar_one()
    lines = sorted(f"{t}\t{v}\n" for _i, t, v in held)
    digest = hashlib.sha256("".join(lines).encode()).hexdigest()

    # --force asks first, as `bank remove` does (review A finding 6): "no" deletes nothing.
    result = cli("bank", "delete", "abuse", "--force", "--reason", "withdrawn", input="n\n", ok=False)
    assert result.exit_code != 0 and "nothing removed" in result.output and _entries(workspace) == entries
    result = cli("bank", "delete", "abuse", "--force", "--reason", "list withdrawn by the partner", "--yes")
    assert f"its {entries} entries" in result.stdout
    assert _entries(workspace) == 0
    assert cli.json_lines("match", copy, "--json")[0]["matches"] == []
    saved, current = _index_revision(workspace)
    assert saved == current  # the deletion was applied to the saved index, not left for a rebuild
    assert _events(workspace, "bank.delete")[-1] == {  # what went, by id and digest (names are reusable)
        "bank": "abuse",
        "bank_id": bank_id,
        "kind": "known_abuse",
        "entries_removed": entries,
        "entry_ids": sorted(i for i, _t, _v in held),
        "entries_sha256": digest,
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
    assert refused.params["hits"] == 1 and refused.params["results"] >= 1  # the stored result, folded first
    cli("bank", "list")  # folds the stored result into entry hits
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "abuse", force=True, reason="r")
    assert refused.params["hits"] == 1
    # Renamed, the stored result still names the old name: its entries still count.
    rename_bank(workspace, "abuse", "renamed")
    _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "renamed", force=True, reason="r")
    assert _entries(workspace) == entries and _events(workspace, "bank.delete") == []
    result = cli("--lang", "ko", "bank", "delete", "renamed", "--force", "--reason", "r", "--yes", ok=False)
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
    real = bank_changes.refuse_reserved

    def held(name: str, kind: str) -> None:
        real(name, kind)
        if not inside.is_set():  # the first rename: hold its transaction open
            inside.set()
            assert released.wait(120)

    monkeypatch.setattr(bank_changes, "refuse_reserved", held)
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
    # Review A finding 7: the new events' detail fields are labelled (and yes/no, kinds said) in Korean.
    from idolguard.web.ledger_view import detail_pairs

    details = {
        "bank": "abuse",
        "bank_id": 4,
        "kind": "known_abuse",
        "entries_removed": 3,
        "entry_ids": [7, 8, 9],
        "entries_sha256": "ab" * 32,
        "forced": True,
        "reason": "withdrawn",
    }
    korean = dict(detail_pairs(details, translator("ko"), "bank.delete"))
    assert korean["뱅크 종류"] == "확인된 악용물" and korean["항목까지 함께 삭제(--force)"] == "예", korean
    assert korean["삭제된 항목 수"] == "3" and korean["삭제된 항목 번호"] == "7, 8, 9", korean
    assert not any(label.isascii() for label in korean), korean  # no raw English key left
    renamed = dict(detail_pairs({"bank": "a", "new_name": "b", "kind": "partner"}, translator("ko"), "bank.rename"))
    assert renamed["새 이름"] == "b" and renamed["뱅크 종류"] == "협력 기관", renamed
    english = dict(detail_pairs(details, translator("en"), "bank.delete"))
    assert english["bank kind"] == "confirmed abuse" and english["with its entries (--force)"] == "yes", english
    # ``kind`` of another event is not called a bank kind.
    assert "bank kind" not in dict(detail_pairs({"kind": "capture_files"}, translator("en"), "export"))


def test_the_rename_kind_mismatch_asks_for_unblocks_the_triage_bank(workspace) -> None:  # type: ignore[no-untyped-def]
    """The case ``bank.kind_mismatch`` tells the reader to rename: a ``negative`` list named ``known_abuse`` is
    renamed away (its entries keep vetoing under the new name), then the triage's bank can be made."""
    with workspace.write() as (session, ledger):  # made before ``bank create`` refused the name for that kind
        new_bank(session, ledger, workspace.actor, "known_abuse", "negative")
    refused = _refused(ErrorCode.BANK_KIND_MISMATCH, ensure_bank, workspace, "known_abuse", "known_abuse")
    assert "bank rename known_abuse" in cli_lang.tr_error(refused, "en")
    assert "bank rename known_abuse" in cli_lang.tr_error(refused, "ko")
    rename_bank(workspace, "known_abuse", "official-media-list", reason="kind mismatch")
    assert ensure_bank(workspace, "known_abuse", "known_abuse").kind == "known_abuse"
    with workspace.sessions() as session:
        kinds = dict(session.execute(select(Bank.name, Bank.kind)).tuples().all())
    assert kinds == {"known_abuse": "known_abuse", "official-media-list": "negative"}


def _hits(ws: Workspace) -> int:
    from idolguard.signals.models import EntryHit

    with ws.sessions() as session:
        return int(session.execute(select(func.count()).select_from(EntryHit)).scalar_one())


@pytest.mark.parametrize("change", ["add", "disable", "enable", "remove-other", "triage"])
def test_a_change_to_another_bank_before_sync_keeps_the_match(cli, workspace, tmp_path: Path, change: str) -> None:  # type: ignore[no-untyped-def]
    """Review A finding 1: a bank change drops stored match results; before that it folds them into entry hits
    and the incident, in the same transaction. So a scanned match survives any change to another bank made
    before ``sync``, and ``bank delete --force`` of the matched bank is still refused."""
    from idolguard.signals.banks import set_enabled

    _original, copy = _banked(cli, tmp_path)
    matched = cli.json_lines("scan", copy, "--json")[0]
    assert matched["matches"] and _hits(workspace) == 0  # stored, not yet folded
    other = save_jpeg(photo(), tmp_path / "other.jpg")  # unrelated to the banked picture
    if change == "triage":
        from idolguard.web.triage import add_to_known_abuse

        scanned = cli.json_lines("scan", other, "--json")[0]
        assert not scanned["matches"] and _hits(workspace) == 0
        add_to_known_abuse(workspace, scanned["sha256"])
    else:
        cli("bank", "create", "other", "--kind", "partner")
        cli("bank", "add", "other", other)
        if change == "disable":
            set_enabled(workspace, "other", None, False)
        elif change == "enable":
            set_enabled(workspace, "other", None, True)
        elif change == "remove-other":
            cli("bank", "remove", "other", "--reason", "test", "--yes")
    with workspace.sessions() as session:
        from idolguard.db.models import StageResult

        stored = session.execute(select(func.count()).select_from(StageResult).where(StageResult.stage == "match"))
        assert stored.scalar_one() == 0  # the bank change did drop the stored results...
    assert _hits(workspace) == 1  # ...but the match was recorded first
    incidents = cli.json_lines("incidents", "list", "--json")
    # The banked original and the copy; a triage confirmation also opens the confirmed item's own incident.
    assert len(incidents) == (2 if change == "triage" else 1)
    assert [i["items"] >= 2 for i in incidents].count(True) == 1  # the copies' incident holds both
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "abuse", force=True, reason="r")
    assert refused.params["hits"] == 1
    assert cli("verify").exit_code == 0


def test_bank_remove_keeps_recorded_matches(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Review A finding 2: ``bank remove`` (whole bank or one entry) refuses what items matched, like ``bank
    delete``, even before ``sync``; an entry nobody matched still goes, and ``bank disable`` retires the rest."""
    from idolguard.signals.banks import remove

    _original, copy = _banked(cli, tmp_path)
    cli("scan", copy)  # stored, not folded: remove folds first
    entries = _entries(workspace)
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, remove, workspace, "abuse", None, reason="r")
    assert refused.params == {"name": "abuse", "hits": 1, "results": 0}
    # The refusal rolled its fold back with everything else: the stored result is still there to fold.
    assert _hits(workspace) == 0
    cli("bank", "list")
    with workspace.sessions() as session:
        from idolguard.signals.models import EntryHit

        hit_entry = session.execute(select(EntryHit.entry_id)).scalar_one()
        other_ids = list(session.execute(select(BankEntry.id).where(BankEntry.id != hit_entry)).scalars())
    refused = _refused(ErrorCode.BANK_ENTRY_HAS_MATCHES, remove, workspace, "abuse", hit_entry, reason="r")
    assert refused.params == {"name": "abuse", "entry": hit_entry, "hits": 1}
    assert _entries(workspace) == entries and _hits(workspace) == 1  # nothing lost
    result = cli("--lang", "ko", "bank", "remove", "abuse", "--reason", "r", "--yes", ok=False)
    assert result.exit_code == 2 and "증거" in result.output, result.output
    if other_ids:  # an entry no item matched may still be removed
        assert remove(workspace, "abuse", other_ids[0], reason="unused hash").entries == 1
    assert _hits(workspace) == 1
    cli("bank", "disable", "abuse")
    assert cli("verify").exit_code == 0


def test_triage_adds_only_to_a_known_abuse_bank_checked_in_the_adding_transaction(workspace) -> None:  # type: ignore[no-untyped-def]
    """Review A finding 4: ``add_entries(expect_kind=...)`` checks the kind inside its own transaction, so a
    ``negative`` bank that took the name after ``ensure_bank`` ran gets nothing (it would veto matches)."""
    from idolguard.signals.banks import NewEntry, add_entries

    with workspace.write() as (session, ledger):
        new_bank(session, ledger, workspace.actor, "known_abuse", "negative")
    refused = _refused(
        ErrorCode.BANK_KIND_MISMATCH,
        add_entries,
        workspace,
        "known_abuse",
        [NewEntry("sha256", "ab" * 32)],
        event_details={},
        expect_kind="known_abuse",
    )
    assert refused.params == {"name": "known_abuse", "kind": "negative", "wanted": "known_abuse"}
    assert _entries(workspace) == 0 and _events(workspace, "bank.add") == []


def test_a_match_computed_before_a_bank_delete_is_not_stored_naming_the_gone_entries(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review A finding 3: a scan matched an entry, then ``bank delete --force`` committed (nothing recorded a
    match yet, so it was allowed), then the scan stores its results. The runner asks the match stages under
    the write lock (``Stage.not_storable``): the match naming the gone entry is left out (logged) instead of a
    signed result naming a bank that no longer exists, and the item is matched again at once (review s8
    finding 2), against the banks as they are now."""
    import logging

    from idolguard.db.models import StageResult
    from idolguard.pipeline import runner

    _original, copy = _banked(cli, tmp_path)
    real = runner.persist_batch
    deleted: list[Any] = []

    def delete_first(ws: Workspace, batch: list[Any]) -> list[str]:
        if not deleted and any(o.stage == "match" and o.output.get("matches") for _s, outs in batch for o in outs):
            deleted.append(delete_bank(ws, "abuse", force=True, reason="withdrawn while a scan ran"))
        return real(ws, batch)

    monkeypatch.setattr(runner, "persist_batch", delete_first)
    with caplog.at_level(logging.WARNING, logger="idolguard.pipeline.runner"):
        scanned = cli.json_lines("scan", copy, "--json")[0]
    assert deleted and deleted[0].entries >= 1  # the delete ran between matching and storing
    assert any("were removed after the scan matched them" in r.getMessage() for r in caplog.records)
    with workspace.sessions() as session:
        stored = list(
            session.execute(
                select(StageResult.output).where(
                    StageResult.item_sha256 == scanned["sha256"], StageResult.stage == "match"
                )
            ).scalars()
        )
    assert [out["matches"] for out in stored] == [[]]  # matched again at once: nothing names the deleted bank
    assert scanned["matches"] == []
    assert cli("verify").exit_code == 0


def test_a_match_stored_after_a_bank_change_is_still_folded(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A bank change folds, then deletes the stored match results; SQLite gives the next row the id after the
    largest one left, i.e. the id of a deleted row the fold's watermark already passed. The fold runs again
    after the delete and brings the watermark back to the rows that remain, so a match stored later is counted:
    here an item scanned before (no match), its original confirmed in the web triage (no new file, so no new
    stored rows), the item scanned again (only the match stages run)."""
    from idolguard.db.models import StageResult
    from idolguard.signals.models import SignalState
    from idolguard.web.triage import add_to_known_abuse

    _banked(cli, tmp_path)
    original = cli.json_lines("scan", save_jpeg(photo(), tmp_path / "p.jpg", quality=95), "--json")[0]
    item = save_jpeg(photo().resize((400, 300)), tmp_path / "item.jpg", quality=60)
    assert cli.json_lines("scan", item, "--json")[0]["matches"] == []
    cli("bank", "list")  # folds: the watermark passes the item's (empty) match results
    add_to_known_abuse(workspace, original["sha256"])  # drops every stored match result
    with workspace.sessions() as session:
        watermark = session.get(SignalState, "incidents_synced").value
        top = session.execute(select(func.max(StageResult.id))).scalar_one() or 0
    assert watermark <= top  # no id above the rows left counts as already folded
    assert cli.json_lines("scan", item, "--json")[0]["matches"]  # only the match stages run again
    cli("bank", "list")
    assert _hits(workspace) == 1
    assert len(cli.json_lines("incidents", "list", "--json")) == 1


def test_a_new_bank_with_a_renamed_banks_old_name_can_be_deleted(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Review A finding 5: stored results keep the name a bank had when they were computed. After renaming A
    to B and creating a new, empty A, those results name "A" but B's entries: they keep B, not the new A."""
    _original, copy = _banked(cli, tmp_path)
    assert cli.json_lines("scan", copy, "--json")[0]["matches"]
    rename_bank(workspace, "abuse", "abuse-2025")
    create_bank(workspace, "abuse", "partner")
    assert delete_bank(workspace, "abuse").entries == 0  # the results naming "abuse" are abuse-2025's
    refused = _refused(ErrorCode.BANK_HAS_MATCHES, delete_bank, workspace, "abuse-2025", force=True, reason="r")
    assert refused.params["hits"] == 1 and refused.params["results"] >= 1


def test_a_stored_match_replaced_by_a_new_analysis_is_recorded_first(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A stored ``match`` result not yet folded, replaced by the runner with an output of the same version
    computed from other upstream outputs (here one that finds nothing, as a re-analysis from changed hashes
    could): the runner folds before it deletes the old row, so the item's hit and incident stay."""
    from idolguard.pipeline.runner import INPUTS_KEY, StageOutcome, persist_batch
    from idolguard.signals.stage import MATCH_VERSION

    _original, copy = _banked(cli, tmp_path)
    scanned = cli.json_lines("scan", copy, "--json")[0]
    assert scanned["matches"] and _hits(workspace) == 0  # stored, not folded yet
    other_inputs = {"signals": {"version": "0", "inputs": {}}}  # as if computed from other hashes
    replacement = StageOutcome("match", MATCH_VERSION, "ok", {"matches": [], INPUTS_KEY: other_inputs}, None, 1)
    persist_batch(workspace, [(scanned["sha256"], [replacement])])
    from idolguard.db.models import StageResult

    with workspace.sessions() as session:
        stored = session.execute(
            select(StageResult.output).where(StageResult.item_sha256 == scanned["sha256"], StageResult.stage == "match")
        ).scalar_one()
    assert stored["matches"] == []  # the old result was replaced...
    cli("bank", "list")
    assert _hits(workspace) == 1  # ...after its match was recorded
    assert len(cli.json_lines("incidents", "list", "--json")) == 1
    assert cli("verify").exit_code == 0
