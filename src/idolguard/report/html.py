"""Self-contained HTML evidence report: one section per item, hashes first, no external resources.

Images (derived thumbnails, face crops, heat maps, charts) are embedded as data URIs so the file stays
complete when e-mailed or archived. Areas add per-item blocks by declaring ``report_sections`` in their
``Area`` (``idolguard.registry.report_sections()``), so a report written without the CLI has every section.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select

from idolguard import __version__
from idolguard.db.models import DerivedObject
from idolguard.display import json_line, safe_layout, safe_text
from idolguard.evidence.actions import Action
from idolguard.registry import report_sections
from idolguard.report import i18n
from idolguard.workspace import Workspace

IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml"}
MAX_EMBED_BYTES = 2_000_000


# Derived images that only their own report section shows, and only blurred (the aligned pair of a face
# copied from an official photo is a sharp face crop of possibly sexual media).
BLURRED_ELSEWHERE = frozenset({"attribution_pair"})


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _visible(value: Any) -> Any:
    """Every value the template prints: untrusted text (names, URLs, notes) shows control characters, bidi
    overrides and newlines as visible escapes; fragments already built as HTML (Markup) pass unchanged."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return safe_text(value)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("idolguard.report"),
        autoescape=select_autoescape(["html", "j2"]),
        finalize=_visible,
    )


def _json_block(value: Any) -> Markup:
    return Markup(html.escape(json_line(value, indent=2), quote=False))


def _item_context(ws: Workspace, obj: dict[str, Any]) -> dict[str, Any]:
    sha = obj.get("sha256")
    sightings: list[SignedSighting] = []
    derived: list[dict[str, Any]] = []
    if sha and not (obj.get("error") and obj.get("size") is None):
        sightings = signed_sightings(ws, sha)
        with ws.sessions() as session:
            rows = session.execute(select(DerivedObject).where(DerivedObject.parent_sha256 == sha)).scalars().all()
        for row in rows[:48]:
            entry: dict[str, Any] = {"sha256": row.sha256, "kind": row.kind, "stage": row.stage, "src": None}
            if row.mime in IMAGE_MIMES and row.kind not in BLURRED_ELSEWHERE:
                try:
                    data = ws.vault.read_verified(row.sha256)
                    if len(data) <= MAX_EMBED_BYTES:
                        entry["src"] = data_uri(data, row.mime)
                except Exception:  # noqa: BLE001 - a broken derived file is shown as missing, not fatal
                    entry["src"] = None
            derived.append(entry)
    extra = []
    for name, render in report_sections():
        fragment = render(ws, obj)
        if fragment:
            extra.append({"name": name, "html": Markup(safe_layout(fragment))})
    meta = {
        k: v for k, v in obj.items() if k not in {"stages", "stage_errors", "stage_error_codes", "media_meta", "error"}
    }
    return {
        "obj": obj,
        "meta_json": _json_block(obj.get("media_meta") or {}),
        "fields_json": _json_block(meta),
        "sightings": sightings,
        "derived": derived,
        "sections": extra,
    }


@dataclass
class SignedSighting:
    """A sighting as its signed custody entry records it (not as a database row says): what the report shows
    is exactly what the ledger signature covers, and an entry whose signature fails is marked, not shown as
    fact."""

    id: Any
    seq: int
    recorded_at: str
    actor: str
    source_path: str | None
    source_url: str | None
    platform: str | None
    account: str | None
    seen_at: str | None
    note: str | None
    file_mtime: str | None
    archive_sha256: str | None
    archive_member: str | None
    verified: bool


def signed_sightings(ws: Workspace, sha: str) -> list[SignedSighting]:
    from idolguard.db.models import LedgerEntry
    from idolguard.evidence.actions import Action, parse_action
    from idolguard.evidence.keys import load_public_keys

    keys = load_public_keys(ws.config.keys_dir)
    out: list[SignedSighting] = []
    with ws.sessions() as session:
        entries = session.execute(
            select(LedgerEntry.seq, LedgerEntry.line).where(LedgerEntry.item_sha256 == sha).order_by(LedgerEntry.seq)
        ).all()
    for seq, line in entries:
        try:
            record = json.loads(line)
        except (TypeError, ValueError):
            continue
        if parse_action(record.get("action")) not in (Action.INTAKE_INGEST, Action.INTAKE_SIGHTING):
            continue
        details = record.get("details") if isinstance(record.get("details"), dict) else {}
        out.append(
            SignedSighting(
                details.get("sighting_id"),
                seq,
                str(record.get("ts", "")).replace("T", " ")[:19],
                str(record.get("actor", "")),
                details.get("source_path"),
                details.get("source_url"),
                details.get("platform"),
                details.get("account"),
                details.get("seen_at"),
                details.get("note"),
                details.get("file_mtime"),
                details.get("archive_sha256"),
                details.get("archive_member"),
                _signature_ok(record, keys),
            )
        )
    return out


def _signature_ok(record: dict[str, Any], keys: dict[str, Any]) -> bool:
    from idolguard.evidence.canonical import canonical_bytes
    from idolguard.evidence.verify import BODY_FIELDS

    try:
        raw = canonical_bytes({name: record[name] for name in BODY_FIELDS})
        key = keys.get(record["key_id"])
        if key is None or hashlib.sha256(raw).hexdigest() != record["hash"]:
            return False
        key.verify(base64.b64decode(record["sig"], validate=True), raw)
    except Exception:  # noqa: BLE001 - any failure means "not verified"
        return False
    return True


