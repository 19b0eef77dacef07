"""The manipulation block of the HTML evidence report: verdict, per-face scores, heat maps, C2PA."""

from __future__ import annotations

import html
from typing import Any

from idolguard.report.html import data_uri
from idolguard.workspace import Workspace


def _fmt(score: Any) -> str:
    return f"{score:.2f}" if isinstance(score, (int, float)) else "–"


def render(ws: Workspace, obj: dict[str, Any]) -> str:
    info = obj.get("manipulation")
    if not isinstance(info, dict):
        return ""
    esc = html.escape
    model = info.get("model") or {}
    parts = [
        "<h3>Manipulation</h3>",
        f"<p><b>{esc(str(obj.get('verdict')))}</b> (score {_fmt(obj.get('manipulation_score'))}): "
        f"{esc(str(obj.get('verdict_reason', '')))}</p>",
        f"<p class='small'>model {esc(str(model.get('name')))} {esc(str(model.get('version')))}; calibration "
        f"{esc(str(info.get('calibration')))}; {esc(str(info.get('rules', '')))}. Red areas in a heat map pushed "
        "the score towards 'manipulated'. A detector score is a lead for a human reviewer, not proof.</p>",
    ]
    rows = []
    for face in info.get("faces") or []:
        img = ""
        sha = face.get("heatmap_sha256")
        if sha:
            try:
                img = f"<img alt='heat map' width='256' src='{data_uri(ws.vault.read_bytes(sha), 'image/png')}'>"
            except Exception:  # noqa: BLE001 - a missing heat map must not break the report
                img = f"heat map {esc(sha[:16])} unavailable"
        label = f"face {face.get('index')}" + (
            f", track {face.get('track_id')}" if face.get("track_id") is not None else ""
        )
        detail = esc(str(face.get("reason") or f"{face.get('frames_scored') or 0} frame(s) scored"))
        rows.append(
            f"<tr><td>{esc(label)}</td><td>{_fmt(face.get('manipulation_score'))}</td><td>{detail}</td><td>{img}</td></tr>"
        )
    if rows:
        parts.append(
            "<table><tr><th>face</th><th>score</th><th>detail</th><th>heat map</th></tr>" + "".join(rows) + "</table>"
        )
    cc = obj.get("content_credentials") or {}
    if cc.get("present"):
        parts.append(
            f"<p>Content Credentials: signature {'valid' if cc.get('signature_valid') else 'INVALID'}"
            f"{'; declares generative AI' if cc.get('ai_generated') else ''}; generator "
            f"{esc(str(cc.get('claim_generator')))}; signer {esc(str(cc.get('signer')))}.</p>"
        )
    else:
        parts.append("<p class='small'>No C2PA Content Credentials (absence proves nothing).</p>")
    return "\n".join(parts)
