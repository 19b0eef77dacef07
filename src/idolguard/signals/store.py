"""The persisted Hamming indexes of a workspace, kept in step with the bank tables.

Each signal kind with a Hamming index (``pdq`` hashes, ``vpdq`` frame hashes) has a folder under
``HOME/index/``. Its manifest records the bank ``revision`` it reflects; every bank change bumps the revision in
the same transaction as the change. After committing, the writer applies the change to the saved index
incrementally (delta + tombstones) and stamps the new revision. Any reader that finds the folder missing,
unreadable or at another revision (a crash between commit and save, a restored database, another process's
change) rebuilds it from the database, so the index can be wrong only until the next open.

Every load (shared), rebuild and incremental save (exclusive) of one kind's folder happens under that
folder's lock (``HOME/index/KIND.lock``, ``flock``: between processes and threads, each with its own descriptor):
without it two writers after two concurrent bank changes (two first triage confirmations, a reader rebuilding
while a writer applies) interleave their files, and a reader could map one writer's ids beside the other's
hashes.

Disabled entries and banks stay in the index and are filtered when hits are resolved against the database
(which matching does anyway for bank names and thresholds), so enabling/disabling never touches the index.
"""

from __future__ import annotations

import fcntl
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idolguard.signals import types
from idolguard.signals.index import HammingIndex
from idolguard.signals.models import BankEntry, SignalState
from idolguard.signals.pdq import MIN_MATCH_QUALITY
from idolguard.workspace import Workspace

REVISION = "revision"
FRAME_BITS = 20  # vPDQ index ids are (entry id << 20) | position of the frame in the entry
INDEXED = types.indexed_kinds()  # one Hamming index per indexed signal type (pdq, pdq_face, vpdq)


def bump_revision(session: Session) -> int:
    """Increment the bank revision inside the caller's transaction; returns the new value."""
    state = session.get(SignalState, REVISION)
    if state is None:
        state = SignalState(name=REVISION, value=0)
        session.add(state)
        session.flush()
    session.execute(update(SignalState).where(SignalState.name == REVISION).values(value=SignalState.value + 1))
    session.flush()
    session.refresh(state)
    return int(state.value)


def current_revision(session: Session) -> int:
    state = session.get(SignalState, REVISION)
    return int(state.value) if state else 0


def index_rows(entry: BankEntry) -> tuple[list[int], list[str]]:
    """The (index id, hash) rows an entry contributes; low-quality hashes are stored but never indexed."""
    signal_type = types.all_types().get(entry.signal_type)
    if signal_type is None:
        return [], []
    return signal_type.index_rows(entry, MIN_MATCH_QUALITY)


