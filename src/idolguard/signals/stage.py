"""Pipeline stages: ``signals`` (hashes; pure) and ``match`` / ``face_match`` (bank lookup).

``signals`` needs nothing but the file, so its output is reused until its version changes. ``match`` and
``face_match`` read the banks through the ``banks`` resource the runner passes in (``store.BankReader``),
so their stored output describes the banks at analysis time; every bank change clears stored match results
(``banks`` module) so the next ``scan`` matches again against the current banks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict, cast

from idolguard.pipeline.resources import Resources
from idolguard.pipeline.stage import Stage, StageContext
from idolguard.signals.compute import all_signals


class SignalsOutput(TypedDict, total=False):
    """What ``signals`` stores (``all_signals``): digests always, PDQ for images, vPDQ for videos."""

    sha256: str
    md5: str
    pdq: str | None
    pdq_quality: int | None
    pdq_usable: bool
    pdq_note: str | None
    pdq_note_code: str | None
    pdq_note_params: dict[str, Any]
    pdq_decode: str
    extra_pdq: list[dict[str, Any]]
    vpdq: dict[str, Any]
    vpdq_frames: list[list[Any]]


class MatchOutput(TypedDict):
    matches: list[dict[str, Any]]


class FaceMatchOutput(TypedDict):
    pdq_faces: list[dict[str, Any]]
    face_matches: list[dict[str, Any]]
    query_jitter: bool


def entries_gone(session: Any, output: Mapping[str, Any]) -> str | None:
    """``Stage.not_storable`` for the stages that name bank entries: the entries an output names (``entry``
    anywhere in it) that no longer exist *as matched*, said in a line (None: all there, or none named). The
    matcher read the banks in its own session; a ``bank delete``/``bank remove`` committed before this output is
    stored would leave a signed result naming a bank and entries that are gone, which no hit or incident could
    record. An id is not an identity: SQLite hands a deleted top id to the next entry added (another bank's,
    another source item's), so each named row's recorded bank name and kind, signal type and source item are
    compared with the entry that holds the id now (``entry_differs``); a difference counts as gone (review s8
    finding 1). A bank renamed in between counts too: the runner analyses the item again at once."""
    from sqlalchemy import select

    from idolguard.signals.bank_changes import _dicts
    from idolguard.signals.models import Bank, BankEntry

    rows = [row for row in _dicts(dict(output)) if isinstance(row.get("entry"), int)]
    named = sorted({row["entry"] for row in rows})
    if not named:
        return None
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(named), 900):
        chunk = named[start : start + 900]
        query = (
            select(BankEntry.id, BankEntry.signal_type, BankEntry.source_item, Bank.name, Bank.kind)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(BankEntry.id.in_(chunk))
        )
        for entry_id, signal_type, source_item, bank, kind in session.execute(query).tuples():
            found[entry_id] = {"signal_type": signal_type, "source_item": source_item, "bank": bank, "bank_kind": kind}
    gone = sorted({row["entry"] for row in rows if entry_differs(row, found.get(row["entry"]), ("bank",))})
    return f"bank entries {gone} were removed after the scan matched them" if gone else None


def attributions_gone(session: Any, output: Mapping[str, Any]) -> str | None:
    """``Stage.not_storable`` of ``source_attribution``: its rows name no entry but an official item and the
    bank it was found in; a row whose bank no longer holds an entry from that item (the bank or the item's
    entries removed meanwhile) would be a signed result naming a collection that is gone."""
    from sqlalchemy import select

    from idolguard.signals.models import Bank, BankEntry

    named = sorted(
        {
            (row["bank"], row["official_item"])
            for row in output.get("source_attribution") or []
            if isinstance(row, dict) and isinstance(row.get("bank"), str) and isinstance(row.get("official_item"), str)
        }
    )
    gone = [
        (bank, item)
        for bank, item in named
        if session.execute(
            select(BankEntry.id)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.name == bank, BankEntry.source_item == item)
            .limit(1)
        ).first()
        is None
    ]
    if not gone:
        return None
    return f"official items {[f'{bank}/{item[:12]}' for bank, item in gone]} were removed after the scan found them"


def entry_differs(row: Mapping[str, Any], now: Mapping[str, Any] | None, also: tuple[str, ...] = ()) -> bool:
    """Whether the entry a stored match row names is gone or is another entry now (an id reused by SQLite):
    ``now`` holds the entry's current ``signal_type``, ``source_item`` and ``bank_kind`` (and ``also``, e.g. the
    bank's name, which only a rename changes); each that the row recorded must be the same."""
    if now is None:
        return True
    return any(key in row and row[key] != now.get(key) for key in ("signal_type", "source_item", "bank_kind", *also))


SIGNALS_VERSION = "1"
MATCH_VERSION = "1"


class SignalsStage(Stage):
    name: ClassVar[str] = "signals"
    version: ClassVar[str] = SIGNALS_VERSION
    needs: ClassVar[tuple[str, ...]] = ("probe",)
    produces: ClassVar[tuple[str, ...]] = (
        "md5",
        "pdq",
        "pdq_quality",
        "pdq_note",
        "pdq_note_code",
        "pdq_note_params",
        "vpdq",
    )
    description: ClassVar[str] = "SHA-256, MD5, PDQ + quality (images), vPDQ (videos)"

    def run(self, ctx: StageContext) -> SignalsOutput:
        # ``[signals] exact_pdq`` (``match --exact`` for one run): hash images with the reference decode.
        exact = bool((ctx.settings.get("signals") or {}).get("exact_pdq", False))
        output = all_signals(ctx.path, ctx.media_type, ctx.limits, exact=exact)
        if ctx.media_type == "image":
            output["pdq_decode"] = "reference" if exact else "fast"  # recorded: it changes the PDQ
        return cast(SignalsOutput, output)

    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        super().contribute(obj, output)
        if output.get("extra_pdq"):
            obj["pdq_extra"] = [{k: e[k] for k in ("signal", "pdq", "quality")} for e in output["extra_pdq"]]


class MatchStage(Stage):
    name: ClassVar[str] = "match"
    version: ClassVar[str] = MATCH_VERSION
    needs: ClassVar[tuple[str, ...]] = ("signals",)
    produces: ClassVar[tuple[str, ...]] = ("matches",)
    description: ClassVar[str] = "match hashes against the enabled banks (exact, PDQ + dihedral, vPDQ)"
    uses: ClassVar[tuple[str, ...]] = ("banks",)

    def not_storable(self, session: Any, output: Mapping[str, Any]) -> str | None:
        return entries_gone(session, output)

    def run(self, ctx: StageContext) -> MatchOutput:
        from idolguard.signals.matcher import match_signals

        banks = ctx.resources.need("banks", self.name)
        return {"matches": match_signals(banks.workspace, ctx.inputs["signals"], banks.store)}


class FaceMatchStage(Stage):
    """Face-anchored PDQ of each detected face, matched against banked faces and geometrically verified.

    Separate from ``match`` so that plain matching never waits for (or depends on) face detection.
    """

    name: ClassVar[str] = "face_match"
    version: ClassVar[str] = "3"  # 2: query faces hashed with landmark jitter
    needs: ClassVar[tuple[str, ...]] = ("faces", "signals", "match")
    produces: ClassVar[tuple[str, ...]] = ("pdq_faces",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})
    description: ClassVar[str] = "face-anchored PDQ + ORB/RANSAC verification (survives crops, rotation, screenshots)"
    uses: ClassVar[tuple[str, ...]] = ("banks",)

    def not_storable(self, session: Any, output: Mapping[str, Any]) -> str | None:
        return entries_gone(session, output)

    def run(self, ctx: StageContext) -> FaceMatchOutput:
        from idolguard.signals.face_match import item_face_hashes, match_faces, query_jitter

        faces = [f for f in ctx.inputs["faces"].get("faces") or [] if f.get("landmarks")]
        jitter = query_jitter(ctx.settings)
        hashes, luma = item_face_hashes(ctx.path, ctx.limits, faces, jitter=jitter)
        output: FaceMatchOutput = {
            "pdq_faces": [{k: h[k] for k in ("face", "pdq", "quality")} for h in hashes],
            "face_matches": [],
            "query_jitter": jitter,  # the setting used (it changes which banked faces are found)
        }
        if hashes:
            banks = ctx.resources.need("banks", self.name)
            already = {m["source_item"] for m in ctx.inputs["match"].get("matches", []) if m.get("source_item")}
            output["face_matches"] = match_faces(banks.workspace, hashes, luma, banks.store, already=already)
        return output

    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        from idolguard.signals.matcher import merge_face_matches

        super().contribute(obj, output)
        obj["matches"] = merge_face_matches(obj.get("matches") or [], output.get("face_matches", []))