def _last_anchor(ws: Workspace) -> dict[str, Any] | None:
    from idolguard.evidence.anchors import load_anchors
    from idolguard.evidence.tsa_token import read_token

    anchors, _strays = load_anchors(ws.home)
    for anchor in reversed(anchors):
        times = [read_token(token).gen_time for _path, token in anchor.tokens]
        times = [t for t in times if t]
        if times:
            return {"seq": anchor.seq, "hash": anchor.entry_hash, "gen_time": min(times)}
    return None


def _marked_up(key: str, **values: Any) -> Markup:
    """A catalog string whose values are HTML fragments (``<code>`` commands): the text is escaped, the
    fragments are kept, plain values are escaped by ``Markup.format``."""
    return Markup(html.escape(i18n.t(key), quote=False)).format(**values)


def _failure(text: Any, code: Any = None, params: Any = None) -> str:
    """A stored failure (a file's ``error``, a stage's error text) in the report's language: from its typed code
    where the file was refused at intake, else from the CLI's error templates (``cli_lang.tr_stored``); text no
    template matches stays as stored."""
    from idolguard.cli_lang import tr_stored

    return tr_stored(
        str(text), str(code) if code else None, params if isinstance(params, dict) else None, i18n.current()
    )


def _stage_failure(obj: dict[str, Any], stage: str) -> str:
    """A stage's stored error in the report's language: from the code the runner stored beside it, else (a
    result stored before codes were) from its text as ``_failure`` says it."""
    coded = (obj.get("stage_error_codes") or {}).get(stage) or {}
    return _failure((obj.get("stage_errors") or {}).get(stage) or "", coded.get("code"), coded.get("params"))


def item_failure(obj: dict[str, Any], lang: str | None = None) -> str:
    """Why an item failed, for people (the report's language, or ``lang``: the scan table says it too): a
    stage's failure names the step in words ("File check failed: ...") and says its error from its code,
    never the stored ``"probe: ..."`` (the pipeline's internal stage name, kept in ``error`` for ``--json``
    readers); a file refused at intake is said from its own code."""
    if lang is not None:
        with i18n.speaking(lang):
            return item_failure(obj)
    stage_errors = obj.get("stage_errors") or {}
    stage = next((name for name in obj.get("stages") or {} if name in stage_errors), None)
    if stage is None:
        return _failure(obj.get("error"), obj.get("error_code"), obj.get("error_params"))
    return i18n.t("item_failure", stage=stage_label(stage), error=_stage_failure(obj, stage))


def stage_label(stage: str) -> str:
    """A stage named in words in the report's language (a plug-in's stage: its own name)."""
    key = f"stage.{stage}"
    return i18n.t(key) if key in i18n.catalog("en") else stage


def outdated_notice(obj: dict[str, Any]) -> str:
    """The notice for an item whose stored results of some steps are older than the steps installed now
    (``outdated_stages``): those sections are missing because the analysis is out of date, which a reader must
    not take for "no face found"; empty when everything shown is current."""
    stages = [str(s) for s in obj.get("outdated_stages") or []]
    return i18n.t("outdated", stages=", ".join(stage_label(s) for s in stages)) if stages else ""


def _media_type(value: Any) -> str:
    """``image``/``video``/``other`` in the report's language (another value as stored)."""
    key = f"media.{value}"
    return i18n.t(key) if value and key in i18n.catalog("en") else str(value or "\u2014")


def _code(text: Any) -> Markup:
    return Markup("<code>{}</code>").format(safe_text(str(text)))


def render_report(
    ws: Workspace, objects: list[dict[str, Any]], title: str | None = None, *, lang: str | None = None
) -> str:
    """The report in ``lang`` (``ko``/``en``; by default the command line's language, ``cli_lang.current()``)."""
    from idolguard.db.models import LedgerEntry

    with i18n.speaking(i18n.resolve(lang)) as chosen:
        with ws.sessions() as session:
            head = session.execute(
                select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
            ).first()
        template = _environment().get_template("report.html.j2")
        return _render(ws, objects, template, head, title or i18n.t("title"), chosen)


def _render(ws: Workspace, objects: list[dict[str, Any]], template: Any, head: Any, title: str, lang: str) -> str:
    return str(
        template.render(
            lang=lang,
            t=i18n.t,
            tm=_marked_up,
            code=_code,
            failure=_failure,
            stage_failure=_stage_failure,
            item_failure=item_failure,
            outdated=outdated_notice,
            media_type=_media_type,
            head=f"{head.seq}:{head.entry_hash}" if head else None,
            title=title,
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            version=__version__,
            workspace=str(ws.home),
            actor=ws.actor,
            key_id=ws.public_key_id,
            anchor=_last_anchor(ws),
            items=[_item_context(ws, obj) for obj in objects],
            escape=html.escape,
        )
    )


def write_report(ws: Workspace, objects: list[dict[str, Any]], dest: Path, *, lang: str | None = None) -> str:
    """Write the report (in ``lang``, by default the command line's language) and record its hash as an
    export event; returns the report's SHA-256."""
    chosen = i18n.resolve(lang)
    text = render_report(ws, objects, lang=chosen)
    data = text.encode("utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, dest)  # readers see the old report or the new one, never half of one
    digest = hashlib.sha256(data).hexdigest()
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.REPORT_EXPORT,
            details={
                "kind": "html_report",
                "path": str(dest),
                "report_sha256": digest,
                "lang": chosen,
                "items": [o["sha256"] for o in objects if o.get("sha256")],
            },
        )
    return digest
