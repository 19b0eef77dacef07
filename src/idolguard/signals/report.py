"""The source-attribution block of the HTML report: "face copied from official item X", with the figures of
the check and the aligned pair shown only blurred (a reviewer sees that the two crops line up; the sharp
pair stays in the vault behind a reveal)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from idolguard.workspace import Workspace

BLUR_WIDTH = 24  # the pair is shrunk to this width before it is blown up again: no facial detail survives
SHOWN_WIDTH = 232


def blurred_pair(ws: Workspace, sha256: str) -> str | None:
    """A data URI of the aligned pair, greyscale and heavily blurred (None if it is not in the vault)."""
    from PIL import Image, ImageFilter

    if not sha256 or not ws.vault.has(sha256):
        return None
    try:
        with Image.open(io.BytesIO(ws.vault.read_bytes(sha256))) as img:
            small = img.convert("L")
            small.thumbnail((BLUR_WIDTH, BLUR_WIDTH))
            shown = small.resize(
                (SHOWN_WIDTH, max(1, SHOWN_WIDTH * small.height // max(1, small.width))), Image.Resampling.BILINEAR
            ).filter(ImageFilter.GaussianBlur(4))
            buffer = io.BytesIO()
            shown.save(buffer, "JPEG", quality=60)
    except Exception:  # noqa: BLE001 - the figure is optional; the table still names the source
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def measured_note(inliers: int) -> str:
    """What the bench measured at this many inliers (docs/BENCHMARKS.md, bench/detector_attribution.py)."""
    if inliers >= 100:
        return (
            "Measured at >= 100 inliers: no wrong source named on pasted faces, 1.0% [0.2, 5.3] false attributions "
            "on unrelated photos of the same idols. / 100개 이상 일치: 다른 출처 오지정 0건, 같은 아이돌의 무관한 "
            "사진 오귀속 1.0%."
        )
    return (
        "Measured at 60-99 inliers: 3.9% [1.5, 9.7] false attributions on unrelated photos of the same idols; a "
        "lead to check by eye. / 60-99개 일치: 같은 아이돌의 무관한 사진 오귀속 3.9%, 육안 확인이 필요합니다."
    )


def attribution_rows(obj: dict[str, Any]) -> list[dict[str, Any]]:
    rows = obj.get("source_attribution")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def attribution_section(ws: Workspace, obj: dict[str, Any]) -> str:
    rows = attribution_rows(obj)
    if not rows:  # nothing attributed (or no official collection): no block, the report stays short
        return ""
    esc = html.escape
    intro = (
        "<h3>Source-face attribution / 원본 얼굴 출처</h3>"
        "<p class='small'>A suspect face is compared with the faces of the artist's official photos (negative "
        "banks) after aligning both on the same five landmarks; 'copied' means at least 60 keypoints agree "
        "under a near-identity map, i.e. the same face pixels, not only the same person. / 의심 얼굴을 "
        "아티스트 공식 사진(네거티브 뱅크)의 얼굴과 같은 랜드마크로 정렬해 비교합니다. '복제됨'은 같은 사람이 "
        "아니라 같은 얼굴 픽셀이 옮겨졌다는 뜻입니다.</p>"
    )
    parts = [intro]
    for row in rows:
        pair = blurred_pair(ws, str(row.get("pair_sha256") or ""))
        figure = f'<img alt="aligned pair (blurred)" width="{SHOWN_WIDTH}" src="{pair}">' if pair else ""
        official = esc(str(row.get("official_item") or "-"))
        where = ""
        if row.get("track_id") is not None:  # a video face track: which keyframe, and how many agreed
            where = (
                f" (track {esc(str(row.get('track_id')))}, best at {esc(str(row.get('t')))} s; verified on "
                f"{esc(str(row.get('frames_verified')))} of {esc(str(row.get('frames_checked')))} keyframes / "
                f"트랙 {esc(str(row.get('track_id')))}, 키프레임 {esc(str(row.get('frames_checked')))}개 중 "
                f"{esc(str(row.get('frames_verified')))}개에서 확인)"
            )
        official_where = ""
        if row.get("official_frame") is not None:
            official_where = f", video keyframe at {esc(str(row.get('official_t')))} s"
        parts.append(
            "<div class='attribution'>"
            f"<p><b>Face {esc(str(row.get('face')))}{where} copied from official item <code>{official}</code></b> "
            f"(bank {esc(str(row.get('bank')))}, face {esc(str(row.get('official_face')))}{official_where}) / "
            f"얼굴 {esc(str(row.get('face')))}: 공식 항목 <code>{official}</code>에서 복제됨</p>"
            f"<p class='small'>inliers {esc(str(row.get('inliers')))} of {esc(str(row.get('matches')))} keypoint "
            f"matches (ratio {esc(str(row.get('inlier_ratio')))}), scale {esc(str(row.get('scale')))}, rotation "
            f"{esc(str(row.get('rotation_deg')))} deg, mirrored {esc(str(row.get('mirrored')))}, inner-face PDQ "
            f"distance {esc(str(row.get('pdq_distance')))} bits. Suspect (left) and official (right), blurred. / "
            "왼쪽 의심 얼굴, 오른쪽 공식 얼굴 (흐림 처리).</p>"
            f"<p class='small'>{esc(measured_note(int(row.get('inliers') or 0)))}</p>"
            f"{figure}</div>"
        )
    return "".join(parts)
