"""``artists official add|list|remove`` and source attribution on video face tracks.

Benign media only: the public-domain astronaut portrait is the artist's "official photo"; suspects re-use
its face region on another public-domain photo (scikit-image's coffee). The clip's second face is the same
head blurred and noised until no copied detail is left. No face is swapped onto another person.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from tests.conftest import astronaut
from tests.signals.helpers import other_photo, save_jpeg


@pytest.fixture(autouse=True)
def _detector() -> None:
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable

    try:
        get_detector()
    except ModelUnavailable as exc:  # only a missing model file skips; any other failure is a failure
        pytest.skip(f"face detector model unavailable: {exc}")


def _enrol(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Enrol the artist (one reference photo) and return the 'official photo'."""
    refs = tmp_path / "refs"
    refs.mkdir(exist_ok=True)
    save_jpeg(astronaut().crop((40, 0, 480, 440)), refs / "ref.jpg", quality=92)
    cli("artists", "add", "Han Yuri", "--photos", refs, "--alias", "hangul:한유리")
    return save_jpeg(astronaut(), tmp_path / "official.jpg", quality=95)


def _head(blurred: bool = False) -> Image.Image:
    head = astronaut().crop((120, 0, 360, 260)).resize((216, 234), Image.Resampling.BICUBIC).rotate(3)
    if not blurred:
        return head
    rng = np.random.default_rng(0)
    soft = np.asarray(head.filter(ImageFilter.GaussianBlur(3))).astype(np.float64)
    return Image.fromarray(np.clip(soft + rng.normal(0, 6, soft.shape), 0, 255).astype(np.uint8))


