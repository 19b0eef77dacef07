"""The manipulation block of the HTML evidence report: verdict, per-face scores, heat maps, C2PA.

Labels and sentences come from the report catalog in the report's language (``report.i18n``); the analysis's
own explanations (``verdict_reason``, a family's ``explanation``, a face's ``reason``, the rules) are said from
the codes stored beside them (``report.i18n.said``), or as stored when an older output has none."""

from __future__ import annotations

import html
from typing import Any

from idolguard.detect.scoring import verdict_name
from idolguard.report.html import data_uri
from idolguard.report.i18n import said, t
from idolguard.workspace import Workspace

VERDICTS = ("likely_manipulated", "uncertain", "not_detected")
FAMILIES = ("face_swap", "synthetic_image")


def _fmt(score: Any) -> str:
    return f"{score:.2f}" if isinstance(score, (int, float)) else "–"


def _verdict(name: Any) -> str:
    return t(f"manip.verdict.{name}") if name in VERDICTS else str(name)


def _family(name: str) -> str:
    return t(f"manip.family.{name}") if name in FAMILIES else name


def fpr_sentence(rate: Any) -> str:
    """What a score weighs: how many real idol photos score as high."""
    if not isinstance(rate, dict) or "rate" not in rate:
        return t("manip.fpr_none")
    lo, hi = (rate.get("ci95") or [0.0, 1.0])[:2]
    return t("manip.fpr", pct=f"{rate['rate'] * 100:.1f}", n=rate.get("n"), lo=f"{lo * 100:.1f}", hi=f"{hi * 100:.1f}")


def _header(*keys: str) -> str:
    return "<tr>" + "".join(f"<th>{html.escape(t('manip.col.' + k))}</th>" for k in keys) + "</tr>"


def _c2pa_problem(credentials: dict[str, Any]) -> str:
    """Why the Content Credentials were not read or verified, in the report's language (the C2PA library's own
    words kept as data after our sentence)."""
    from idolguard.detect.content_credentials import problem_code

    code, detail = problem_code(credentials)
    if code == "c2pa.not_installed":
        return t("manip.c2pa_not_installed")
    return t("manip.c2pa_unreadable", detail=detail)


def render(ws: Workspace, obj: dict[str, Any]) -> str:
    info = obj.get("manipulation")
    if not isinstance(info, dict):
        return ""
    esc = html.escape
    model = info.get("model") or {}
    verdict = verdict_name(obj.get("verdict"))
    model_line = t(
        "manip.model",
        name=model.get("name"),
        version=model.get("version"),
        calibration=info.get("calibration"),
        rules=said(info, "rules"),
    )
    parts = [
        f"<h3>{esc(t('manip.title'))}</h3>",
        f"<p><b>{esc(_verdict(verdict))}</b> ({esc(t('manip.score', score=_fmt(obj.get('manipulation_score'))))})"
        f": {esc(said(obj, 'verdict_reason'))}</p>",
        f"<p class='small'>{esc(model_line)} {esc(t('manip.caveat'))}</p>",
    ]
    if isinstance(obj.get("manipulation_score"), (int, float)):
        parts.append(f"<p class='small'>{esc(fpr_sentence(obj.get('false_positive_rate')))}</p>")
    families = info.get("families") or {}
    if families:
        rows = []
        for name, fam in families.items():
            rows.append(
                f"<tr><td>{esc(_family(str(name)))}</td><td>{_fmt(fam.get('score'))}</td>"
                f"<td>{esc(_verdict(fam.get('verdict')))}</td>"
                f"<td>{esc(said(fam, 'explanation'))}<br>"
                f"{esc(fpr_sentence(fam.get('false_positive_rate')))}</td></tr>"
            )
        parts.append("<table>" + _header("family", "score", "verdict", "why") + "".join(rows) + "</table>")
    rows = []
    for face in info.get("faces") or []:
        img = ""
        sha = face.get("heatmap_sha256")
        if sha:
            try:
                src = data_uri(ws.vault.read_bytes(sha), "image/png")
                img = f"<img alt='{esc(t('manip.heatmap_alt'))}' width='256' src='{src}'>"
            except Exception:  # noqa: BLE001 - a missing heat map must not break the report
                img = esc(t("manip.heatmap_missing", sha=sha[:16]))
        if face.get("track_id") is not None:
            label = t("manip.track", index=face.get("index"), track=face.get("track_id"))
        else:
            label = t("manip.face", index=face.get("index"))
        detail = esc(said(face, "reason") or t("manip.frames", n=face.get("frames_scored") or 0))
        if isinstance(face.get("manipulation_score"), (int, float)):
            detail += "<br>" + esc(fpr_sentence(face.get("false_positive_rate")))
        rows.append(
            f"<tr><td>{esc(label)}</td><td>{_fmt(face.get('manipulation_score'))}</td><td>{detail}</td><td>{img}</td></tr>"
        )
    if rows:
        parts.append("<table>" + _header("face", "score", "detail", "heatmap") + "".join(rows) + "</table>")
    cc = obj.get("content_credentials") or {}
    if cc.get("present") is None and cc.get("error"):  # never read: the report must not say "absent"
        not_checked = t("manip.c2pa_not_checked", reason=_c2pa_problem(cc))
        parts.append(f"<p class='small' id='c2pa-not-checked'>{esc(not_checked)}</p>")
    elif cc.get("present"):
        line = t(
            "manip.c2pa",
            signature=t("manip.c2pa_valid") if cc.get("signature_valid") else t("manip.c2pa_invalid"),
            ai=t("manip.c2pa_ai") if cc.get("ai_generated") else "",
            generator=cc.get("claim_generator"),
            signer=cc.get("signer"),
        )
        parts.append(f"<p>{esc(line)}</p>")
        if cc.get("error"):  # present but unreadable or unverifiable: say why, not only "INVALID"
            parts.append(f"<p class='small'>{esc(_c2pa_problem(cc))}</p>")
    else:
        parts.append(f"<p class='small'>{esc(t('manip.no_c2pa'))}</p>")
    return "\n".join(parts)
