"""An exact Hamming-radius index for 256-bit hashes: multi-index hashing with a size-adapted chunk layout.

Why this design: matching must find *every* bank entry within the threshold (a missed re-upload is a missed
takedown), so approximate graphs are out. The 256 bits are cut into ``m`` contiguous chunks; by the
pigeonhole principle two hashes within distance ``t`` agree to within ``t // m`` bits on at least one chunk.
For each chunk the rows are kept sorted by chunk value (CSR: ``perm`` + ``offsets``), so a query probes every
value within that radius directly (no hash sets, no per-query allocation storm as in faiss' multi-hash index)
and verifies the candidates with a vectorised popcount.

The chunk width follows the index size (about log2(N) bits, at least 11 chunks): buckets then hold about one row
each, so the candidate count stays in the low thousands at 10M (16-bit chunks would give ~40k candidates and
~20 ms per query there; measured in ``bench/index_scale.py``). At 10M: 11 chunks of 23-24 bits, radius 2,
~3,000 probes and ~3,000 candidates. Memory: 32 B (hash) + 8 B (id) + 4*m B (permutations) per entry, plus
4 B per possible chunk value.

Updates stay incremental: new entries go to a small ``delta`` scanned by brute force, removed entries are
tombstoned by id, and ``compact()`` folds both into a fresh base when the delta grows. Everything persists as
plain ``.npy`` files that are memory-mapped on load, so a CLI start does not read 1 GB into RAM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

HASH_BITS = 256
HASH_BYTES = 32
MIN_CHUNKS = 11  # radius 2 at threshold 31; at most 23.3 bits per chunk
FORMAT = "idolguard-mih-v2"


def _masks(width: int, radius: int) -> np.ndarray:
    """All ``width``-bit masks with at most ``radius`` bits set (the probe offsets within one chunk)."""
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(width), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


def layout_for(count: int) -> list[tuple[int, int]]:
    """Chunk boundaries [(start bit, end bit), ...]: about log2(count) bits per chunk, at least 11 chunks."""
    width = max(8.0, float(np.log2(max(count, 2))))
    chunks = max(MIN_CHUNKS, round(HASH_BITS / width))
    edges = np.linspace(0, HASH_BITS, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def chunk_values(hashes: np.ndarray, start: int, end: int) -> np.ndarray:
    """Integer value of bits [start, end) of each hash (bit 0 = most significant bit of byte 0)."""
    words = hashes.view(">u8").reshape(-1, 4).astype(np.uint64)
    width = end - start
    first, last = start // 64, (end - 1) // 64
    if first == last:
        shift = 64 - (end - 64 * first)
        value = words[:, first] >> np.uint64(shift)
    else:
        low_bits = end - 64 * last  # bits taken from the second word
        value = (words[:, first] << np.uint64(low_bits)) | (words[:, last] >> np.uint64(64 - low_bits))
    return (value & np.uint64((1 << width) - 1)).astype(np.int64)


def as_hash_array(hashes: Any) -> np.ndarray:
    """Hex strings, bytes or an (N, 32) uint8 array -> contiguous (N, 32) uint8."""
    if isinstance(hashes, np.ndarray):
        array = np.ascontiguousarray(hashes, dtype=np.uint8)
    else:
        items = [bytes.fromhex(h) if isinstance(h, str) else bytes(h) for h in hashes]
        array = np.frombuffer(b"".join(items), dtype=np.uint8) if items else np.zeros(0, np.uint8)
    return array.reshape(-1, HASH_BYTES)


@dataclass
class Hit:
    entry_id: int
    distance: int


class HammingIndex:
    def __init__(self) -> None:
        self.hashes = np.zeros((0, HASH_BYTES), np.uint8)
        self.ids = np.zeros(0, np.int64)
        self.layout: list[tuple[int, int]] = layout_for(0)
        self.perm = np.zeros(0, np.int32)  # per chunk, row numbers sorted by chunk value, concatenated
        self.offsets = np.zeros(0, np.int64)  # per chunk, CSR offsets (2**width + 1), concatenated
        self.offset_starts = np.zeros(len(self.layout), np.int64)
        self.delta_hashes: list[np.ndarray] = []
        self.delta_ids: list[np.ndarray] = []
        self.dead: set[int] = set()
        self._delta_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._mask_cache: dict[tuple[int, int], np.ndarray] = {}

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: np.ndarray, hashes: Any) -> HammingIndex:
        index = cls()
        index._set_base(np.asarray(ids, dtype=np.int64), as_hash_array(hashes))
        return index

    def _set_base(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        count = len(ids)
        if count >= 2**31:
            raise ValueError("index holds at most 2^31 hashes")
        layout = layout_for(count)
        perm = np.empty(len(layout) * count, np.int32)
        offsets_parts = []
        block = 1 << 20
        for j, (start, end) in enumerate(layout):
            column = (
                np.concatenate([chunk_values(hashes[i : i + block], start, end) for i in range(0, count, block)])
                if count
                else np.zeros(0, np.int64)
            )
            perm[j * count : (j + 1) * count] = np.argsort(column, kind="stable")
            offsets = np.zeros((1 << (end - start)) + 1, np.int32 if count < 2**31 else np.int64)
            np.cumsum(np.bincount(column, minlength=1 << (end - start)), out=offsets[1:])
            offsets_parts.append(offsets)
            del column
        self.layout = layout
        self.offset_starts = np.cumsum([0] + [len(o) for o in offsets_parts[:-1]]).astype(np.int64)
        self.offsets = np.concatenate(offsets_parts)
        self.hashes, self.ids, self.perm = hashes, ids, perm

    def add(self, ids: Any, hashes: Any) -> None:
        """Add entries without rebuilding (they are searched by brute force until ``compact``)."""
        array = as_hash_array(hashes)
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(array) != len(id_array):
            raise ValueError("ids and hashes differ in length")
        if len(array):
            self.delta_hashes.append(array)
            self.delta_ids.append(id_array)
            self.dead.difference_update(int(i) for i in id_array)
            self._delta_cache = None

    def remove(self, ids: Any) -> None:
        self.dead.update(int(i) for i in np.asarray(ids, dtype=np.int64).reshape(-1))

    def _delta(self) -> tuple[np.ndarray, np.ndarray]:
        if self._delta_cache is None:
            if self.delta_ids:
                self._delta_cache = (np.concatenate(self.delta_ids), np.concatenate(self.delta_hashes))
            else:
                self._delta_cache = (np.zeros(0, np.int64), np.zeros((0, HASH_BYTES), np.uint8))
        return self._delta_cache

    @property
    def delta_size(self) -> int:
        return len(self._delta()[0])

    def __len__(self) -> int:
        return len(self.ids) + self.delta_size - len(self.dead)

    def needs_compaction(self) -> bool:
        return self.delta_size > max(65_536, len(self.ids) // 8) or len(self.dead) > max(1024, len(self.ids) // 5)

    def compact(self) -> None:
        """Fold the delta and the tombstones into a fresh base (the only full rebuild)."""
        delta_ids, delta_hashes = self._delta()
        ids = np.concatenate([np.asarray(self.ids), delta_ids])
        hashes = np.concatenate([np.asarray(self.hashes), delta_hashes])
        if self.dead:
            keep = ~np.isin(ids, np.fromiter(self.dead, np.int64, len(self.dead)))
            ids, hashes = ids[keep], hashes[keep]
        self.delta_hashes, self.delta_ids, self.dead, self._delta_cache = [], [], set(), None
        self._set_base(ids, np.ascontiguousarray(hashes))

    # -- queries ---------------------------------------------------------------------------------------------
    def query(self, query: Any, threshold: int = 31) -> list[Hit]:
        """Every live entry within ``threshold`` bits of ``query`` (exact), nearest first."""
        q = as_hash_array([query] if isinstance(query, (str, bytes)) else query)[0]
        q64 = q.view(np.uint64)
        found_ids: list[np.ndarray] = []
        found_dist: list[np.ndarray] = []
        if len(self.ids):
            rows = self._candidates(q, threshold) if self._probes(threshold) * 8 < len(self.ids) else None
            if rows is None:  # a wide radius probes more buckets than there are rows: scan everything
                rows = np.arange(len(self.ids), dtype=np.int64)
            if len(rows):
                hashes = np.asarray(self.hashes)
                dist = np.bitwise_count(hashes[rows].view(np.uint64) ^ q64).sum(axis=1, dtype=np.int32)
                close = dist <= threshold
                found_ids.append(np.asarray(self.ids)[rows[close]])
                found_dist.append(dist[close])
        delta_ids, delta_hashes = self._delta()
        if len(delta_ids):
            dist = np.bitwise_count(delta_hashes.view(np.uint64) ^ q64).sum(axis=1, dtype=np.int32)
            close = dist <= threshold
            found_ids.append(delta_ids[close])
            found_dist.append(dist[close])
        best: dict[int, int] = {}
        for id_array, dist_array in zip(found_ids, found_dist, strict=True):
            for entry_id, distance in zip(id_array.tolist(), dist_array.tolist(), strict=True):
                if entry_id in self.dead:
                    continue
                if entry_id not in best or distance < best[entry_id]:
                    best[entry_id] = distance
        return sorted((Hit(i, d) for i, d in best.items()), key=lambda h: (h.distance, h.entry_id))

    def _probes(self, threshold: int) -> int:
        from math import comb

        radius = max(0, threshold // len(self.layout))
        return sum(sum(comb(end - start, k) for k in range(radius + 1)) for start, end in self.layout)

    def _candidates(self, q: np.ndarray, threshold: int) -> np.ndarray:
        radius = max(0, threshold // len(self.layout))
        count = len(self.ids)
        offsets = np.asarray(self.offsets)
        starts_all, ends_all, bases = [], [], []
        for j, (start, end) in enumerate(self.layout):
            key = (end - start, radius)
            masks = self._mask_cache.get(key)
            if masks is None:
                masks = self._mask_cache[key] = _masks(*key)
            value = int(chunk_values(q[None, :], start, end)[0])
            probes = (value ^ masks) + self.offset_starts[j]
            starts_all.append(offsets[probes])
            ends_all.append(offsets[probes + 1])
            bases.append(np.full(len(masks), j * count, np.int64))
        starts = np.concatenate(starts_all).astype(np.int64)
        lengths = np.concatenate(ends_all).astype(np.int64) - starts
        keep = lengths > 0
        if not keep.any():
            return np.zeros(0, np.int64)
        flat_starts = (starts + np.concatenate(bases))[keep]
        lengths = lengths[keep]
        total = int(lengths.sum())
        shifts = np.repeat(flat_starts - (np.cumsum(lengths) - lengths), lengths)
        positions = shifts + np.arange(total, dtype=np.int64)
        return np.asarray(self.perm)[positions]  # may repeat a row; hits are deduplicated by the caller

    # -- persistence -----------------------------------------------------------------------------------------
    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        """Write atomically enough for a cache: the manifest is written last and names the format."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)
        delta_ids, delta_hashes = self._delta()
        for name, array in (
            ("hashes", np.asarray(self.hashes)),
            ("ids", np.asarray(self.ids)),
            ("perm", np.asarray(self.perm)),
            ("offsets", np.asarray(self.offsets)),
            ("offset_starts", np.asarray(self.offset_starts)),
            ("delta_ids", delta_ids),
            ("delta_hashes", delta_hashes),
            ("dead", np.array(sorted(self.dead), dtype=np.int64)),
        ):
            tmp = folder / f"{name}.tmp.npy"
            np.save(tmp, array)
            tmp.replace(folder / f"{name}.npy")
        manifest = {"format": FORMAT, "base": len(self.ids), "layout": self.layout, **meta}
        tmp = folder / "manifest.tmp.json"
        tmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        tmp.replace(folder / "manifest.json")

    def save_delta(self, folder: Path, meta: dict[str, Any]) -> None:
        """Persist only what changed since the base was written (cheap per insert/disable)."""
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest_path.unlink()
        delta_ids, delta_hashes = self._delta()
        for name, array in (
            ("delta_ids", delta_ids),
            ("delta_hashes", delta_hashes),
            ("dead", np.array(sorted(self.dead), dtype=np.int64)),
        ):
            tmp = folder / f"{name}.tmp.npy"
            np.save(tmp, array)
            tmp.replace(folder / f"{name}.npy")
        manifest.update(meta)
        tmp = folder / "manifest.tmp.json"
        tmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        tmp.replace(manifest_path)

    @classmethod
    def load(cls, folder: Path) -> tuple[HammingIndex, dict[str, Any]]:
        """Memory-map a saved index; raises ValueError if it is missing, partial or of another format."""
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT:
                raise ValueError(f"unknown index format {manifest.get('format')!r}")
            index = cls()
            index.hashes = np.load(folder / "hashes.npy", mmap_mode="r")
            index.ids = np.load(folder / "ids.npy", mmap_mode="r")
            index.perm = np.load(folder / "perm.npy", mmap_mode="r")
            index.offsets = np.load(folder / "offsets.npy", mmap_mode="r")
            index.offset_starts = np.load(folder / "offset_starts.npy")
            index.layout = [(int(a), int(b)) for a, b in manifest["layout"]]
            delta_ids = np.load(folder / "delta_ids.npy")
            delta_hashes = np.load(folder / "delta_hashes.npy")
            if len(delta_ids):
                index.delta_ids, index.delta_hashes = [delta_ids], [delta_hashes]
            index.dead = {int(i) for i in np.load(folder / "dead.npy")}
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"index at {folder} unusable: {exc}") from exc
        if len(index.ids) != manifest.get("base") or index.perm.shape != (len(index.layout) * len(index.ids),):
            raise ValueError(f"index at {folder} is inconsistent with its manifest")
        return index, manifest
