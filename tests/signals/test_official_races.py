"""``artists official add`` racing ``artists remove`` (and ``artists add`` racing itself), on a real database.

Each side runs in its own thread with its own workspace connection (as two processes would: writers are
serialised by the ledger lock file and, on PostgreSQL, an advisory lock). Events hold one side at the exact
point of the window, so the interleaving is the one under test every time, not a matter of luck. Whatever the
order, the outcome is consistent: either the file is in the collection and the removal is refused, or the
artist is gone, the add says so, and no bank or item row is left for nobody.
"""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.workspace import Workspace
from tests.signals.helpers import in_thread
from tests.signals.test_official_collection import _detector, _enrol

__all__ = ["_detector"]  # the face-model check applies to these tests too (autouse fixture)


def _state(workspace: Workspace) -> tuple[list[str], list[str], list[str]]:
    """(bank names, official item rows, ledger actions about banks and the collection)."""
    from idolguard.signals.models import Bank, OfficialItem

    with workspace.sessions() as session:
        banks = list(session.execute(select(Bank.name).order_by(Bank.name)).scalars())
        items = list(session.execute(select(OfficialItem.item_sha256)).scalars())
        actions = list(
            session.execute(
                select(LedgerEntry.action)
                .where(LedgerEntry.action.like("gallery.official%") | LedgerEntry.action.like("bank.%"))
                .order_by(LedgerEntry.seq)
            ).scalars()
        )
    return banks, items, actions


def _wait(event: threading.Event) -> None:
    assert event.wait(120), "the other side never reached its point"