class SourceAttributionOutput(TypedDict):
    source_attribution: list[dict[str, Any]]


class SourceAttributionStage(Stage):
    """Was a face in this picture or video copied from one of the artist's official photos (``negative``
    banks, e.g. ``artists official add``)?

    Inner-face PDQ candidates from the official collection, verified by ORB + RANSAC on the aligned inner
    crops (``signals/attribution.py``); a verified pair names the official item and keeps the aligned pair.
    In a video, keyframes of every face track are checked and each track gets its own rows.
    """

    name: ClassVar[str] = "source_attribution"
    version: ClassVar[str] = "2"
    needs: ClassVar[tuple[str, ...]] = ("faces", "signals")
    produces: ClassVar[tuple[str, ...]] = ("source_attribution",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    description: ClassVar[str] = "source-face attribution: faces copied from official photos (negative banks)"
    uses: ClassVar[tuple[str, ...]] = ("banks",)

    def not_storable(self, session: Any, output: Mapping[str, Any]) -> str | None:
        return entries_gone(session, output) or attributions_gone(session, output)

    def run(self, ctx: StageContext) -> SourceAttributionOutput:
        from idolguard.signals.attribution import attribute_faces, attribute_video
        from idolguard.signals.face_match import luma_of
        from idolguard.signals.pdq import reference_rgb

        faces_output = ctx.inputs["faces"]
        faces = [f for f in faces_output.get("faces") or [] if f.get("landmarks")]
        if not faces:
            return {"source_attribution": []}
        banks = ctx.resources.need("banks", self.name)
        if not len(banks.store.get("pdq_inner")):
            return {"source_attribution": []}

        def keep(png: bytes) -> str:
            return ctx.add_derived(png, "attribution_pair", "image/png")

        pair = keep if ctx.persist else None
        if "face_tracks" in faces_output:  # a video (or an animation): per-track keyframes
            if ctx.media_type != "video":
                return {"source_attribution": []}
            found = attribute_video(banks.workspace, banks.store, ctx.path, ctx.limits, faces_output, ctx.sha256, pair)
            return {"source_attribution": found}
        luma = luma_of(reference_rgb(ctx.path, ctx.limits))
        found = attribute_faces(banks.workspace, banks.store, luma, faces, ctx.sha256, pair)
        return {"source_attribution": found}
