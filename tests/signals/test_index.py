from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from idolguard.signals.index import HammingIndex


def _flip(hashes: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def _brute(hashes: np.ndarray, ids: np.ndarray, query: np.ndarray, threshold: int) -> set[int]:
    dist = np.unpackbits(hashes ^ query, axis=1).sum(axis=1)
    return {int(i) for i in ids[dist <= threshold]}


@pytest.mark.parametrize("threshold", [0, 15, 31, 40])
def test_exact_against_brute_force(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    base = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    near = _flip(base[:300], rng, threshold)  # planted at exactly the threshold: the hardest case
    hashes = np.concatenate([base, near])
    ids = np.arange(len(hashes)) + 100
    index = HammingIndex.build(ids, hashes)
    for q in list(base[:40]) + list(_flip(base[40:80], rng, max(threshold // 2, 1))):
        found = {h.entry_id for h in index.query(q, threshold)}
        assert found == _brute(hashes, ids, q, threshold)


def test_incremental_add_remove_compact_and_persist(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    index = HammingIndex.build(np.arange(400), hashes[:400])
    index.add(np.arange(400, 500), hashes[400:])
    assert len(index) == 500 and index.delta_size == 100
    assert [h.entry_id for h in index.query(hashes[450], 0)] == [450]
    index.remove([450, 3])
    assert index.query(hashes[450], 0) == [] and index.query(hashes[3], 0) == []
    index.save(tmp_path / "ix", {"revision": 7})
    loaded, manifest = HammingIndex.load(tmp_path / "ix")
    assert manifest["revision"] == 7 and len(loaded) == 498
    assert loaded.query(hashes[3], 0) == [] and [h.entry_id for h in loaded.query(hashes[499], 0)] == [499]
    loaded.compact()
    assert loaded.delta_size == 0 and len(loaded) == 498 and loaded.query(hashes[450], 0) == []
    assert [h.entry_id for h in loaded.query(hashes[420], 0)] == [420]


def test_corrupt_index_is_refused(tmp_path: Path) -> None:
    index = HammingIndex.build(np.arange(3), np.zeros((3, 32), np.uint8))
    index.save(tmp_path / "ix", {"revision": 1})
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    manifest["base"] = 99
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError):
        HammingIndex.load(tmp_path / "ix")
    (tmp_path / "ix" / "perm.npy").write_bytes(b"junk")
    with pytest.raises(ValueError):
        HammingIndex.load(tmp_path / "ix")


def test_store_rebuilds_stale_or_missing_index(workspace) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from idolguard.signals.banks import NewEntry, add_entries, create_bank
    from idolguard.signals.store import IndexStore

    create_bank(workspace, "b", "partner")
    value = "2d6f1af3a856c529e79ca3d2526fa834d4196c81c6dd04de0a26f855fc99b724"
    add_entries(workspace, "b", [NewEntry("pdq", value)], event_details={})
    folder = IndexStore(workspace).folder("pdq")
    manifest = json.loads((folder / "manifest.json").read_text())
    # incremental: the saved index moved to the new revision without a rebuild of its base
    assert manifest["revision"] >= 2
    shutil.rmtree(folder)
    assert [h.distance for h in IndexStore(workspace).get("pdq").query(value, 0)] == [0]
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["revision"] = 0  # as if a crash happened between a commit and the index update
    (folder / "manifest.json").write_text(json.dumps(manifest))
    add_entries(workspace, "b", [NewEntry("pdq", "f" * 63 + "0")], event_details={})
    index = IndexStore(workspace).get("pdq")
    assert len(index) == 2 and index.query(value, 0)


def test_concurrent_bank_changes_leave_one_consistent_saved_index(workspace) -> None:  # type: ignore[no-untyped-def]
    """Two writers adding entries and a reader opening the index at once (two first triage confirmations,
    a scan loading the banks): the saved index must end at the database's revision with every entry, and no
    thread may fail on a file another thread moved (they once shared temporary names and interleaved)."""
    import threading

    from sqlalchemy import select

    from idolguard.signals.banks import NewEntry, add_entries, create_bank
    from idolguard.signals.models import BankEntry
    from idolguard.signals.store import IndexStore, current_revision

    create_bank(workspace, "b", "partner")
    rng = np.random.default_rng(7)
    values = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(40)]
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(mine: list[str]) -> None:
        try:
            for value in mine:
                add_entries(workspace, "b", [NewEntry("pdq", value)], event_details={})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                IndexStore(workspace).get("pdq")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(values[i::2],)) for i in range(2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert not errors, errors
    with workspace.sessions() as session:
        revision = current_revision(session)
        stored = set(session.scalars(select(BankEntry.id)))
    index, manifest = HammingIndex.load(IndexStore(workspace).folder("pdq"))
    assert manifest["revision"] == revision, "the saved index fell behind the database"
    delta_ids = index._delta()[0]
    live = {int(i) for i in np.concatenate([np.asarray(index.ids), delta_ids])} - index.dead
    assert live == stored
    for value in values:
        assert index.query(value, 0), f"{value} missing from the saved index"


def test_a_node_that_cannot_open_the_lock_still_loads_the_index(workspace) -> None:  # type: ignore[no-untyped-def]
    """A Ray worker on a read-only mount cannot create the lock file: it must still match (load without the
    lock, as before the lock existed) instead of failing every match stage. Here the lock path is a folder,
    which no mode can open, even as root."""
    from idolguard.signals.banks import NewEntry, add_entries, create_bank
    from idolguard.signals.store import IndexStore

    create_bank(workspace, "b", "partner")
    value = "2d6f1af3a856c529e79ca3d2526fa834d4196c81c6dd04de0a26f855fc99b724"
    add_entries(workspace, "b", [NewEntry("pdq", value)], event_details={})
    store = IndexStore(workspace)
    lock = store.root / "pdq.lock"
    lock.unlink()
    lock.mkdir()
    assert [h.distance for h in IndexStore(workspace).get("pdq").query(value, 0)] == [0]
