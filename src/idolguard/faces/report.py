"""The faces block of the HTML evidence report: each face's aligned crop next to who it was matched to and how
confidently, so a reviewer can check the machine's identity call by eye."""

from __future__ import annotations

import html
from typing import Any

from idolguard.report.html import data_uri
from idolguard.workspace import Workspace

DECISION_LABEL = {"match": "MATCH", "possible": "possible - needs review", "no_match": "no match"}


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else html.escape(str(value))


def faces_section(ws: Workspace, obj: dict[str, Any]) -> str:
    faces = obj.get("faces")
    if faces is None:
        return ""
    if not faces:
        return "<p>No face found.</p>"
    rows = []
    for face in faces:
        crop = ""
        sha = face.get("crop_sha256")
        if sha and ws.vault.has(sha):
            src = data_uri(ws.vault.read_bytes(sha), "image/png")
            crop = f'<img alt="face crop" width="112" height="112" src="{src}">'
        when = f"t={face['frame_t']:.2f}s" if isinstance(face.get("frame_t"), float) else ""
        rows.append(
            "<tr>"
            f"<td>{crop}</td>"
            f"<td>{html.escape(str(face.get('artist') or '-'))}</td>"
            f"<td>{html.escape(DECISION_LABEL.get(face.get('decision') or '', str(face.get('decision'))))}</td>"
            f"<td>{_fmt(face.get('similarity'))}</td><td>{_fmt(face.get('margin'))}</td>"
            f"<td>{_fmt(face.get('quality'), 2)}</td><td>{_fmt(face.get('det_score'), 2)}</td>"
            f"<td>{_fmt(face.get('track_id'))} {html.escape(when)}</td>"
            "</tr>"
        )
    header = (
        "<tr><th>crop</th><th>artist</th><th>decision</th><th>similarity</th><th>margin</th>"
        "<th>quality</th><th>detection</th><th>track / time</th></tr>"
    )
    note = (
        "<p>Identity is a similarity between face embeddings (SFace), not proof: a 'match' means the score "
        "passed the calibrated threshold; 'possible' needs a human decision.</p>"
    )
    return f"{note}<table>{header}{''.join(rows)}</table>"
