"""Per-item HTML report section: the provenance leads of an item (tool, device, generator settings).

Where a lead was found and what it means are said from the codes the provenance stage stores beside the English
(``report.i18n.said``); leads stored before the codes show their English."""

from __future__ import annotations

import html
from typing import Any

from idolguard.cases.provenance import MANIFEST_PRESENT, recoded
from idolguard.report.i18n import catalog, current, said, t
from idolguard.workspace import Workspace

SHOWN = ("tool", "model", "model_hash", "seed", "sampler", "steps")


def _trust(level: Any) -> str:
    """A lead's trust level in the report's language (an unknown level as stored)."""
    key = f"provenance.trust.{level}"
    return t(key) if key in catalog(current()) else str(level)


def provenance_section(ws: Workspace, obj: dict[str, Any]) -> str:
    leads = (obj.get("provenance") or {}).get("leads") or []
    if not leads:
        return ""
    rows = []
    for stored in leads:
        lead = recoded(stored)  # stored before its place had a code: said from the text
        value = lead.get("value")
        if lead["kind"] == "c2pa" and value == MANIFEST_PRESENT:
            value = t("provenance.manifest_present")
        if lead["kind"] in ("generator_parameters", "generator_workflow"):
            value = "; ".join(f"{k}: {lead[k]}" for k in SHOWN if lead.get(k)) or t("provenance.parameters")
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (said(lead, "source"), str(value)[:300], said(lead, "meaning"), _trust(lead.get("trust")))
            )
            + "</tr>"
        )
    columns = ("source", "value", "meaning", "trust")
    header = "".join(f"<th>{html.escape(t('provenance.col.' + c))}</th>" for c in columns)
    return f"<h3>{html.escape(t('provenance.title'))}</h3><table><tr>{header}</tr>" + "".join(rows) + "</table>"
