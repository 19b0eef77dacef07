"""HTML report sections: the hash matches of an item, and the incident it belongs to with its spread chart."""

from __future__ import annotations

import html
from typing import Any

from idolguard.report.html import data_uri
from idolguard.report.i18n import catalog, current, said, t
from idolguard.workspace import Workspace


def matches_section(ws: Workspace, obj: dict[str, Any]) -> str:
    parts: list[str] = []
    if obj.get("pdq") or obj.get("vpdq"):
        rows = []
        if obj.get("pdq"):
            quality = obj.get("pdq_quality")
            note = f" <em>{html.escape(said(obj, 'pdq_note'))}</em>" if obj.get("pdq_note") else ""
            rows.append(
                f"<tr><th>PDQ</th><td><code>{obj['pdq']}</code> ({html.escape(t('hashes.quality', q=quality))}){note}"
                "</td></tr>"
            )
        if obj.get("vpdq"):
            v = obj["vpdq"]
            rows.append(
                "<tr><th>vPDQ</th><td>"
                + html.escape(t("hashes.vpdq", hashed=v.get("frames_hashed"), usable=v.get("usable_frames")))
                + f" <code>{html.escape(str(v.get('digest')))}</code></td></tr>"
            )
        parts.append(f"<h3>{html.escape(t('hashes.title'))}</h3><table>" + "".join(rows) + "</table>")
    matches = obj.get("matches") or []
    if matches:
        rows = []
        for m in matches:
            detail = ""
            if m.get("query_ranges"):
                detail = t("hashes.ranges", query=m["query_ranges"], bank=m.get("bank_ranges"))
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        m["bank"],
                        _label("bank_kind", m.get("bank_kind")),
                        m["entry"],
                        m.get("signal"),
                        m["distance"],
                        _label("transform", m["transform"]),
                    )
                )
                + f"<td>{html.escape(detail)}</td></tr>"
            )
        header = "".join(
            f'<th style="width:auto">{html.escape(t("matches.col." + h))}</th>'
            for h in ("bank", "kind", "entry", "signal", "distance", "transform", "ranges")
        )
        title = html.escape(t("matches.title"))
        parts.append(f"<h3>{title}</h3><table><tr>" + header + "</tr>" + "".join(rows) + "</table>")
    incident = _incident_block(ws, obj)
    if incident:
        parts.append(incident)
    return "\n".join(parts)


def _label(group: str, code: Any) -> str:
    """A bank's kind or a match's transform (codes the matcher stores) in the report's language; a code this
    version has no label for as stored."""
    key = f"{group}.{code}"
    return t(key) if key in catalog(current()) else str(code)


def _incident_block(ws: Workspace, obj: dict[str, Any]) -> str:
    sha = obj.get("sha256")
    if not sha or not obj.get("matches"):
        return ""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import incident_detail, incident_of_item, spread_chart_svg

    sync(ws)
    incident_id = incident_of_item(ws, sha)
    if incident_id is None:
        return ""
    detail = incident_detail(ws, incident_id)
    svg = spread_chart_svg(detail)
    accounts = ", ".join(
        html.escape(f"{a['platform']}:{a['account']} ({a['sightings']})") for a in detail["accounts"][:20]
    )
    summary = t(
        "incident.summary",
        items=len(detail["items"]),
        sightings=len(detail["sightings"]),
        platforms=", ".join(detail["platforms"]) or "—",
        first=detail["first_seen"],
        last=detail["last_seen"],
    )
    chart = data_uri(svg.encode("utf-8"), "image/svg+xml")
    return (
        f"<h3>{html.escape(t('incident.title', id=detail['id'], state=detail['state']))}</h3>"
        f"<p>{html.escape(summary)}</p>"
        + (f"<p>{html.escape(t('incident.accounts', accounts='{}')).format(accounts)}</p>" if accounts else "")
        + f'<img alt="{html.escape(t("incident.chart_alt"))}" style="max-width:100%" src="{chart}">'
    )
