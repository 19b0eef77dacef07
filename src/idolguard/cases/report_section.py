"""Per-item HTML report section: the provenance leads of an item (tool, device, generator settings)."""

from __future__ import annotations

import html
from typing import Any

from idolguard.report.i18n import t
from idolguard.workspace import Workspace

SHOWN = ("tool", "model", "model_hash", "seed", "sampler", "steps")


def provenance_section(ws: Workspace, obj: dict[str, Any]) -> str:
    leads = (obj.get("provenance") or {}).get("leads") or []
    if not leads:
        return ""
    rows = []
    for lead in leads:
        value = lead.get("value")
        if lead["kind"] in ("generator_parameters", "generator_workflow"):
            value = "; ".join(f"{k}: {lead[k]}" for k in SHOWN if lead.get(k)) or t("provenance.parameters")
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (lead["source"], str(value)[:300], lead["meaning"], lead["trust"])
            )
            + "</tr>"
        )
    columns = ("source", "value", "meaning", "trust")
    header = "".join(f"<th>{html.escape(t('provenance.col.' + c))}</th>" for c in columns)
    return f"<h3>{html.escape(t('provenance.title'))}</h3><table><tr>{header}</tr>" + "".join(rows) + "</table>"