def _clip(path: Path, seconds: float = 3.0, fps: int = 5) -> Path:
    """Two faces drifting slowly on the coffee photo: left the official face (copied pixels), right the
    blurred, noised head. H.264 CRF 23."""
    import av

    copied, other = np.asarray(_head()), np.asarray(_head(blurred=True))
    background = np.asarray(other_photo((640, 360)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "23"}
        frames = int(seconds * fps)
        for i in range(frames):
            canvas = background.copy()
            dx = int(round(6 * i / max(1, frames - 1)))
            canvas[60 : 60 + 234, 40 + dx : 40 + dx + 216] = copied
            canvas[70 : 70 + 234, 380 - dx : 380 - dx + 216] = other
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _official_events(workspace) -> list[LedgerEntry]:  # type: ignore[no-untyped-def]
    with workspace.sessions() as session:
        rows = session.execute(select(LedgerEntry).where(LedgerEntry.action.like("gallery.official%"))).scalars()
        return list(rows)


def test_official_add_list_remove_with_clear_refusals(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    official = _enrol(cli, tmp_path)
    media = tmp_path / "media"
    media.mkdir()
    corrupt = media / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    faceless = save_jpeg(other_photo(), media / "coffee.jpg")
    # Unknown artist: a usage error naming the closest known name; nothing is ingested.
    result = cli("artists", "official", "add", "Han Yuro", official, ok=False)
    assert result.exit_code == 2 and "no artist named 'Han Yuro'" in result.output and "Han Yuri" in result.output
    # The artist by an alias; a corrupt file and a faceless photo are refused with their reasons, the
    # official photo is added (the same file twice: once added, once a duplicate).
    result = cli("artists", "official", "add", "한유리", official, corrupt, faceless, official, "--json", ok=False)
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_name = {Path(r["path"]).name: r for r in rows[:-1]}
    assert "readable photo or video" in by_name["broken.jpg"]["error"]
    assert "no face found" in by_name["coffee.jpg"]["error"]
    added = [r for r in rows[:-1] if Path(r["path"]).name == "official.jpg"]
    assert [r["duplicate"] for r in added] == [False, True]
    assert added[0]["error"] is None and added[0]["faces"] == 1 and added[0]["pdq_inner"] >= 5
    assert "already in Han Yuri's official collection" in added[1]["notes"][0]
    summary = rows[-1]["summary"]
    assert summary == {"artist": "Han Yuri", "bank": "official.Han_Yuri", "added": 1, "duplicates": 1, "failed": 2}
    # Added again later: a duplicate, exit 0, nothing new in the ledger.
    again = cli.json_lines("artists", "official", "add", "han yuri", official, "--json")
    assert again[0]["duplicate"] and again[-1]["summary"]["added"] == 0
    events = _official_events(workspace)
    assert [e.action for e in events] == ["gallery.official_add"]
    assert events[0].item_sha256 == added[0]["sha256"] and events[0].details["artist"] == "Han Yuri"
    # Listed per artist (by any name) and overall; the bank is an ordinary negative bank.
    listed = cli.json_lines("artists", "official", "list", "Han Yuri", "--json")
    assert [(r["sha256"], r["faces"], r["media_type"]) for r in listed] == [(added[0]["sha256"], 1, "image")]
    assert cli.json_lines("artists", "official", "list", "--json") == listed
    banks = {b["name"]: b for b in cli.json_lines("bank", "list", "--json")}
    assert banks["official.Han_Yuri"]["kind"] == "negative"
    text = cli("artists", "official", "list").output
    assert "official.jpg" in text and "1 official item(s)" in text
    # Remove: by a SHA-256 prefix; an unknown reference is a clear usage error.
    missing = cli("artists", "official", "remove", "Han Yuri", "deadbeef00", "--reason", "test", ok=False)
    assert missing.exit_code == 2 and "has no item matching 'deadbeef00'" in missing.output
    removed = cli.json_lines(
        "artists", "official", "remove", "Han Yuri", added[0]["sha256"][:12], "--reason", "wrong photo", "--json"
    )[0]
    assert removed["entries_removed"] == added[0]["entries"]
    assert cli.json_lines("artists", "official", "list", "--json") == []
    assert workspace.vault.has(added[0]["sha256"]), "the vault keeps the removed item"
    events = _official_events(workspace)
    assert events[-1].action == "gallery.official_remove" and events[-1].details["reason"] == "wrong photo"


def test_korean_messages(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _enrol(cli, tmp_path)
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    faceless = save_jpeg(other_photo(), tmp_path / "coffee.jpg")
    rows = cli.json_lines("artists", "official", "add", "Han Yuri", faceless, "--json", ok=False)
    assert rows[0]["error"].startswith("얼굴을 찾지 못했습니다")
    result = cli("artists", "official", "add", "Nobody", faceless, ok=False)
    assert "아티스트가 없습니다" in result.output
    result = cli("artists", "official", "add", "Han Yuri", faceless, ok=False)
    assert "거부됨: 얼굴을 찾지 못했습니다" in result.output and "공식 컬렉션(뱅크 official.Han_Yuri)" in result.output
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    result = cli("--lang", "ko", "artists", "official", "add", "Han Yuri", faceless, ok=False)
    assert "거부됨: 얼굴을 찾지 못했습니다" in result.output, "--lang ko: the refusal reasons are Korean too"


def test_video_tracks_are_attributed_to_the_official_photo(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    official = _enrol(cli, tmp_path)
    added = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    clip = _clip(tmp_path / "clip.mp4")
    scanned = cli.json_lines("scan", clip, "--json")[0]
    tracks = {f["track_id"]: f for f in scanned["faces"]}
    assert len(tracks) == 2, scanned["faces"]
    found = scanned["source_attribution"]
    assert len(found) == 1, found
    hit = found[0]
    left = min(tracks.values(), key=lambda f: f["bbox"][0])
    assert hit["track_id"] == left["track_id"] and hit["face"] == left["index"]
    assert hit["official_item"] == added["sha256"] and hit["bank"] == "official.Han_Yuri"
    assert hit["inliers"] >= 60 and 1 <= hit["frames_verified"] <= hit["frames_checked"] <= 4
    assert isinstance(hit["t"], float) and isinstance(hit["frame_index"], int)
    assert workspace.vault.has(hit["pair_sha256"])
    report = tmp_path / "report.html"
    cli("scan", clip, "--report", report)
    text = report.read_text(encoding="utf-8")
    assert f"track {hit['track_id']}" in text and added["sha256"] in text


def test_an_official_video_is_searched_by_its_keyframes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _enrol(cli, tmp_path)
    official_clip = _clip(tmp_path / "official-clip.mp4")
    added = cli.json_lines("artists", "official", "add", "Han Yuri", official_clip, "--json")[0]
    assert added["error"] is None and added["media_type"] == "video" and added["faces"] >= 2
    # A photo re-using the clip's copied face: attributed to the video, naming the keyframe.
    canvas = other_photo((640, 480))
    canvas.paste(_head(), (300, 120))
    suspect = save_jpeg(canvas, tmp_path / "suspect.jpg", quality=85)
    found = cli.json_lines("scan", suspect, "--json")[0]["source_attribution"]
    assert found and found[0]["official_item"] == added["sha256"]
    assert isinstance(found[0]["official_frame"], int) and found[0]["official_t"] >= 0.0


def test_official_event_and_bank_entries_are_one_transaction(cli, workspace, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A failure while the official-add event is written leaves no bank entries behind (nothing half done);
    the same command run again adds the photo with its event instead of calling it a duplicate."""
    from idolguard.evidence.ledger import LedgerWriter as Ledger
    from idolguard.signals.models import BankEntry

    official = _enrol(cli, tmp_path)
    real_append = Ledger.append

    def failing_append(self, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(getattr(action, "value", action)) == "gallery.official_add":
            raise OSError(28, "No space left on device")  # the disk fills exactly between the two writes
        return real_append(self, action, *args, **kwargs)

    monkeypatch.setattr(Ledger, "append", failing_append)
    with pytest.raises(OSError):  # (the runner lets it through; the real entry point reports a full disk)
        cli("artists", "official", "add", "Han Yuri", official, ok=False)
    with workspace.sessions() as session:
        assert session.execute(select(BankEntry.id)).first() is None  # rolled back with the event
    assert _official_events(workspace) == []
    monkeypatch.setattr(Ledger, "append", real_append)
    rows = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")
    assert rows[0]["duplicate"] is False and rows[0]["entries"] >= 5 and rows[-1]["summary"]["added"] == 1
    events = _official_events(workspace)
    assert [e.action for e in events] == ["gallery.official_add"]
    assert events[0].details["entries"] == rows[0]["entries"]


def test_two_runs_adding_the_same_file_at_once_add_it_once(cli, workspace, home, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two ``artists official add`` runs of one file in two threads, each with its own workspace connection, both
    held at hashing until the other has also passed the "already there?" check: the database lets one add the
    file; the other is told "already there" exactly as a later run is, and the ledger records one addition."""
    import threading

    from idolguard.signals import entries as entries_module
    from idolguard.signals.models import OfficialItem
    from idolguard.signals.official import add_official
    from idolguard.workspace import Workspace

    official = _enrol(cli, tmp_path)
    cli("scan", official)  # stored and hashed once: the racing runs find it again, as a second upload would
    barrier = threading.Barrier(2, timeout=120)
    real = entries_module.entries_for_item

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()  # both runs have checked "already there?" and found nothing
        return real(*args, **kwargs)

    monkeypatch.setattr(entries_module, "entries_for_item", held)
    outcomes: list[dict] = []
    errors: list[BaseException] = []

    def run() -> None:
        ws = Workspace.open(home)
        try:
            outcomes.extend(add_official(ws, "Han Yuri", [official])[1])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            ws.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sorted(r["duplicate"] for r in outcomes) == [False, True], outcomes
    winner, loser = sorted(outcomes, key=lambda r: r["duplicate"])
    assert winner["error"] is None and winner["entries"] >= 5
    assert loser["error"] is None and loser["entries"] == 0
    assert len(loser["notes"]) == 1
    assert loser["notes"][0].startswith("already in Han Yuri's official collection (added ")
    monkeypatch.setattr(entries_module, "entries_for_item", real)
    later = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert later["duplicate"] and later["notes"] == loser["notes"], "the loser reads like a sequential duplicate"
    assert [e.action for e in _official_events(workspace)] == ["gallery.official_add"]
    with workspace.sessions() as session:
        assert session.execute(select(OfficialItem.item_sha256)).scalars().all() == [winner["sha256"]]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_artist_removal_waits_for_the_official_collection_retired_in_one_transaction(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path, monkeypatch
) -> None:
    """``artists remove`` refuses while the artist's official collection holds anything and says what to run;
    ``artists official remove ARTIST --all`` retires it in one transaction (a full disk at its last event leaves
    everything as it was); then the artist goes, ``verify`` is clean and a re-enrolled artist starts afresh."""
    from idolguard.evidence.ledger import LedgerWriter as Ledger
    from idolguard.signals.models import Bank, BankEntry, OfficialItem

    official = _enrol(cli, tmp_path)
    added = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    refused = cli("artists", "remove", "한유리", "--reason", "contract ended", ok=False)
    text = _flat(refused.output)
    assert refused.exit_code == 2 and "Han Yuri still has an official collection (1 item(s)" in text
    assert "idolguard artists official remove 'Han Yuri' --all --reason" in text
    assert [a["name"] for a in cli.json_lines("artists", "list", "--json")] == ["Han Yuri"]
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    assert "Han Yuri에게 아직 공식 컬렉션이 있습니다" in _flat(cli("artists", "remove", "Han Yuri", ok=False).output)
    monkeypatch.setenv("IDOLGUARD_LANG", "en")

    def counts() -> tuple[int, int, int]:
        with workspace.sessions() as session:
            return tuple(  # type: ignore[return-value]
                len(session.execute(select(model)).all()) for model in (Bank, BankEntry, OfficialItem)
            )

    before = counts()
    real_append = Ledger.append

    def failing_append(self, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(getattr(action, "value", action)) == "bank.remove":
            raise OSError(28, "No space left on device")  # after the per-item events and the deletions
        return real_append(self, action, *args, **kwargs)

    monkeypatch.setattr(Ledger, "append", failing_append)
    with pytest.raises(OSError):
        cli("artists", "official", "remove", "Han Yuri", "--all", "--reason", "contract ended", ok=False)
    monkeypatch.setattr(Ledger, "append", real_append)
    assert counts() == before and before[1] >= 5
    assert [e.action for e in _official_events(workspace)] == ["gallery.official_add"]
    both = cli("artists", "official", "remove", "Han Yuri", added["sha256"][:12], "--all", "--reason", "x", ok=False)
    assert both.exit_code == 2 and "either one ITEM or --all" in both.output
    retired = cli.json_lines(
        "artists", "official", "remove", "Han Yuri", "--all", "--reason", "contract ended", "--json"
    )[0]
    assert retired == {
        "artist": "Han Yuri",
        "bank": "official.Han_Yuri",
        "items": [added["sha256"]],
        "entries_removed": added["entries"],
    }
    assert counts() == (before[0] - 1, before[1] - added["entries"], 0)
    assert workspace.vault.has(added["sha256"]), "the vault keeps the files"
    events = _official_events(workspace)
    assert [e.action for e in events] == ["gallery.official_add", "gallery.official_remove"]
    assert events[-1].item_sha256 == added["sha256"] and events[-1].details["reason"] == "contract ended"
    removed = cli("artists", "remove", "Han Yuri", "--reason", "contract ended", "--json")
    assert json.loads(removed.stdout)["removed"] is True
    checked = cli("verify", "--json")
    assert json.loads(checked.stdout)["problems"] == [] and "official collection" not in checked.stdout
    official = _enrol(cli, tmp_path)  # the same artist again (a new id): their collection starts afresh
    again = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert again["duplicate"] is False and again["error"] is None


def test_an_empty_collection_goes_with_its_artist_and_leftovers_are_flagged(
    cli, workspace, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A collection bank with nothing in it (every file refused) is removed with the artist, named in the
    ``gallery.unenrol`` event. A collection left by a removal from before the refusal: ``verify`` warns (KO/EN)
    and names the command; the web artist list never counts it for an artist enrolled later under that name."""
    from sqlalchemy import delete

    from idolguard.gallery.models import Artist, ArtistAlias, ArtistReference
    from idolguard.signals.official import official_counts

    _enrol(cli, tmp_path)
    faceless = save_jpeg(other_photo(), tmp_path / "coffee.jpg")
    cli("artists", "official", "add", "Han Yuri", faceless, ok=False)
    assert "official.Han_Yuri" in {b["name"] for b in cli.json_lines("bank", "list", "--json")}
    cli("artists", "remove", "Han Yuri", "--reason", "test")
    assert "official.Han_Yuri" not in {b["name"] for b in cli.json_lines("bank", "list", "--json")}
    with workspace.sessions() as session:
        unenrol = session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.unenrol")).scalar_one()
    assert unenrol.details["official_banks_removed"] == ["official.Han_Yuri"]

    official = _enrol(cli, tmp_path)
    cli("artists", "official", "add", "Han Yuri", official)
    assert official_counts(workspace) == {"Han Yuri": 1}
    with workspace.sessions() as session:  # what `artists remove` did before it refused: the artist only
        artist_id = session.execute(select(Artist.id)).scalar_one()
        for model in (ArtistReference, ArtistAlias):
            session.execute(delete(model).where(model.artist_id == artist_id))
        session.execute(delete(Artist).where(Artist.id == artist_id))
        session.commit()
    checked = cli("verify")
    assert checked.exit_code == 0
    text = _flat(checked.output)
    assert f"official collection of artist #{artist_id}, who is no longer enrolled" in text
    assert "idolguard bank remove official.Han_Yuri --reason" in text
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    assert f"더 이상 등록되어 있지 않은 아티스트 #{artist_id}의 공식 컬렉션" in _flat(cli("verify").output)
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    _enrol(cli, tmp_path)  # the same name, a new artist: the old bank is not theirs
    assert official_counts(workspace) == {}
    listed = cli.json_lines("artists", "official", "list", "Han Yuri", "--json")
    assert listed == []


def test_verify_is_clean_after_an_official_item_is_removed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Removing an official item drops the stored match, face-match and attribution results (the next scan
    recomputes them): ``verify`` takes ``gallery.official_remove`` as the bank change it is, and still finds the
    attribution's face pair named by the analysis that made it."""
    official = _enrol(cli, tmp_path)
    added = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    canvas = other_photo((640, 480))
    canvas.paste(_head(), (300, 120))
    suspect = save_jpeg(canvas, tmp_path / "suspect.jpg", quality=85)
    assert cli.json_lines("scan", suspect, "--json")[0]["source_attribution"]
    cli("artists", "official", "remove", "Han Yuri", added["sha256"][:12], "--reason", "wrong photo")
    report = json.loads(cli("verify", "--json").stdout)
    assert report["ok"] and report["problems"] == []
    assert not cli.json_lines("scan", suspect, "--json")[0]["source_attribution"]
    assert json.loads(cli("verify", "--json").stdout)["problems"] == []


def test_generic_bank_remove_keeps_the_collection_consistent(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path, monkeypatch
) -> None:
    """``bank remove official.X ENTRY`` of an item's last entry takes the item out of the collection in the same
    transaction (its ``signal_official_items`` row and a ``gallery.official_remove`` event): the file can be added
    again afterwards instead of being told "already there", and ``verify`` stays clean. Removing the whole bank
    records each item leaving as ``--all`` does."""
    from idolguard.signals.models import BankEntry, OfficialItem

    official = _enrol(cli, tmp_path)
    added = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    sha = added["sha256"]

    def items() -> list[str]:
        with workspace.sessions() as session:
            return list(session.execute(select(OfficialItem.item_sha256)).scalars())

    with workspace.sessions() as session:
        ids = list(session.execute(select(BankEntry.id).where(BankEntry.source_item == sha).order_by(BankEntry.id)))
    ids = [i for (i,) in ids]
    assert len(ids) == added["entries"] >= 2
    for entry in ids[:-1]:  # one hash at a time: the item stays in the collection while it has any
        said = cli("bank", "remove", "official.Han_Yuri", entry, "--reason", "bad crop", "--yes")
        assert "left the official collection" not in said.output
    assert items() == [sha]
    assert [e.action for e in _official_events(workspace)] == ["gallery.official_add"]
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    last = cli("bank", "remove", "official.Han_Yuri", ids[-1], "--reason", "wrong photo", "--yes")
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    assert f"{sha[:12]}…은(는) official.Han_Yuri의 공식 컬렉션에서 빠졌습니다" in _flat(last.output)
    assert items() == []
    events = _official_events(workspace)
    assert [e.action for e in events] == ["gallery.official_add", "gallery.official_remove"]
    assert events[-1].item_sha256 == sha
    assert events[-1].details == {
        "artist": "Han Yuri",
        "bank": "official.Han_Yuri",
        "entries_removed": 1,
        "reason": "wrong photo",
        "via": "bank remove",
    }
    assert cli.json_lines("artists", "official", "list", "--json") == []
    assert json.loads(cli("verify", "--json").stdout)["problems"] == []
    again = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert again["duplicate"] is False and again["error"] is None and again["entries"] == added["entries"]
    assert items() == [sha]
    # The whole bank: every item leaves the collection, recorded before the bank.remove, in one transaction.
    gone = cli("bank", "remove", "official.Han_Yuri", "--reason", "contract ended", "--yes")
    assert f"{sha[:12]}… left the official collection in official.Han_Yuri" in _flat(gone.output)
    assert items() == []
    with workspace.sessions() as session:
        tail = session.execute(select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(2)).scalars().all()
    assert [e.action for e in reversed(tail)] == ["gallery.official_remove", "bank.remove"]
    assert tail[1].details["entries_removed"] == added["entries"] and tail[1].item_sha256 == sha
    assert json.loads(cli("verify", "--json").stdout)["problems"] == []
    third = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert third["duplicate"] is False and third["error"] is None


def test_an_item_row_left_by_an_older_bank_remove_is_repaired_on_re_adding(cli, workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A workspace where ``bank remove`` deleted an item's hashes before it took the item out of the collection
    (the row stayed): adding the file again adds it (not "already there"), and the ledger says the item left
    (``via``: ``repair``) before it came back. ``verify`` stays clean."""
    from sqlalchemy import delete

    from idolguard.signals.models import BankEntry, OfficialItem

    official = _enrol(cli, tmp_path)
    sha = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]["sha256"]
    with workspace.sessions() as session:  # what the older bank remove left: the hashes gone, the row kept
        session.execute(delete(BankEntry).where(BankEntry.source_item == sha))
        session.commit()
    again = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert again["duplicate"] is False and again["error"] is None and again["entries"] >= 5
    with workspace.sessions() as session:
        assert list(session.execute(select(OfficialItem.item_sha256)).scalars()) == [sha]
    events = _official_events(workspace)
    assert [e.action for e in events] == ["gallery.official_add", "gallery.official_remove", "gallery.official_add"]
    assert events[1].item_sha256 == sha and events[1].details["via"] == "repair"
    assert events[1].details["entries_removed"] == 0
    third = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")[0]
    assert third["duplicate"] is True and len(_official_events(workspace)) == 3
    assert json.loads(cli("verify", "--json").stdout)["problems"] == []
