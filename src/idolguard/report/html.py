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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from idolguard import __version__
from idolguard.db.models import DerivedObject, Sighting
from idolguard.registry import report_sections
from idolguard.workspace import Workspace

IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml"}
MAX_EMBED_BYTES = 2_000_000


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _environment() -> Environment:
    return Environment(loader=PackageLoader("idolguard.report"), autoescape=select_autoescape(["html", "j2"]))


def _item_context(ws: Workspace, obj: dict[str, Any]) -> dict[str, Any]:
    sha = obj.get("sha256")
    sightings: list[Sighting] = []
    derived: list[dict[str, Any]] = []
    if sha and not (obj.get("error") and obj.get("size") is None):
        with ws.sessions() as session:
            sightings = list(
                session.execute(select(Sighting).where(Sighting.item_sha256 == sha).order_by(Sighting.id)).scalars()
            )
            rows = session.execute(select(DerivedObject).where(DerivedObject.parent_sha256 == sha)).scalars().all()
        for row in rows[:48]:
            entry: dict[str, Any] = {"sha256": row.sha256, "kind": row.kind, "stage": row.stage, "src": None}
            if row.mime in IMAGE_MIMES:
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
            extra.append({"name": name, "html": fragment})
    meta = {k: v for k, v in obj.items() if k not in {"stages", "stage_errors", "media_meta", "error"}}
    return {
        "obj": obj,
        "meta_json": json.dumps(obj.get("media_meta") or {}, indent=2, ensure_ascii=False, default=str),
        "fields_json": json.dumps(meta, indent=2, ensure_ascii=False, default=str),
        "sightings": sightings,
        "derived": derived,
        "sections": extra,
    }


def render_report(ws: Workspace, objects: list[dict[str, Any]], title: str = "IdolGuard evidence report") -> str:
    from idolguard.db.models import LedgerEntry

    with ws.sessions() as session:
        head = session.execute(
            select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
        ).first()
    template = _environment().get_template("report.html.j2")
    return template.render(
        head=f"{head.seq}:{head.entry_hash}" if head else None,
        title=title,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        version=__version__,
        workspace=str(ws.home),
        actor=ws.actor,
        key_id=ws.signing_key.key_id,
        items=[_item_context(ws, obj) for obj in objects],
        escape=html.escape,
    )


def write_report(ws: Workspace, objects: list[dict[str, Any]], dest: Path) -> str:
    """Write the report and record its hash as an export event; returns the report's SHA-256."""
    text = render_report(ws, objects)
    data = text.encode("utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, dest)  # readers see the old report or the new one, never half of one
    digest = hashlib.sha256(data).hexdigest()
    with ws.write() as (_session, ledger):
        ledger.append(
            "export",
            details={
                "kind": "html_report",
                "path": str(dest),
                "report_sha256": digest,
                "items": [o["sha256"] for o in objects if o.get("sha256")],
            },
        )
    return digest
