"""The manipulation block of the HTML evidence report: verdict, per-face scores, heat maps, C2PA."""

from __future__ import annotations

import html
from typing import Any

from idolguard.detect.scoring import verdict_name
from idolguard.report.html import data_uri
from idolguard.workspace import Workspace

FAMILY_KO = {"face_swap": "얼굴 합성(페이스 스왑)", "synthetic_image": "생성 이미지"}
VERDICT_KO = {"likely_manipulated": "조작 가능성 높음", "uncertain": "판단 보류", "not_detected": "탐지되지 않음"}


def _fmt(score: Any) -> str:
    return f"{score:.2f}" if isinstance(score, (int, float)) else "–"


def fpr_sentence(rate: Any) -> str:
    """What a score weighs, in English and Korean: how many real idol photos score as high."""
    if not isinstance(rate, dict) or "rate" not in rate:
        return (
            "False-positive rate on real idol photos: not measured for this model. "
            "/ 실제 아이돌 사진 오탐률: 측정되지 않음."
        )
    lo, hi = (rate.get("ci95") or [0.0, 1.0])[:2]
    pct, n = rate["rate"] * 100, rate.get("n")
    return (
        f"{pct:.1f}% of {n} genuine idol photos score at least this high (95% CI {lo * 100:.1f}-{hi * 100:.1f}%). "
        f"/ 실제 아이돌 사진 {n}장 중 {pct:.1f}%가 이 점수 이상입니다 (95% 신뢰구간 {lo * 100:.1f}-{hi * 100:.1f}%)."
    )


def render(ws: Workspace, obj: dict[str, Any]) -> str:
    info = obj.get("manipulation")
    if not isinstance(info, dict):
        return ""
    esc = html.escape
    model = info.get("model") or {}
    verdict = verdict_name(obj.get("verdict"))
    parts = [
        "<h3>Manipulation / 조작 탐지</h3>",
        f"<p><b>{esc(str(verdict))}</b> ({esc(VERDICT_KO.get(str(verdict), ''))}) "
        f"(score {_fmt(obj.get('manipulation_score'))}): {esc(str(obj.get('verdict_reason', '')))}</p>",
        f"<p class='small'>model {esc(str(model.get('name')))} {esc(str(model.get('version')))}; calibration "
        f"{esc(str(info.get('calibration')))}; {esc(str(info.get('rules', '')))}. Red areas in a heat map pushed "
        "the score towards 'manipulated'. A detector score is a lead for a human reviewer, not proof; "
        "'not_detected' means this detector found nothing, not that the file is authentic. / 탐지 점수는 검토를 "
        "위한 단서일 뿐 증거가 아닙니다. 'not_detected'는 진본이라는 뜻이 아닙니다.</p>",
    ]
    if isinstance(obj.get("manipulation_score"), (int, float)):
        parts.append(f"<p class='small'>{esc(fpr_sentence(obj.get('false_positive_rate')))}</p>")
    families = info.get("families") or {}
    if families:
        rows = []
        for name, fam in families.items():
            verdict_f = str(fam.get("verdict"))
            rows.append(
                f"<tr><td>{esc(name)} ({esc(FAMILY_KO.get(name, ''))})</td><td>{_fmt(fam.get('score'))}</td>"
                f"<td>{esc(verdict_f)} ({esc(VERDICT_KO.get(verdict_f, ''))})</td>"
                f"<td>{esc(str(fam.get('explanation', '')))}<br>"
                f"{esc(fpr_sentence(fam.get('false_positive_rate')))}</td></tr>"
            )
        parts.append(
            "<table><tr><th>detector family / 탐지 유형</th><th>score</th><th>verdict</th><th>why</th></tr>"
            + "".join(rows)
            + "</table>"
        )
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
        if isinstance(face.get("manipulation_score"), (int, float)):
            detail += "<br>" + esc(fpr_sentence(face.get("false_positive_rate")))
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
