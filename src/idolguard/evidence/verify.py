"""Independent re-checking of everything stored: vault objects, the ledger in the database and its mirror,
and every database row that people read.

The checks assume nothing the database says is true:

* each ledger entry's hash, chain link, sequence number and signature is recomputed in both copies (database
  and JSONL mirror), which are compared line by line; the signing key must be the one pinned by the
  genesis entry or one handed over by a rotation entry signed with the key before it;
* **consistency**: every row of the evidence tables must say what its signed custody event says, field by
  field (an edit made directly in the database is tampering like any other);
* **completeness**: everything a signed event promises must still exist: the item of every ingest, every
  sighting, every stage result of every analysis, every derived file, every vault object. Deleting rows and
  files while the ledger still records them is reported, not silently accepted;
* corrupt rows (a non-hex hash, unparseable JSON or dates) are reported as findings; ``verify`` never stops
  with a traceback on what it was asked to check.

RFC 3161 anchors of earlier heads (``anchors.py``) are checked by ``anchors.check_anchors``, called from here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import zip_longest
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from idolguard.coded_text import template_pattern
from idolguard.errors import IntegrityError
from idolguard.evidence import crypto
from idolguard.evidence.actions import INVALIDATES_MATCHES, MATCH_STAGES, Action, parse_action
from idolguard.evidence.canonical import canonical_bytes
from idolguard.evidence.keys import key_id_of_raw, load_public_keys, public_key_from_raw, public_key_id
from idolguard.evidence.ledger import GENESIS, iter_jsonl

BODY_FIELDS = ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")
# Recorded times written by code older than exact-time recording may lag their event by the batch time.
LEGACY_TIME_TOLERANCE_S = 120.0


class Finding(StrEnum):
    """Stable codes of the findings a front door says in its own words: the web's admin verify page and the
    command line show a coded finding from their catalogs (KO/EN; the Korean is ``locales/verify.ko.po``, read by
    both) with the ``params`` filled in, not the English ``message``. Never renamed, only added; the English
    template of each is ``FINDING_MESSAGES``. A finding made from English text (``Problem(where, ref, text)``)
    gets its code back when the text is one of the templates (``Problem.__post_init__``);
    ``tests/evidence/test_finding_codes.py`` checks that every finding this module and ``anchors.py`` make has
    one."""

    OFFICIAL_ORPHANED = "official.orphaned"
    # the ledger (either copy) and its signing keys
    LEDGER_UNREADABLE = "ledger.unreadable"
    LEDGER_STORED_LINE_MISSING = "ledger.stored_line_missing"
    LEDGER_STORED_LINE_NOT_JSON = "ledger.stored_line_not_json"
    LEDGER_STORED_LINE_NOT_OBJECT = "ledger.stored_line_not_object"
    LEDGER_LINE_NOT_JSON = "ledger.line_not_json"
    LEDGER_LINE_NOT_OBJECT = "ledger.line_not_object"
    LEDGER_MISSING_FIELDS = "ledger.missing_fields"
    LEDGER_NOT_CANONICAL = "ledger.not_canonical"
    LEDGER_LINE_FORM = "ledger.line_form"
    LEDGER_HASH = "ledger.hash"
    LEDGER_SEQUENCE = "ledger.sequence"
    LEDGER_LINK = "ledger.link"
    LEDGER_UNKNOWN_KEY = "ledger.unknown_key"
    LEDGER_SIGNATURE = "ledger.signature"
    LEDGER_FOREIGN_KEY = "ledger.foreign_key"
    LEDGER_ROTATION_KEY = "ledger.rotation_key"
    LEDGER_COLUMNS = "ledger.columns"
    LEDGER_MIRROR_DIFFERS = "ledger.mirror_differs"
    LEDGER_EMPTY = "ledger.empty"
    LEDGER_MIRROR_EXTRA = "ledger.mirror_extra"
    LEDGER_MIRROR_BEHIND = "ledger.mirror_behind"
    LEDGER_KEY_NOT_IN_FORCE = "ledger.key_not_in_force"
    LEDGER_HEAD_MISSING = "ledger.head_missing"
    # database rows against their signed events
    TABLE_UNREADABLE = "db.table_unreadable"
    ROW_CORRUPT = "db.row_corrupt"
    ITEM_HASH_FORM = "db.item_hash_form"
    ITEM_NO_INGEST = "db.item_no_ingest"
    ITEM_DIFFERS = "db.item_differs"
    ITEM_ROW_GONE = "db.item_row_gone"
    SIGHTING_NO_EVENT = "db.sighting_no_event"
    SIGHTING_DIFFERS = "db.sighting_differs"
    SIGHTING_ROW_GONE = "db.sighting_row_gone"
    RESULT_NO_EVENT = "db.result_no_event"
    RESULT_NOT_JSON = "db.result_not_json"
    RESULT_DIFFERS = "db.result_differs"
    RESULT_ERROR_DIFFERS = "db.result_error_differs"
    RESULT_ROW_GONE = "db.result_row_gone"
    ITEM_PROBE_DIFFERS = "db.item_probe_differs"
    ARTIFACT_UNNAMED = "db.artifact_unnamed"
    DERIVED_UNNAMED = "db.derived_unnamed"
    DERIVED_STAGE = "db.derived_stage"
    DERIVED_KIND = "db.derived_kind"
    DERIVED_ROW_GONE = "db.derived_row_gone"
    VERIFY_UNFINISHED = "verify.unfinished"
    # the vault and what is kept beside it
    PREVIEW_LEFT_DESTROYED = "vault.preview_left_destroyed"
    PREVIEW_LEFT_GONE = "vault.preview_left_gone"
    OBJECT_NAME = "vault.object_name"
    OBJECT_MISSING = "vault.object_missing"
    OBJECT_UNREADABLE = "vault.object_unreadable"
    OBJECT_UNREADABLE_AT = "vault.object_unreadable_at"
    OBJECT_NO_VAULT_KEY = "vault.object_no_vault_key"
    OBJECT_HASH = "vault.object_hash"
    OBJECT_ALTERED = "vault.object_altered"
    OBJECT_GONE = "vault.object_gone"
    OBJECT_KEY_MISSING = "vault.object_key_missing"
    OBJECT_SEGMENT = "vault.object_segment"
    OBJECT_NOT_VAULT_FORMAT = "vault.object_not_vault_format"
    OBJECT_NOT_ITEM_FORMAT = "vault.object_not_item_format"
    OBJECT_TRUNCATED_HEADER = "vault.object_truncated_header"
    ITEM_KEY_DAMAGED = "vault.item_key_damaged"
    ITEM_KEY_AUTH = "vault.item_key_auth"
    KEY_UNDECIDED = "vault.key_undecided"
    FOREIGN_FILE = "vault.foreign_file"
    UNREFERENCED = "vault.unreferenced"
    ERASURE_UNFINISHED = "vault.erasure_unfinished"
    # RFC 3161 anchors
    ANCHOR_STRAY_FILE = "anchor.stray_file"
    ANCHOR_HEAD_FILE = "anchor.head_file"
    ANCHOR_TOKEN_DAMAGED = "anchor.token_damaged"
    ANCHOR_TOKEN_OTHER_DATA = "anchor.token_other_data"
    ANCHOR_NO_TOKEN = "anchor.no_token"
    ANCHOR_ENTRY_GONE = "anchor.entry_gone"
    ANCHOR_ENTRY_REPLACED = "anchor.entry_replaced"
    ANCHOR_TOKENS_MISSING = "anchor.tokens_missing"


def N_(message: str) -> str:  # noqa: N802 (the conventional gettext marker)
    """Marks a message for the catalogs (``locales/verify.ko.po``, read by the web and the command line)."""
    return message


FINDING_MESSAGES: dict[Finding, str] = {
    Finding.OFFICIAL_ORPHANED: N_(
        "official collection of artist #{artist_id}, who is no longer enrolled: its {hashes} hash(es) still keep "
        "those files from being reported and name them in source attribution; retire it with "
        "`idolguard bank remove {bank} --reason ...`"
    ),
    Finding.LEDGER_UNREADABLE: N_("unreadable entry"),
    Finding.LEDGER_STORED_LINE_MISSING: N_("stored line is missing"),
    Finding.LEDGER_STORED_LINE_NOT_JSON: N_("stored line is not JSON"),
    Finding.LEDGER_STORED_LINE_NOT_OBJECT: N_("stored line is not a JSON object"),
    Finding.LEDGER_LINE_NOT_JSON: N_("line is not JSON"),
    Finding.LEDGER_LINE_NOT_OBJECT: N_("line is not a JSON object"),
    Finding.LEDGER_MISSING_FIELDS: N_("missing fields {fields}"),
    Finding.LEDGER_NOT_CANONICAL: N_("not canonical: {reason}"),
    Finding.LEDGER_LINE_FORM: N_("line is not in canonical form (duplicate or reordered members, extra whitespace)"),
    Finding.LEDGER_HASH: N_("content does not match its hash (edited?): computed {digest}\u2026"),
    Finding.LEDGER_SEQUENCE: N_("sequence {seq} where {expected} was expected (removed or reordered entry)"),
    Finding.LEDGER_LINK: N_("link to previous entry broken (entry removed, inserted or reordered)"),
    Finding.LEDGER_UNKNOWN_KEY: N_("signed by unknown key {key}\u2026"),
    Finding.LEDGER_SIGNATURE: N_("signature invalid (forged or altered)"),
    Finding.LEDGER_FOREIGN_KEY: N_(
        "signed by key {key}\u2026 while key {current}\u2026 was in force, with no rotation entry signed by it "
        "(history re-signed or a foreign key added?)"
    ),
    Finding.LEDGER_ROTATION_KEY: N_("key rotation entry does not carry a valid new public key"),
    Finding.LEDGER_COLUMNS: N_("row columns differ from signed line"),
    Finding.LEDGER_MIRROR_DIFFERS: N_("database entry and JSONL mirror line differ"),
    Finding.LEDGER_EMPTY: N_("the ledger is empty: nothing has been recorded yet"),
    Finding.LEDGER_MIRROR_EXTRA: N_("mirror has {count} entries the database lacks"),
    Finding.LEDGER_MIRROR_BEHIND: N_(
        "mirror is {count} signed entries behind the database (interrupted write); the next write appends them"
    ),
    Finding.LEDGER_KEY_NOT_IN_FORCE: N_(
        "the workspace's public key is not the key the ledger has in force ({key}\u2026)"
    ),
    Finding.LEDGER_HEAD_MISSING: N_(
        "expected head {seq}:{hash}\u2026 is not in the ledger (entries removed or replaced since it was recorded)"
    ),
    Finding.TABLE_UNREADABLE: N_("table cannot be read: {reason}"),
    Finding.ROW_CORRUPT: N_("row is corrupt: {reason}"),
    Finding.ITEM_HASH_FORM: N_("item hash is not a SHA-256 hex digest"),
    Finding.ITEM_NO_INGEST: N_("item has no ingest event in the ledger"),
    Finding.ITEM_DIFFERS: N_("item differs from its signed ingest event: {fields}"),
    Finding.ITEM_ROW_GONE: N_("ledger entry {seq} records this item's ingest but the item row is gone (deleted?)"),
    Finding.SIGHTING_NO_EVENT: N_("sighting has no custody event"),
    Finding.SIGHTING_DIFFERS: N_("sighting differs from what its custody event recorded: {fields}"),
    Finding.SIGHTING_ROW_GONE: N_("ledger entry {seq} records this sighting but its row is gone (deleted?)"),
    Finding.RESULT_NO_EVENT: N_("stage result has no analysis event"),
    Finding.RESULT_NOT_JSON: N_("stored output is not valid JSON data: {reason}"),
    Finding.RESULT_DIFFERS: N_("stage result differs from its signed output hash"),
    Finding.RESULT_ERROR_DIFFERS: N_("stage error text differs from its analysis event"),
    Finding.RESULT_ROW_GONE: N_("ledger entry {seq} records this analysis but its stage result is gone (deleted?)"),
    Finding.ITEM_PROBE_DIFFERS: N_("item type/dimensions/metadata differ from its signed probe output"),
    Finding.ARTIFACT_UNNAMED: N_("capture artifact is not named by any capture event"),
    Finding.DERIVED_UNNAMED: N_("derived object is not named by any analysis event"),
    Finding.DERIVED_STAGE: N_("derived object's stage differs from its analysis event"),
    Finding.DERIVED_KIND: N_("derived object's kind differs from its analysis event"),
    Finding.DERIVED_ROW_GONE: N_("an analysis event records this derived file but its row is gone (deleted?)"),
    Finding.VERIFY_UNFINISHED: N_("verification could not finish: {reason}"),
    Finding.PREVIEW_LEFT_DESTROYED: N_(
        "a cached preview ({file}) remains of an object destroyed by decision; delete HOME/cache/previews "
        "(previews are made again when shown)"
    ),
    Finding.PREVIEW_LEFT_GONE: N_(
        "a cached preview ({file}) remains of an object gone from the vault; delete HOME/cache/previews "
        "(previews are made again when shown)"
    ),
    Finding.OBJECT_NAME: N_("recorded object name is not a SHA-256 digest"),
    Finding.OBJECT_MISSING: N_("{what} missing from the vault (deleted?)"),
    Finding.OBJECT_UNREADABLE: N_("cannot be read: {reason}"),
    Finding.OBJECT_UNREADABLE_AT: N_("vault object {sha256} unreadable: {reason}"),
    Finding.OBJECT_NO_VAULT_KEY: N_(
        "vault object {sha256} looks encrypted but no vault key is configured (or it was altered)"
    ),
    Finding.OBJECT_HASH: N_("vault object {sha256} content hashes to {digest}"),
    Finding.OBJECT_ALTERED: N_("vault object {sha256} no longer matches its hash; run `idolguard verify`"),
    # what reading an object refuses (``Vault.check`` and an erasure's check say the ``IntegrityError``'s text)
    Finding.OBJECT_GONE: N_("vault object {sha256} is missing"),
    Finding.OBJECT_KEY_MISSING: N_(
        "vault object {sha256}: its item key keys/{x}/{name} is missing (destroyed, or the vault's keys/ folder was "
        "not copied with objects/)"
    ),
    Finding.OBJECT_SEGMENT: N_("vault object {label}: segment {index} fails authentication"),
    Finding.OBJECT_NOT_VAULT_FORMAT: N_("vault object {label} is not encrypted with this vault's format"),
    Finding.OBJECT_NOT_ITEM_FORMAT: N_("vault object {label} is not in the per-item-key format"),
    Finding.OBJECT_TRUNCATED_HEADER: N_("vault object {label}: truncated header"),
    Finding.ITEM_KEY_DAMAGED: N_("item key of vault object {sha256} is damaged"),
    Finding.ITEM_KEY_AUTH: N_(
        "item key of vault object {sha256} fails authentication with this vault key (altered, or another vault's)"
    ),
    Finding.KEY_UNDECIDED: N_(
        "vault object {sha256}: an item key newer than its destruction decision exists, but no vault key is "
        "configured, so whether it belongs to new evidence cannot be told; set the vault key (IDOLGUARD_VAULT_KEY or "
        "[vault] key_file) before the erasure is finished"
    ),
    Finding.FOREIGN_FILE: N_("foreign file in the vault objects folder"),
    Finding.UNREFERENCED: N_("object not referenced by any custody event (interrupted ingest?)"),
    Finding.ERASURE_UNFINISHED: N_(
        "erasure decided by ledger seq {seq} ({case}) is not finished: {left} left; run `idolguard cases destroy "
        "{case}` again or start the worker to finish it"
    ),
    Finding.ANCHOR_STRAY_FILE: N_("file in anchors/ that belongs to no anchor"),
    Finding.ANCHOR_HEAD_FILE: N_("anchored head file is unreadable or altered"),
    Finding.ANCHOR_TOKEN_DAMAGED: N_("timestamp token is damaged or not signed"),
    Finding.ANCHOR_TOKEN_OTHER_DATA: N_("timestamp token is for other data"),
    Finding.ANCHOR_NO_TOKEN: N_("anchor without any timestamp token"),
    Finding.ANCHOR_ENTRY_GONE: N_(
        "a TSA timestamped entry {seq}:{hash}\u2026 at {when}, but the ledger no longer has that entry (newest "
        "entries removed)"
    ),
    Finding.ANCHOR_ENTRY_REPLACED: N_(
        "a TSA timestamped entry {seq}:{hash}\u2026 at {when}, but the ledger now has a different entry there "
        "(history re-signed or replaced)"
    ),
    Finding.ANCHOR_TOKENS_MISSING: N_(
        "{count} timestamp token(s) recorded by a later ledger.anchor entry are missing (deleted?)"
    ),
}
# Values that are themselves English words from a short list (``item``, ``size/MD5``...): a front door says each
# comma-separated part from its catalog (``finding_values``) before filling the template.
WORD_PARAMS = frozenset({"fields", "what", "left"})


def finding_values(params: dict[str, Any], translate: Callable[[str], str]) -> dict[str, Any]:
    """``params`` with each part of a word value (``WORD_PARAMS``) said by ``translate`` (a catalog lookup)."""
    return {
        name: ", ".join(translate(part) for part in str(value).split(", ")) if name in WORD_PARAMS else value
        for name, value in params.items()
    }


def recognise_finding(text: str) -> tuple[Finding, dict[str, str]] | None:
    """The code and values of a finding's English text when it is one of ``FINDING_MESSAGES`` filled in (a
    value named twice must be the same both times), else ``None``."""
    for code, pattern in _PATTERNS:
        matched = pattern.fullmatch(text)
        if matched:
            return code, matched.groupdict()
    return None


# Built whole at import, never filled lazily: verify runs in the web's thread pool, and a list being filled by
# one thread would be read part-filled by another (findings without their codes, shown in English).
_PATTERNS: tuple[tuple[Finding, re.Pattern[str]], ...] = tuple(
    (code, template_pattern(template)) for code, template in FINDING_MESSAGES.items()
)


@dataclass
class Problem:
    where: str  # "vault", "ledger-db", "ledger-jsonl", "cross", "db", "keys", "anchor"
    ref: str  # object hash or ledger seq/line
    message: str
    code: Finding | None = None  # set for the findings a front door says in its own language
    params: dict[str, Any] = field(default_factory=dict)  # the values ``FINDING_MESSAGES[code]`` names

    def __post_init__(self) -> None:
        if self.code is None:  # made from English text: its code back when the text is one of the templates
            found = recognise_finding(self.message)
            if found is not None:
                self.code, self.params = found

    @classmethod
    def coded(cls, where: str, ref: str, code: Finding, **params: Any) -> Problem:
        """A finding with a code: its English message is ``FINDING_MESSAGES[code]`` filled from ``params``."""
        return cls(where, ref, FINDING_MESSAGES[code].format(**params), code, params)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"where": self.where, "ref": self.ref, "message": self.message}
        if self.code is not None:
            found.update({"code": str(self.code), "params": dict(self.params)})
        return found


@dataclass
class KeyRange:
    key_id: str
    first_seq: int
    last_seq: int

    def as_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "first_seq": self.first_seq, "last_seq": self.last_seq}


@dataclass
class VerifyReport:
    objects_checked: int = 0
    # Objects still encrypted with the vault key itself (IGV1): readable, but a destruction can only delete
    # them, not shred a key of their own (``idolguard vault rekey`` gives them one).
    vault_key_objects: int = 0
    entries_checked: int = 0
    mirror_lines_checked: int = 0
    rows_checked: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    key_ranges: list[KeyRange] = field(default_factory=list)
    last_anchor: dict[str, Any] | None = None  # newest head proven by a valid RFC 3161 token
    unanchored_entries: int | None = None  # entries after the last anchor: only --expect-head covers them
    unstamped: list[str] = field(default_factory=list)  # captures with no valid TSA token
    items_after_last_anchor: int = 0  # items ingested after the newest anchor: no trusted time yet
    # Objects erased by a signed destruction decision (``case.destroy``): not tampering, listed as such.
    destroyed: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects_checked": self.objects_checked,
            "vault_key_objects": self.vault_key_objects,
            "ledger_entries_checked": self.entries_checked,
            "mirror_lines_checked": self.mirror_lines_checked,
            "rows_checked": self.rows_checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "keys": [r.as_dict() for r in self.key_ranges],
            "last_anchor": self.last_anchor,
            "unanchored_entries": self.unanchored_entries,
            "captures_without_timestamp": self.unstamped,
            "items_after_last_anchor": self.items_after_last_anchor,
            "destroyed": self.destroyed,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [p.as_dict() for p in self.warnings],
        }


def check_entry(
    record: dict[str, Any], expected_seq: int, expected_prev: str, keys: dict[str, Ed25519PublicKey]
) -> tuple[str | None, str | None]:
    """Check one parsed ledger record; returns (problem or None, the record's hash as claimed)."""
    missing = [name for name in (*BODY_FIELDS, "hash", "sig") if name not in record]
    if missing:
        return f"missing fields {missing}", _text_or_none(record.get("hash"))
    body = {name: record[name] for name in BODY_FIELDS}
    try:
        raw = canonical_bytes(body)
    except TypeError as exc:
        return f"not canonical: {exc}", _text_or_none(record.get("hash"))
    digest = hashlib.sha256(raw).hexdigest()
    claimed = _text_or_none(record["hash"])
    if digest != claimed:
        return f"content does not match its hash (edited?): computed {digest[:16]}…", claimed
    if record["seq"] != expected_seq:
        return (
            f"sequence {record['seq']} where {expected_seq} was expected (removed or reordered entry)",
            claimed,
        )
    if record["prev"] != expected_prev:
        return "link to previous entry broken (entry removed, inserted or reordered)", claimed
    key = keys.get(record["key_id"]) if isinstance(record["key_id"], str) else None
    if key is None:
        return f"signed by unknown key {str(record['key_id'])[:16]}…", claimed
    try:
        key.verify(base64.b64decode(str(record["sig"]), validate=True), raw)
    except (InvalidSignature, binascii.Error, ValueError):
        return "signature invalid (forged or altered)", claimed
    return None, claimed


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ChainWalker:
    """Checks one copy of the chain entry by entry; after a break it continues from the claimed hash, so
    later damage is named too. Streaming: memory stays flat however long the ledger is.

    Key policy: the first entry pins the instance key (a ``ledger.genesis`` entry names it and carries its
    public bytes; a ledger older than that pins the key of its first entry). Every later entry must be signed
    by the key in force; only a ``ledger.rotate_key`` entry signed by that key hands over to a new one. A key
    file dropped into ``keys/`` therefore cannot legitimise entries it signed."""

    def __init__(self, keys: dict[str, Ed25519PublicKey], where: str, report: VerifyReport) -> None:
        self.keys, self.where, self.report = dict(keys), where, report
        self.expected_seq, self.expected_prev = 0, GENESIS
        self.count = 0
        self.head: tuple[int, str] | None = None
        self.current_key: str | None = None
        self.ranges: list[KeyRange] = []
        self.hashes: dict[int, str] = {}  # seq -> hash, for anchor checks (64 bytes per entry)

    def feed(
        self, ref: str, record: dict[str, Any] | None, parse_error: str | None = None, raw: str | None = None
    ) -> None:
        self.count += 1
        if record is None:
            self.report.problems.append(Problem(self.where, ref, parse_error or "unreadable entry"))
            self.expected_seq += 1
            return
        self._learn_genesis(record)
        problem, claimed = check_entry(record, self.expected_seq, self.expected_prev, self.keys)
        if problem is None and raw is not None and not _is_canonical(record, raw):
            # e.g. duplicate keys: a parser that keeps the first value would read another entry than ours
            problem = "line is not in canonical form (duplicate or reordered members, extra whitespace)"
        if problem is None:
            problem = self._key_policy(record)
        if problem:
            self.report.problems.append(Problem(self.where, ref, problem))
        recorded_seq = record.get("seq")
        seq = recorded_seq if isinstance(recorded_seq, int) else self.expected_seq
        self.expected_seq, self.expected_prev = seq + 1, str(claimed)
        self.head = (seq, str(claimed))
        self.hashes[seq] = str(claimed)

    def _learn_genesis(self, record: dict[str, Any]) -> None:
        if self.current_key is not None or record.get("seq") != 0:
            return
        details = _details(record)
        if parse_action(record.get("action")) is Action.LEDGER_GENESIS:
            raw_hex = details.get("public_key")
            key = public_key_from_raw(raw_hex)
            if key is not None and key_id_of_raw(raw_hex) == details.get("key_id"):
                self.keys.setdefault(str(details["key_id"]), key)
            self.current_key = str(details.get("key_id"))
        else:
            self.current_key = str(record.get("key_id"))  # a ledger from before key pinning

    def _key_policy(self, record: dict[str, Any]) -> str | None:
        signer = str(record["key_id"])
        seq = int(record["seq"])
        if self.ranges and self.ranges[-1].key_id == signer:
            self.ranges[-1].last_seq = seq
        else:
            self.ranges.append(KeyRange(signer, seq, seq))
        if signer != self.current_key:
            return (
                f"signed by key {signer[:16]}… while key {str(self.current_key)[:16]}… was in force, with no "
                "rotation entry signed by it (history re-signed or a foreign key added?)"
            )
        if parse_action(record.get("action")) is Action.LEDGER_ROTATE_KEY:
            details = _details(record)
            new_id, raw_hex = details.get("new_key_id"), details.get("new_public_key")
            key = public_key_from_raw(raw_hex)
            if key is None or key_id_of_raw(raw_hex) != new_id:
                return "key rotation entry does not carry a valid new public key"
            self.keys[str(new_id)] = key
            self.current_key = str(new_id)
        return None


def _details(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("details")
    return value if isinstance(value, dict) else {}


def _is_canonical(record: dict[str, Any], raw: str) -> bool:
    try:
        return canonical_bytes(record) == raw.encode("utf-8")
    except TypeError:
        return False


def _parse(text: Any) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(text, str):
        return None, "missing"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not JSON"
    return (record, None) if isinstance(record, dict) else (None, "not a JSON object")


def _ts(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None


SIGHTING_FIELDS = (
    "source_path",
    "source_url",
    "platform",
    "account",
    "seen_at",
    "note",
    "archive_sha256",
    "archive_member",
)


@dataclass
class IngestFact:
    seq: int
    size: Any
    md5: Any
    mime: Any
    encrypted: Any
    source_path: Any
    ts: datetime | None
    exact_times: bool  # written by code that records row times equal to the event time


@dataclass
class SightingFact:
    seq: int
    item: Any
    fields: tuple[Any, ...]
    actor: Any
    ts: datetime | None
    file_mtime: Any
    exact_times: bool


@dataclass
class AnalysisFact:
    seq: int
    status: Any
    digest: Any
    error: Any
    derived: tuple[str, ...]
    kinds: tuple[Any, ...] | None  # kinds of the derived files (None: written before kinds were signed)


@dataclass
class SignedFacts:
    """What the signed ledger says about rows that people read."""

    ingests: dict[str, IngestFact] = field(default_factory=dict)  # item -> first ingest
    sightings: dict[int, SightingFact] = field(default_factory=dict)  # sighting id -> recorded fields
    analyses: dict[tuple[str, str, str], AnalysisFact] = field(default_factory=dict)
    # analyses whose stored results a bank change dropped: no result row is expected, but the files they made
    # (an attribution's face pair) stay and are still named by them
    dropped: list[tuple[tuple[str, str, str], AnalysisFact]] = field(default_factory=list)
    gallery_objects: dict[str, int] = field(default_factory=dict)  # photo/crop hash -> seq of the enrol
    mentioned: set[str] = field(default_factory=set)  # every digest a signed event names
    anchor_tokens: dict[int, list[str]] = field(default_factory=dict)  # anchor seq -> its tokens' SHA-256
    capture_digests: set[str] = field(default_factory=set)  # every digest a signed capture.* event names
    destroyed: dict[str, dict[str, Any]] = field(default_factory=dict)  # object -> the decision that erased it

    def add(self, record: dict[str, Any]) -> None:
        details = _details(record)
        item, action, seq = record.get("item"), parse_action(record.get("action")), record.get("seq")
        seq = seq if isinstance(seq, int) else -1
        if isinstance(item, str):
            self.mentioned.add(item)
        _collect_digests(details, self.mentioned)
        exact = "file_mtime" in details
        if action is not None and action.value.startswith("capture."):
            if isinstance(item, str):
                self.capture_digests.add(item)
            _collect_digests(details, self.capture_digests)
        if action is Action.INTAKE_INGEST and isinstance(item, str) and item not in self.ingests:
            self.ingests[item] = IngestFact(
                seq,
                details.get("size"),
                details.get("md5"),
                details.get("mime"),
                details.get("encrypted_at_rest"),
                details.get("source_path"),
                _ts(record.get("ts")),
                exact,
            )
        if action in (Action.INTAKE_INGEST, Action.INTAKE_SIGHTING) and isinstance(details.get("sighting_id"), int):
            self.sightings[details["sighting_id"]] = SightingFact(
                seq,
                item,
                tuple(details.get(name) for name in SIGHTING_FIELDS),
                record.get("actor"),
                _ts(record.get("ts")),
                details.get("file_mtime"),
                exact,
            )
        if action is Action.PIPELINE_ANALYSE and isinstance(item, str):
            key = (item, str(details.get("stage")), str(details.get("version")))
            raw_derived, raw_kinds = details.get("derived"), details.get("derived_kinds")
            derived: list[Any] = raw_derived if isinstance(raw_derived, list) else []
            kinds: list[Any] | None = raw_kinds if isinstance(raw_kinds, list) else None
            self.analyses[key] = AnalysisFact(
                seq,
                details.get("status"),
                details.get("output_sha256"),
                details.get("error"),
                tuple(str(d) for d in derived),
                tuple(kinds) if kinds is not None else None,
            )
        if action in INVALIDATES_MATCHES:
            for key in [k for k in self.analyses if k[1] in MATCH_STAGES]:
                self.dropped.append((key, self.analyses.pop(key)))
        if action is Action.LEDGER_ANCHOR and isinstance(details.get("previous_anchor"), dict):
            previous = details["previous_anchor"]
            if isinstance(previous.get("seq"), int) and isinstance(previous.get("tokens"), list):
                self.anchor_tokens[previous["seq"]] = [str(t) for t in previous["tokens"]]
        if action is Action.CASE_DESTROY:
            self._add_destruction(record, details)
        if action is Action.GALLERY_ENROL:
            for accepted in details.get("accepted") or []:
                if isinstance(accepted, dict):
                    for name in ("photo", "crop"):
                        if _looks_like_digest(accepted.get(name)):
                            self.gallery_objects[str(accepted[name])] = seq

    def _add_destruction(self, record: dict[str, Any], details: dict[str, Any]) -> None:
        """A signed, two-person destruction decision names every object it erased (docs/EVIDENCE.md)."""
        raw_approvals = details.get("approvals")
        approvals: list[Any] = raw_approvals if isinstance(raw_approvals, list) else []
        approvers = [str(a.get("approver")) for a in approvals if isinstance(a, dict)]
        raw_objects = details.get("objects")
        objects: list[Any] = raw_objects if isinstance(raw_objects, list) else []
        for entry in objects:
            sha = entry.get("sha256") if isinstance(entry, dict) else None
            if isinstance(sha, str) and _looks_like_digest(sha):
                self.destroyed[sha] = {
                    "sha256": sha,
                    "kind": entry.get("kind"),
                    "case": details.get("case"),
                    "decision_seq": record.get("seq"),
                    "approved_by": approvers,
                    "reason": next((str(a.get("reason")) for a in approvals if isinstance(a, dict)), None),
                    "decided_at": record.get("ts"),
                }


def _collect_digests(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        if _looks_like_digest(value):
            into.add(value)
    elif isinstance(value, dict):
        for inner in value.values():
            _collect_digests(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _collect_digests(inner, into)


def _rows(session: Any, model: Any, report: VerifyReport, key: Any) -> Iterator[Any]:
    """Every row of ``model``, in chunks; a row the database cannot even load (corrupt JSON, a date that is
    not a date) is reported and skipped instead of ending the verification."""
    table = model.__tablename__
    try:
        ids = session.execute(select(key).order_by(key)).scalars().all()
    except Exception as exc:  # noqa: BLE001 - any failure here is a finding about the database
        report.problems.append(Problem("db", table, f"table cannot be read: {_first_line(exc)}"))
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        try:
            rows = session.execute(select(model).where(key.in_(chunk)).order_by(key)).scalars().all()
        except Exception:  # noqa: BLE001 - find the bad row(s) one by one
            session.rollback()
            rows = []
            for ident in chunk:
                try:
                    row = session.execute(select(model).where(key == ident)).scalar_one()
                    session.expunge(row)  # loaded and detached: a later rollback cannot expire it
                    rows.append(row)
                except Exception as exc:  # noqa: BLE001
                    session.rollback()
                    report.problems.append(Problem("db", f"{table} {ident}", f"row is corrupt: {_first_line(exc)}"))
        session.expunge_all()
        yield from rows


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _near(moment: Any, signed: datetime | None, exact: bool) -> bool:
    if not isinstance(moment, datetime) or signed is None:
        return moment is None and signed is None
    delta = abs((moment - signed).total_seconds())
    return delta < 0.000_002 if exact else delta <= LEGACY_TIME_TOLERANCE_S


def check_rows(ws: Any, facts: SignedFacts, report: VerifyReport) -> dict[str, str]:
    """Rows against signed events, both ways. Returns {vault object -> what needs it} for the vault pass."""
    from idolguard.db.models import DerivedObject, Item, Sighting, StageResult
    from idolguard.evidence.canonical import output_digest

    needed: dict[str, str] = {}
    item_rows: dict[str, tuple[Any, ...]] = {}
    with ws.sessions() as session:
        for item in _rows(session, Item, report, Item.sha256):
            report.rows_checked += 1
            sha = item.sha256
            if not _looks_like_digest(sha):
                report.problems.append(Problem("db", repr(sha)[:80], "item hash is not a SHA-256 hex digest"))
                continue
            item_rows[sha] = (item.media_type, item.mime, item.width, item.height, item.duration_s, item.media_meta)
            signed = facts.ingests.get(sha)
            if signed is None:
                report.problems.append(Problem("cross", sha, "item has no ingest event in the ledger"))
                continue
            needed[sha] = "item"
            differs = []
            if (signed.size, signed.md5) != (item.size, item.md5):
                differs.append("size/MD5")
            if signed.encrypted is not None and bool(signed.encrypted) != bool(item.encrypted):
                differs.append("encrypted flag")
            if isinstance(signed.source_path, str) and item.original_name != PurePosixPath(signed.source_path).name:
                differs.append("original name")
            if not _near(item.first_seen_at, signed.ts, signed.exact_times):
                differs.append("first-seen time")
            if differs:
                report.problems.append(
                    Problem("db", sha, f"item differs from its signed ingest event: {', '.join(differs)}")
                )
        for sha, signed in facts.ingests.items():
            if sha not in item_rows:
                report.problems.append(
                    Problem(
                        "cross",
                        sha,
                        f"ledger entry {signed.seq} records this item's ingest but the item row is gone (deleted?)",
                    )
                )
                needed.setdefault(sha, "ingested item")

        seen_sightings: set[int] = set()
        for sighting in _rows(session, Sighting, report, Sighting.id):
            report.rows_checked += 1
            seen_sightings.add(sighting.id)
            values = {name: getattr(sighting, name) for name in SIGHTING_FIELDS}
            values["seen_at"] = _iso(sighting.seen_at)
            fact = facts.sightings.get(sighting.id)
            ref = f"sighting {sighting.id}"
            if fact is None:
                report.problems.append(Problem("db", ref, "sighting has no custody event"))
                continue
            differs = []
            if fact.item != sighting.item_sha256 or fact.fields != tuple(values[name] for name in SIGHTING_FIELDS):
                differs.append("source/context")
            if fact.actor != sighting.actor:
                differs.append("actor")
            if not _near(sighting.recorded_at, fact.ts, fact.exact_times):
                differs.append("recorded time")
            if fact.exact_times and fact.file_mtime != _iso(sighting.file_mtime):
                differs.append("file modification time")
            if differs:
                report.problems.append(
                    Problem("db", ref, f"sighting differs from what its custody event recorded: {', '.join(differs)}")
                )
        for sighting_id, fact in facts.sightings.items():
            if sighting_id not in seen_sightings:
                report.problems.append(
                    Problem(
                        "cross",
                        f"sighting {sighting_id}",
                        f"ledger entry {fact.seq} records this sighting but its row is gone (deleted?)",
                    )
                )

        seen_results: set[tuple[str, str, str]] = set()
        probe_outputs: dict[str, dict[str, Any]] = {}
        for row in _rows(session, StageResult, report, StageResult.id):
            report.rows_checked += 1
            key = (row.item_sha256, row.stage, row.version)
            seen_results.add(key)
            signed_result = facts.analyses.get(key)
            ref = f"{row.stage}@{row.version} of {str(row.item_sha256)[:16]}…"
            if signed_result is None:
                report.problems.append(Problem("db", ref, "stage result has no analysis event"))
                continue
            try:
                digest = output_digest(row.output)
            except (TypeError, ValueError) as exc:
                report.problems.append(Problem("db", ref, f"stored output is not valid JSON data: {exc}"))
                continue
            if (signed_result.status, signed_result.digest) != (row.status, digest):
                report.problems.append(Problem("db", ref, "stage result differs from its signed output hash"))
            elif signed_result.error != row.error:
                report.problems.append(Problem("db", ref, "stage error text differs from its analysis event"))
            elif row.stage == "probe" and row.status == "ok" and isinstance(row.output, dict):
                probe_outputs[row.item_sha256] = row.output
        for key, analysis in facts.analyses.items():
            if key not in seen_results and key[0] in facts.ingests:
                report.problems.append(
                    Problem(
                        "cross",
                        f"{key[1]}@{key[2]} of {key[0][:16]}…",
                        f"ledger entry {analysis.seq} records this analysis but its stage result is gone (deleted?)",
                    )
                )
        for sha, output in probe_outputs.items():
            expected = tuple(output.get(k) for k in ("media_type", "mime", "width", "height", "duration_s"))
            expected += (output.get("media_meta") or {},)
            if sha in item_rows and item_rows[sha] != expected:
                report.problems.append(
                    Problem("db", sha, "item type/dimensions/metadata differ from its signed probe output")
                )

        signed_derived: dict[tuple[str, str], set[tuple[str, str, Any]]] = {}
        for (item_sha, stage, version), analysis in [*facts.analyses.items(), *facts.dropped]:
            for index, derived_sha in enumerate(analysis.derived):
                kinds = analysis.kinds
                kind = kinds[index] if kinds is not None and index < len(kinds) else None
                signed_derived.setdefault((derived_sha, item_sha), set()).add((stage, version, kind))
        seen_derived: set[tuple[str, str]] = set()
        for row in _rows(session, DerivedObject, report, DerivedObject.id):
            report.rows_checked += 1
            pair = (row.sha256, row.parent_sha256)
            seen_derived.add(pair)
            ref = f"derived {str(row.sha256)[:16]}… of {str(row.parent_sha256)[:16]}…"
            if row.stage == "capture":
                # Capture artifacts hang off the capture manifest (an item whose bytes list every artifact
                # hash); each artifact is also named by the signed capture event that made it.
                if row.sha256 not in facts.capture_digests:
                    report.problems.append(Problem("db", ref, "capture artifact is not named by any capture event"))
                elif _looks_like_digest(row.sha256):
                    needed[row.sha256] = "capture artifact"
                continue
            claims = signed_derived.get(pair)
            if claims is None:
                report.problems.append(Problem("db", ref, "derived object is not named by any analysis event"))
                continue
            if _looks_like_digest(row.sha256):
                needed[row.sha256] = "derived object"
            matching = [c for c in claims if (c[0], c[1]) == (row.stage, row.stage_version)]
            if not matching:
                report.problems.append(Problem("db", ref, "derived object's stage differs from its analysis event"))
            elif all(kind is not None and kind != row.kind for _s, _v, kind in matching):
                report.problems.append(Problem("db", ref, "derived object's kind differs from its analysis event"))
        for pair in signed_derived:
            if pair not in seen_derived and pair[1] in facts.ingests:
                report.problems.append(
                    Problem(
                        "cross",
                        f"derived {pair[0][:16]}… of {pair[1][:16]}…",
                        "an analysis event records this derived file but its row is gone (deleted?)",
                    )
                )
                needed.setdefault(pair[0], "derived object")
    for sha in facts.gallery_objects:
        needed.setdefault(sha, "gallery reference")
    return needed


def verify_workspace(
    ws: Any,
    *,
    objects: bool = True,
    progress: Callable[[int], None] | None = None,
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Check everything; ``expect_head`` (seq, hash) is a head recorded earlier outside the workspace, which
    the chain must still contain (RFC 3161 anchors cover the same ground up to the last anchor)."""
    report = VerifyReport()
    try:
        _verify(ws, report, objects=objects, progress=progress, expect_head=expect_head)
    except Exception as exc:  # noqa: BLE001 - a verifier reports; it does not crash on what it checks
        report.problems.append(Problem("verify", "internal", f"verification could not finish: {_first_line(exc)}"))
    return report


def _verify(
    ws: Any,
    report: VerifyReport,
    *,
    objects: bool,
    progress: Callable[[int], None] | None,
    expect_head: tuple[int, str] | None,
) -> None:
    keys = load_public_keys(ws.config.keys_dir)
    db_walker = ChainWalker(keys, "ledger-db", report)
    mirror_walker = ChainWalker(keys, "ledger-jsonl", report)
    facts = SignedFacts()
    head_found = False
    db_count = mirror_count = 0

    from idolguard.db.models import LedgerEntry

    with ws.sessions() as session:
        rows = _rows(session, LedgerEntry, report, LedgerEntry.seq)
        mirror = iter_jsonl(ws.config.ledger_path)
        for entry, mirrored in zip_longest(rows, mirror):
            db_line: str | None = None
            if entry is not None:
                db_count += 1
                db_line = entry.line if isinstance(entry.line, str) else None
                record, error = _parse(entry.line)
                if record is not None and _columns(entry) != _signed_columns(record):
                    report.problems.append(
                        Problem("ledger-db", f"seq {entry.seq}", "row columns differ from signed line")
                    )
                db_walker.feed(f"seq {entry.seq}", record, error and f"stored line is {error}", db_line)
                if expect_head and entry.seq == expect_head[0]:
                    head_found = entry.entry_hash == expect_head[1]
                if record is not None:
                    facts.add(record)
            if mirrored is not None:
                mirror_count += 1
                number, raw = mirrored
                text = raw.decode("utf-8", "replace")
                record, error = _parse(text)
                mirror_walker.feed(f"line {number}", record, error and f"line is {error}", text)
                if db_line is not None and db_line != text:
                    report.problems.append(
                        Problem("cross", f"seq {number - 1}", "database entry and JSONL mirror line differ")
                    )
    report.entries_checked = db_count
    report.mirror_lines_checked = mirror_count
    report.key_ranges = db_walker.ranges
    if db_walker.head:
        report.head_seq, report.head_hash = db_walker.head
    if db_count == 0 and mirror_count == 0:
        report.warnings.append(Problem("ledger-db", "ledger", "the ledger is empty: nothing has been recorded yet"))
    if mirror_count > db_count:
        report.problems.append(
            Problem("cross", "mirror", f"mirror has {mirror_count - db_count} entries the database lacks")
        )
    elif mirror_count < db_count:
        report.warnings.append(
            Problem(
                "cross",
                "mirror",
                f"mirror is {db_count - mirror_count} signed entries behind the database "
                "(interrupted write); the next write appends them",
            )
        )
    own_key = public_key_id(ws.config.keys_dir)
    if own_key and db_walker.current_key and own_key != db_walker.current_key:
        report.problems.append(
            Problem(
                "keys",
                own_key[:16],
                f"the workspace's public key is not the key the ledger has in force ({db_walker.current_key[:16]}…)",
            )
        )

    needed = check_rows(ws, facts, report)
    from idolguard.evidence.anchors import check_anchors

    check_anchors(ws, db_walker.hashes, report, facts.anchor_tokens)
    anchored_to = report.last_anchor["seq"] if report.last_anchor else -1
    report.items_after_last_anchor = sum(1 for fact in facts.ingests.values() if fact.seq > anchored_to)
    _check_capture_stamps(ws, report)
    _check_preview_cache(ws, facts, report)
    _check_official_collections(ws, report)
    if expect_head and not head_found:
        report.problems.append(
            Problem(
                "ledger-db",
                f"seq {expect_head[0]}",
                f"expected head {expect_head[0]}:{expect_head[1][:16]}… is not in the ledger "
                "(entries removed or replaced since it was recorded)",
            )
        )
    if objects:
        _check_vault(ws, needed, facts, report, progress)


def _columns(entry: Any) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.entry_hash,
        entry.prev_hash,
        entry.ts,
        entry.actor,
        entry.action,
        entry.item_sha256,
        entry.details,
        entry.key_id,
        entry.signature,
    )


def _signed_columns(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        record.get(name)
        for name in ("seq", "hash", "prev", "ts", "actor", "action", "item", "details", "key_id", "sig")
    )


def _check_capture_stamps(ws: Any, report: VerifyReport) -> None:
    """Captures whose manifest has no RFC 3161 token: their time rests on our own clock only. Read by table
    name: the capture area sits above the evidence layer and may not be installed."""
    from sqlalchemy import inspect, text

    try:
        with ws.sessions() as session:
            if "captures" not in inspect(session.get_bind()).get_table_names():
                return
            manifests = session.execute(text("SELECT id, manifest_sha256 FROM captures ORDER BY id")).all()
            stamped = set(
                session.execute(
                    text("SELECT parent_sha256 FROM derived_objects WHERE kind = 'capture_tsa_token'")
                ).scalars()
            )
    except Exception as exc:  # noqa: BLE001
        report.problems.append(Problem("db", "captures", f"table cannot be read: {_first_line(exc)}"))
        return
    for capture_id, manifest in manifests:
        if manifest and manifest not in stamped:
            report.unstamped.append(f"capture {capture_id} (manifest {str(manifest)[:16]}…)")


def _check_preview_cache(ws: Any, facts: SignedFacts, report: VerifyReport) -> None:
    """A warning per cached web preview (a blurred derivative, not evidence) whose vault object is gone: one
    left behind by an erasure must not outlive it (the web deletes such a file instead of serving it; deleting
    ``HOME/cache/previews`` is always safe). One ``stat`` per cached file."""
    listing = getattr(ws, "cached_previews", None)
    if listing is None:
        return
    for path in listing():
        sha = path.name.lstrip(".")[:64]
        if not _looks_like_digest(sha):
            continue
        try:
            if ws.vault.has(sha):
                continue
        except ValueError:
            continue
        code = Finding.PREVIEW_LEFT_DESTROYED if _decided(facts, sha) else Finding.PREVIEW_LEFT_GONE
        report.warnings.append(Problem.coded("vault", sha, code, file=f"{path.parent.name}/{path.name}"))


def _check_official_collections(ws: Any, report: VerifyReport) -> None:
    """Official collections (``artists official add``) whose artist is no longer enrolled: left by an
    ``artists remove`` from before it refused to leave them. Their hashes still keep those files from being
    reported and name them in source attribution, for nobody. A warning (the evidence itself is intact) that
    says how to retire the bank. Read by table name, as the capture check: those areas sit above this one."""
    from sqlalchemy import column, inspect, text

    from idolguard.db.base import UTCDateTime

    try:
        with ws.sessions() as session:
            tables = set(inspect(session.get_bind()).get_table_names())
            if not {"signal_banks", "signal_bank_entries", "gallery_artists"} <= tables:
                return
            banks = session.execute(
                text(
                    "SELECT b.name, b.description, b.created_at, COUNT(e.id) AS hashes FROM signal_banks b "
                    "LEFT JOIN signal_bank_entries e ON e.bank_id = b.id WHERE b.kind = 'negative' "
                    "AND b.name LIKE 'official.%' GROUP BY b.id, b.name, b.description, b.created_at ORDER BY b.name"
                ).columns(column("name"), column("description"), column("created_at", UTCDateTime()), column("hashes"))
            ).all()
            artists = session.execute(
                text("SELECT id, created_at FROM gallery_artists").columns(
                    column("id"), column("created_at", UTCDateTime())
                )
            ).all()
            enrolled = {artist_id: enrolled_at for artist_id, enrolled_at in artists}
    except Exception as exc:  # noqa: BLE001
        report.problems.append(Problem("db", "signal_banks", f"table cannot be read: {_first_line(exc)}"))
        return
    for name, description, created_at, hashes in banks:
        found = re.search(r"\(artist #(\d+)\)", str(description or ""))
        # Gone, or the id now belongs to someone enrolled after the bank was made (SQLite reuses ids).
        if found and not (int(found.group(1)) in enrolled and created_at >= enrolled[int(found.group(1))]):
            report.warnings.append(
                Problem.coded(
                    "db",
                    str(name),
                    Finding.OFFICIAL_ORPHANED,
                    artist_id=int(found.group(1)),
                    hashes=int(hashes),
                    bank=str(name),
                )
            )


def _check_vault(
    ws: Any,
    needed: dict[str, str],
    facts: SignedFacts,
    report: VerifyReport,
    progress: Callable[[int], None] | None,
) -> None:
    vault = ws.vault
    keyed = vault.keyed_objects() if facts.destroyed else set()  # for _erasure_left: one listing of keys/
    for sha in sorted(needed):
        try:
            present = vault.has(sha)
        except ValueError:
            report.problems.append(Problem("vault", repr(sha)[:80], "recorded object name is not a SHA-256 digest"))
            continue
        if _erasure_left(vault, sha, facts, report, present or sha in keyed):
            continue  # decided erasure not finished: what is left is not checked as evidence
        if not present:
            if _decided(facts, sha):
                report.destroyed.append(facts.destroyed[sha])  # erased by a signed decision, not lost
            else:
                report.problems.append(Problem("vault", sha, f"{needed[sha]} missing from the vault (deleted?)"))
            continue
        try:
            problem = vault.check(sha)
        except Exception as exc:  # noqa: BLE001 - an unreadable object is a finding
            problem = f"cannot be read: {_first_line(exc)}"
        report.objects_checked += 1
        if progress:
            progress(1)
        if problem:
            report.problems.append(Problem("vault", sha, problem))
        elif vault.encrypted and _vault_key_format(vault, sha):
            report.vault_key_objects += 1
    for sha in vault.iter_objects():
        if sha in needed:
            continue
        if not _looks_like_digest(sha):
            report.problems.append(Problem("vault", sha, "foreign file in the vault objects folder"))
            continue
        if _erasure_left(vault, sha, facts, report, True):
            continue
        problem = vault.check(sha)
        if problem:
            report.problems.append(Problem("vault", sha, problem))
        elif sha not in facts.mentioned:
            report.warnings.append(
                Problem("vault", sha, "object not referenced by any custody event (interrupted ingest?)")
            )


def _vault_key_format(vault: Any, sha: str) -> bool:
    try:
        return bool(crypto.encrypted_format(vault.path_for(sha)) == "v1")
    except OSError:
        return False


def _decided(facts: SignedFacts, sha: str) -> bool:
    return sha in facts.destroyed and len(set(facts.destroyed[sha]["approved_by"])) >= 2


def _erasure_left(vault: Any, sha: str, facts: SignedFacts, report: VerifyReport, anything: bool) -> bool:
    """True (and a warning) when a signed two-approver decision erased this object but files written before
    that decision are still there: an erasure interrupted by a crash, finished by running ``cases destroy``
    for the case again or by the next ``worker``/``serve`` start. The same content stored again after the
    decision is new evidence and is checked as usual."""
    if not anything or not _decided(facts, sha):  # ``anything``: the object or a key file exists
        return False
    decided_at = _ts(facts.destroyed[sha].get("decided_at"))
    gone = facts.destroyed[sha]
    try:
        left = vault.leftover(sha, decided_at) if decided_at is not None else ""
    except IntegrityError as exc:  # keys newer than the decision and no vault key: cannot tell, so say so
        report.destroyed.append(gone)
        report.problems.append(Problem("vault", sha, str(exc)))
        return True
    if not left:
        return False
    report.destroyed.append(gone)
    report.warnings.append(
        Problem.coded("vault", sha, Finding.ERASURE_UNFINISHED, seq=gone["decision_seq"], case=gone["case"], left=left)
    )
    return True


def _looks_like_digest(name: Any) -> bool:
    return isinstance(name, str) and len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def verify_jsonl_only(path: Path, keys_dir: Path) -> VerifyReport:
    """Walk a ledger mirror without any database (e.g. a copy handed to counsel with the public key)."""
    report = VerifyReport()
    walker = ChainWalker(load_public_keys(keys_dir), "ledger-jsonl", report)
    for number, raw in iter_jsonl(path):
        text = raw.decode("utf-8", "replace")
        record, error = _parse(text)
        walker.feed(f"line {number}", record, error and f"line is {error}", text)
    report.mirror_lines_checked = walker.count
    report.key_ranges = walker.ranges
    if walker.head:
        report.head_seq, report.head_hash = walker.head
    return report
