"""Anchored heads: RFC 3161 timestamps of the ledger head, so truncation and re-signing show without
``--expect-head``.

A hash chain cannot show by itself that its newest entries were cut, or that someone holding the key
re-signed it from some point on. A timestamp token from an independent TSA over ``seq`` and ``hash`` of an
entry can: if the entry is later gone or different, the token no longer matches the chain. Anchoring
(``capture/anchor.py``, which has the network client) first appends a ``ledger.anchor`` entry, then asks the
configured TSAs to timestamp that entry's own head, so nothing before it is outside the anchor. Stored under
``anchors/`` in the workspace, per anchor::

    <seq>-<hash16>.head      the exact bytes timestamped (text: format line, seq=, hash=)
    <seq>-<hash16>.<n>.tst   DER TimeStampToken from the n-th TSA that answered

Anyone can check one with ``openssl ts -verify -data X.head -in X.0.tst -token_in -CAfile tsa-ca.pem``.
Each ``ledger.anchor`` entry also names the tokens the previous anchor obtained, so deleting token files is
noticed once a later anchor exists. What no anchor can cover: the entries after the last anchor; ``verify``
states how many, and ``--expect-head`` is the check for them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idolguard.evidence.tsa_token import read_token

FORMAT = "idolguard-ledger-head/1"
DIR_NAME = "anchors"
_HEAD_NAME = re.compile(r"^(\d{8,})-([0-9a-f]{16})\.head$")


def head_bytes(seq: int, entry_hash: str) -> bytes:
    return f"{FORMAT}\nseq={seq}\nhash={entry_hash}\n".encode("ascii")


def parse_head(data: bytes) -> tuple[int, str] | None:
    try:
        lines = data.decode("ascii").splitlines()
        if len(lines) != 3 or lines[0] != FORMAT or not lines[1].startswith("seq=") or not lines[2].startswith("hash="):
            return None
        return int(lines[1][4:]), lines[2][5:]
    except (UnicodeDecodeError, ValueError):
        return None


def anchors_dir(home: Path) -> Path:
    return home / DIR_NAME


@dataclass
class StoredAnchor:
    seq: int
    entry_hash: str
    head_path: Path
    tokens: list[tuple[Path, bytes]] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.head_path.name[: -len(".head")]


def store_anchor(home: Path, seq: int, entry_hash: str, tokens: list[bytes]) -> list[str]:
    """Write the head bytes and tokens (write-once files, fsynced); returns the tokens' SHA-256."""
    folder = anchors_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{seq:08d}-{entry_hash[:16]}"
    _write_once(folder / f"{stem}.head", head_bytes(seq, entry_hash))
    digests = []
    for index, token in enumerate(tokens):
        _write_once(folder / f"{stem}.{index}.tst", token)
        digests.append(hashlib.sha256(token).hexdigest())
    return digests


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o444)


def load_anchors(home: Path) -> tuple[list[StoredAnchor], list[str]]:
    """Anchors on disk, oldest first, and the names of files that are not anchors (reported by verify)."""
    folder = anchors_dir(home)
    anchors: list[StoredAnchor] = []
    strays: list[str] = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return anchors, strays
    heads = {}
    for name in names:
        match = _HEAD_NAME.match(name)
        if match:
            heads[name[: -len(".head")]] = name
    for name in names:
        if name in heads.values():
            continue
        stem = name.split(".", 1)[0]
        if stem not in heads or not name.endswith(".tst"):
            strays.append(name)
    for stem, name in heads.items():
        path = folder / name
        try:
            parsed = parse_head(path.read_bytes())
        except OSError:
            parsed = None
        anchor = StoredAnchor(parsed[0] if parsed else -1, parsed[1] if parsed else "", path)
        for token_name in names:
            if token_name.startswith(stem + ".") and token_name.endswith(".tst"):
                try:
                    anchor.tokens.append((folder / token_name, (folder / token_name).read_bytes()))
                except OSError:
                    strays.append(token_name)
        anchors.append(anchor)
    anchors.sort(key=lambda a: a.seq)
    return anchors, strays


def check_anchors(
    ws: Any, chain: dict[int, str], report: Any, signed_tokens: dict[int, list[str]] | None = None
) -> None:
    """Every stored anchor must name an entry that is still in the chain with the same hash, and hold at
    least one token that is signed and covers exactly its head bytes. ``signed_tokens`` (anchor seq ->
    token SHA-256 named by the next ``ledger.anchor`` entry) must still be on disk."""
    from idolguard.evidence.verify import Problem

    home = ws.config.home
    anchors, strays = load_anchors(home)
    for name in strays:
        report.warnings.append(Problem("anchor", name, "file in anchors/ that belongs to no anchor"))
    last: dict[str, Any] | None = None
    on_disk: dict[int, set[str]] = {}
    for anchor in anchors:
        ref = anchor.head_path.name
        if anchor.seq < 0:
            report.problems.append(Problem("anchor", ref, "anchored head file is unreadable or altered"))
            continue
        data = head_bytes(anchor.seq, anchor.entry_hash)
        good = []
        for path, token in anchor.tokens:
            on_disk.setdefault(anchor.seq, set()).add(hashlib.sha256(token).hexdigest())
            info = read_token(token)
            if not info.signature_valid:
                report.problems.append(Problem("anchor", path.name, "timestamp token is damaged or not signed"))
            elif info.imprint_sha256 != hashlib.sha256(data).digest():
                report.problems.append(Problem("anchor", path.name, "timestamp token is for other data"))
            else:
                good.append(info)
        if not good:
            if anchor.tokens:
                continue
            report.warnings.append(Problem("anchor", ref, "anchor without any timestamp token"))
            continue
        in_chain = chain.get(anchor.seq)
        if in_chain != anchor.entry_hash:
            when = min(i.gen_time or "" for i in good)
            report.problems.append(
                Problem(
                    "anchor",
                    f"seq {anchor.seq}",
                    f"a TSA timestamped entry {anchor.seq}:{anchor.entry_hash[:16]}… at {when}, but the ledger "
                    + (
                        "no longer has that entry (newest entries removed)"
                        if in_chain is None
                        else "now has a different entry there (history re-signed or replaced)"
                    ),
                )
            )
            continue
        last = {
            "seq": anchor.seq,
            "hash": anchor.entry_hash,
            "gen_time": min(i.gen_time or "" for i in good),
            "tokens": len(good),
        }
    for seq, digests in (signed_tokens or {}).items():
        missing = set(digests) - on_disk.get(seq, set())
        if missing:
            report.problems.append(
                Problem(
                    "anchor",
                    f"seq {seq}",
                    f"{len(missing)} timestamp token(s) recorded by a later ledger.anchor entry are missing (deleted?)",
                )
            )
    report.last_anchor = last
    if report.head_seq is not None:
        report.unanchored_entries = report.head_seq - (last["seq"] if last else -1)
