"""The faces block of the HTML evidence report: each face's aligned crop next to who it was matched to and how
confidently, so a reviewer can check the machine's identity call by eye."""

from __future__ import annotations

import html
from typing import Any

from idolguard.faces.outputs import named_only_when_matched
from idolguard.report.html import data_uri
from idolguard.report.i18n import catalog, t
from idolguard.workspace import Workspace

DECISION_LABEL = {"match": "faces.match", "possible": "faces.possible", "no_match": "faces.no_match"}  # catalog keys


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else html.escape(str(value))


def _decision(value: Any) -> str:
    key = DECISION_LABEL.get(str(value or ""))
    return t(key) if key else str(value)


def _review_reason(face: dict[str, Any]) -> str:
    """Why a face was capped at ``possible`` (``review_reason``), said from the catalog, never as the raw code;
    a code the catalog lacks (a newer version's) is shown as it is rather than hidden."""
    code = face.get("review_reason")
    if not code:
        return ""
    known = f"faces.review.{code}" in catalog("en")
    said = t(f"faces.review.{code}") if known else str(code)
    return f'<br><small class="review-reason">{html.escape(said)}</small>'


def faces_section(ws: Workspace, obj: dict[str, Any]) -> str:
    faces = obj.get("faces")
    if faces is None:
        return ""
    if not faces:
        return f"<p>{html.escape(t('faces.none'))}</p>"
    rows = []
    for face in faces:
        crop = ""
        sha = face.get("crop_sha256")
        if sha and ws.vault.has(sha):
            src = data_uri(ws.vault.read_bytes(sha), "image/png")
            crop = f'<img alt="{html.escape(t("faces.crop_alt"))}" width="112" height="112" src="{src}">'
        when = f"t={face['frame_t']:.2f}s" if isinstance(face.get("frame_t"), float) else ""
        rows.append(
            "<tr>"
            f"<td>{crop}</td>"
            f"<td>{html.escape(str(named_only_when_matched(face).get('artist') or '-'))}</td>"
            f"<td>{html.escape(_decision(face.get('decision')))}{_review_reason(face)}</td>"
            f"<td>{_fmt(face.get('similarity'))}</td><td>{_fmt(face.get('margin'))}</td>"
            f"<td>{_fmt(face.get('quality'), 2)}</td><td>{_fmt(face.get('det_score'), 2)}</td>"
            f"<td>{_fmt(face.get('track_id'))} {html.escape(when)}</td>"
            "</tr>"
        )
    columns = ("crop", "artist", "decision", "similarity", "margin", "quality", "detection", "track")
    header = "<tr>" + "".join(f"<th>{html.escape(t('faces.col.' + c))}</th>" for c in columns) + "</tr>"
    note = f"<p>{html.escape(t('faces.note'))}</p>"
    return f"{note}<table>{header}{''.join(rows)}</table>"