def test_artist_removed_before_the_run_makes_the_collection(cli, workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The run looked the artist up; the artist is removed before it makes the collection's bank. The run
    refuses with the artist gone and makes no bank: before, it made ``official.NAME`` for a removed artist,
    which stayed (empty, for nobody) and refused the name to the artist's next enrolment."""
    from idolguard.signals import official as official_module
    from idolguard.signals.official import ArtistGone, add_official

    official = _enrol(cli, tmp_path)
    looked_up, removed = threading.Event(), threading.Event()
    real = official_module._enrolled

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        who = real(*args, **kwargs)
        looked_up.set()
        _wait(removed)
        return who

    monkeypatch.setattr(official_module, "_enrolled", held)
    thread, out = in_thread(home, lambda ws: add_official(ws, "Han Yuri", [official]))
    _wait(looked_up)
    cli("artists", "remove", "Han Yuri", "--reason", "contract ended")
    removed.set()
    thread.join(300)
    assert isinstance(out.get("error"), ArtistGone), out
    said = str(out["error"])  # what happened, and what to do about it
    assert "Han Yuri, or their official collection, was removed" in said and "artists official add" in said
    banks, items, actions = _state(workspace)
    assert "official.Han_Yuri" not in banks and items == [] and actions == []
    monkeypatch.setattr(official_module, "_enrolled", real)
    _enrol(cli, tmp_path)  # enrolled again: the name is free, the collection starts afresh
    again = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert again["error"] is None and again["duplicate"] is False and again["entries"] >= 5


def test_artist_removed_while_the_run_hashes(cli, workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The run made the (empty) collection and hashes the file; meanwhile ``artists remove`` succeeds (nothing
    is in the collection yet, so the empty bank goes with the artist). The run then adds nothing and says why
    for that file, instead of failing with a bank lookup error: no bank, no item row, no official event."""
    from idolguard.signals import entries as entries_module
    from idolguard.signals.official import add_official

    official = _enrol(cli, tmp_path)
    hashing, removed = threading.Event(), threading.Event()
    real = entries_module.entries_for_item

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        hashing.set()
        _wait(removed)
        return real(*args, **kwargs)

    monkeypatch.setattr(entries_module, "entries_for_item", held)
    thread, out = in_thread(home, lambda ws: add_official(ws, "Han Yuri", [official]))
    _wait(hashing)
    assert "official.Han_Yuri" in _state(workspace)[0]
    gone = cli("artists", "remove", "Han Yuri", "--reason", "contract ended", "--json")
    assert json.loads(gone.stdout)["removed"] is True
    removed.set()
    thread.join(300)
    assert "error" not in out, out
    _summary, records = out["result"]
    assert len(records) == 1 and records[0]["duplicate"] is False and records[0]["entries"] == 0
    assert "Han Yuri, or their official collection, was removed" in records[0]["error"]
    banks, items, actions = _state(workspace)
    assert banks == [] and items == []
    assert actions == ["bank.create"], "the bank it made, removed with the artist (gallery.unenrol names it)"
    with workspace.sessions() as session:
        unenrol = session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.unenrol")).scalar_one()
    assert unenrol.details["official_banks_removed"] == ["official.Han_Yuri"]
    assert json.loads(cli("verify", "--json").stdout)["problems"] == []


def test_removal_waiting_on_the_add_sees_the_collection_and_refuses(
    cli, workspace, home, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The other order: the run is inside its banking transaction when ``artists remove`` starts. The removal
    waits for the write lock, then finds the file in the collection and refuses (naming the command that
    retires it); the run's file is added once."""
    from idolguard.evidence.ledger import LedgerWriter
    from idolguard.gallery.store import remove_artist
    from idolguard.signals.official import add_official

    official = _enrol(cli, tmp_path)
    inside, go_on = threading.Event(), threading.Event()
    real = LedgerWriter.append

    def held(self, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(getattr(action, "value", action)) == "gallery.official_add":
            inside.set()
            _wait(go_on)
        return real(self, action, *args, **kwargs)

    monkeypatch.setattr(LedgerWriter, "append", held)
    adding, added = in_thread(home, lambda ws: add_official(ws, "Han Yuri", [official]))
    _wait(inside)
    removing, removal = in_thread(home, lambda ws: remove_artist(ws, "Han Yuri", "contract ended"))
    time.sleep(1.0)
    assert removing.is_alive(), "the removal must wait for the add's transaction"
    go_on.set()
    adding.join(300)
    removing.join(300)
    assert "error" not in added, added
    record = added["result"][1][0]
    assert record["error"] is None and record["duplicate"] is False and record["entries"] >= 5
    assert "still has an official collection (1 item(s)" in str(removal.get("error")), removal
    banks, items, actions = _state(workspace)
    assert banks == ["official.Han_Yuri"] and items == [record["sha256"]]
    assert actions == ["bank.create", "bank.add", "gallery.official_add"]
    assert [a["name"] for a in cli.json_lines("artists", "list", "--json")] == ["Han Yuri"]


def test_two_enrolments_of_one_new_name_at_once_make_one_artist(cli, workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``artists add NAME`` twice at once (two agency staff, two processes), both past the face work before
    either writes: one artist, enrolled once as new; the second run adds to it (its identical photo is
    "already enrolled"), and the ledger has both runs."""
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery import store
    from idolguard.gallery.models import Artist, ArtistReference
    from tests.conftest import astronaut
    from tests.signals.helpers import save_jpeg

    refs = tmp_path / "refs"
    refs.mkdir()
    photo = save_jpeg(astronaut().crop((40, 0, 480, 440)), refs / "ref.jpg", quality=92)
    barrier = threading.Barrier(2, timeout=120)
    real = store._lookalikes

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)  # both have looked the gallery over and found no such artist
        barrier.wait()
        return found

    monkeypatch.setattr(store, "_lookalikes", held)
    runs = [
        in_thread(home, lambda ws: store.enrol_artist(ws, "Han Yuri", [photo], analyzer=FaceAnalyzer()))
        for _ in range(2)
    ]
    for thread, _out in runs:
        thread.join(300)
    assert all("error" not in out for _t, out in runs), runs
    assert sorted(out["result"].created for _t, out in runs) == [False, True]
    with workspace.sessions() as session:
        assert session.execute(select(Artist.name)).scalars().all() == ["Han Yuri"]
        assert len(session.execute(select(ArtistReference.id)).all()) == 1
        enrols = session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.enrol")).scalars().all()
    assert sorted(e.details["new_artist"] for e in enrols) == [False, True]


def test_two_removals_of_one_item_at_once_remove_it_once(cli, workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two ``artists official remove ARTIST ITEM`` runs both find the item listed, then take the write lock in
    turn: the first removes it, the second is told the collection has no such item. One
    ``gallery.official_remove`` (before, the second also recorded one, removing nothing)."""
    from idolguard.signals import official as official_module
    from idolguard.signals.official import remove_official

    official = _enrol(cli, tmp_path)
    sha = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]["sha256"]
    barrier = threading.Barrier(2, timeout=120)
    real = official_module.list_official

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        rows = real(*args, **kwargs)  # both have seen the item in the collection
        barrier.wait()
        return rows

    monkeypatch.setattr(official_module, "list_official", held)
    runs = [in_thread(home, lambda ws: remove_official(ws, "Han Yuri", sha[:12], "wrong photo")) for _ in range(2)]
    for thread, _out in runs:
        thread.join(300)
    results = [out.get("result") for _t, out in runs if "result" in out]
    errors = [out.get("error") for _t, out in runs if "error" in out]
    assert len(results) == 1 and results[0]["sha256"] == sha and results[0]["entries_removed"] >= 5, runs
    assert len(errors) == 1 and "official collection has no item matching" in str(errors[0]), runs
    _banks, items, actions = _state(workspace)
    assert items == [] and actions.count("gallery.official_remove") == 1


_HELD_ADD = """
import pathlib, sys, time
from idolguard.signals import entries

real, mine, other = entries.entries_for_item, pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def held(*args, **kwargs):
    mine.touch()  # past "already there?": wait until the other process is too
    deadline = time.monotonic() + 120
    while not other.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return real(*args, **kwargs)

entries.entries_for_item = held
from idolguard.cli import app
app(["artists", "official", "add", "Han Yuri", sys.argv[3], "--json"])
"""


def test_two_processes_adding_the_same_file_at_once_add_it_once(cli, workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same race as ``test_two_runs_adding_the_same_file_at_once_add_it_once``, between two real
    ``idolguard artists official add`` processes (each held past its "already there?" check until the other is
    too, by files): one adds the file, the other says it is already there; one item row, one event."""
    import subprocess
    import sys

    from idolguard.signals.models import OfficialItem

    official = _enrol(cli, tmp_path)
    cli("scan", official)  # stored and hashed: both processes go straight to the check
    flags = [tmp_path / "a.flag", tmp_path / "b.flag"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _HELD_ADD, str(flags[i]), str(flags[1 - i]), str(official)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(flag.exists() for flag in flags), "both processes passed the check before either banked the file"
    records = [json.loads(out.splitlines()[0]) for out, _err in outputs]
    assert sorted(r["duplicate"] for r in records) == [False, True], records
    assert all(r["error"] is None for r in records)
    _banks, items, actions = _state(workspace)
    assert items == [records[0]["sha256"]] and actions.count("gallery.official_add") == 1
    with workspace.sessions() as session:
        assert len(session.execute(select(OfficialItem.item_sha256)).all()) == 1


def test_the_artist_gone_message_says_what_to_do_in_both_languages() -> None:
    """Korean without a doubled particle ("이(가)" after a bracket) and both languages name the next steps."""
    from idolguard.gallery.messages import say

    korean = say("official_artist_gone", "ko", artist="한유리")
    assert "(가)" not in korean and "한유리 또는 그 공식 컬렉션이 삭제되어" in korean
    assert "artists list" in korean and "다시 등록" in korean and "다시 실행하세요" in korean
    english = say("official_artist_gone", "en", artist="Han Yuri")
    assert "check 'idolguard artists list'" in english and "run 'idolguard artists official add' again" in english