class IndexStore:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.root = ws.home / "index"
        self._loaded: dict[str, tuple[HammingIndex, int]] = {}

    def folder(self, kind: str) -> Path:
        return self.root / kind

    @contextmanager
    def locked(self, kind: str, *, shared: bool = False) -> Iterator[None]:
        """Hold ``kind``'s folder lock: shared to load, exclusive to rebuild or save.

        A node that may only read the workspace (a Ray worker on a read-only mount, another user) cannot
        create or open the lock file for writing: it takes the lock through a read-only descriptor, and where
        even that is refused it loads without one, as readers did before the lock existed (such a node never
        writes the index; a stale or torn read is caught by ``HammingIndex.load``'s checks and the revision)."""
        path = self.root / f"{kind}.lock"
        handle = None
        for mode in ("a+b", "rb"):
            try:
                if mode == "a+b":
                    self.root.mkdir(parents=True, exist_ok=True)
                handle = open(path, mode)  # noqa: SIM115 - closed below, after the lock is released
                break
            except OSError:
                continue
        if handle is None:
            yield
            return
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            except OSError:  # a file system without flock: go on unlocked, as above
                yield
                return
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _load_current(self, kind: str, revision: int) -> HammingIndex | None:
        """The saved index if it is at ``revision`` of this database, else None (missing, partial, stale)."""
        try:
            index, manifest = HammingIndex.load(self.folder(kind))
        except ValueError:
            return None
        if manifest.get("revision") != revision or manifest.get("database") != self._database_id():
            return None
        return index

    def get(self, kind: str) -> HammingIndex:
        """The index for ``kind`` at the database's current revision (loaded, or rebuilt if stale). Readers
        share the lock; only a rebuild takes it alone, after checking again that nobody rebuilt meanwhile."""
        with self.ws.sessions() as session:
            revision = current_revision(session)
        cached = self._loaded.get(kind)
        if cached and cached[1] == revision:
            return cached[0]
        with self.locked(kind, shared=True):
            index = self._load_current(kind, revision)
        if index is None:
            with self.locked(kind):
                index = self._load_current(kind, revision)
                if index is None:
                    return self._rebuild(kind, revision)
        self._loaded[kind] = (index, revision)
        return index

    def rebuild(self, kind: str, revision: int | None = None) -> HammingIndex:
        with self.locked(kind):
            return self._rebuild(kind, revision)

    def _rebuild(self, kind: str, revision: int | None = None) -> HammingIndex:
        ids, hashes = array("q"), bytearray()  # compact buffers: 40 B per entry, not two Python objects
        with self.ws.sessions() as session:
            if revision is None:
                revision = current_revision(session)
            rows = session.execute(
                select(BankEntry).where(BankEntry.signal_type == kind).execution_options(yield_per=10_000)
            ).scalars()
            for entry in rows:
                entry_ids, entry_hashes = index_rows(entry)
                ids.extend(entry_ids)
                for value in entry_hashes:
                    hashes += bytes.fromhex(value)
        index = HammingIndex.build(np.frombuffer(ids, dtype=np.int64), np.frombuffer(bytes(hashes), dtype=np.uint8))
        self._save(index, kind, revision, full=True)
        self._loaded[kind] = (index, revision)
        return index

    def apply(
        self, kind: str, old_revision: int, new_revision: int, added: Iterable[BankEntry], removed: Iterable[int]
    ) -> None:
        """Apply one committed change incrementally, or rebuild if the saved index was not at ``old_revision``."""
        with self.locked(kind):
            try:
                index, manifest = HammingIndex.load(self.folder(kind))
                if manifest.get("revision") != old_revision or manifest.get("database") != self._database_id():
                    raise ValueError("stale")
            except ValueError:
                self._rebuild(kind, new_revision)
                return
            add_ids, add_hashes = array("q"), bytearray()
            for entry in added:
                entry_ids, entry_hashes = index_rows(entry)
                add_ids.extend(entry_ids)
                for value in entry_hashes:
                    add_hashes += bytes.fromhex(value)
            index.add(np.frombuffer(add_ids, dtype=np.int64), np.frombuffer(bytes(add_hashes), dtype=np.uint8))
            removed_ids = list(removed)
            if kind == "vpdq" and removed_ids:
                frame_ids = np.concatenate([np.asarray(index.ids), index._delta()[0]])
                owners = frame_ids >> FRAME_BITS
                index.remove(frame_ids[np.isin(owners, np.array(removed_ids, dtype=np.int64))])
            else:
                index.remove(removed_ids)
            if index.needs_compaction():
                index.compact()
                self._save(index, kind, new_revision, full=True)
            else:
                index.save_delta(self.folder(kind), {"revision": new_revision})
            self._loaded[kind] = (index, new_revision)

    def _save(self, index: HammingIndex, kind: str, revision: int, *, full: bool) -> None:
        index.save(self.folder(kind), {"revision": revision, "database": self._database_id(), "kind": kind})

    def _database_id(self) -> str:
        """Which database the index was built from (a workspace may be pointed at another one)."""
        url = self.ws.engine.url
        return url.set(password=None).render_as_string(hide_password=True) if url.password else str(url)

    def stats(self) -> dict[str, dict[str, int]]:
        out = {}
        for kind in INDEXED:
            index = self.get(kind)
            out[kind] = {"indexed": len(index), "delta": index.delta_size, "tombstones": len(index.dead)}
        return out


class BankReader:
    """The ``banks`` resource: read access to one workspace's banks and their indexes, for the ``match`` and
    ``face_match`` stages.

    The runner makes it in the parent (``load_banks``), which brings every on-disk index up to the current
    bank revision first, so stages only read. It pickles as a ``WorkspaceHandle`` (home + database URL):
    a process-pool worker reopens the same workspace once and maps the same index files.
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._store: IndexStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"handle": self.handle, "_store": None}

    @property
    def workspace(self) -> Workspace:
        ws: Workspace = self.handle.open()
        return ws

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            self._store = IndexStore(self.workspace)
        return self._store


def load_banks(ws: Workspace) -> BankReader:
    from idolguard.pipeline.resources import WorkspaceHandle

    reader = BankReader(WorkspaceHandle.of(ws))
    for kind in INDEXED:
        reader.store.get(kind)  # rebuild a stale index here, in the parent, never inside a stage
    return reader
