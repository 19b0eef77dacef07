"""The source-attribution block of the HTML report: "face copied from official item X", with the figures of
the check and the aligned pair shown only blurred (a reviewer sees that the two crops line up; the sharp
pair stays in the vault behind a reveal)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from idolguard.report.i18n import t
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
    return t("attr.measured_high") if inliers >= 100 else t("attr.measured_low")


def attribution_rows(obj: dict[str, Any]) -> list[dict[str, Any]]:
    rows = obj.get("source_attribution")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def attribution_section(ws: Workspace, obj: dict[str, Any]) -> str:
    rows = attribution_rows(obj)
    if not rows:  # nothing attributed (or no official collection): no block, the report stays short
        return ""
    esc = html.escape
    parts = [f"<h3>{esc(t('attr.title'))}</h3><p class='small'>{esc(t('attr.intro'))}</p>"]
    for row in rows:
        pair = blurred_pair(ws, str(row.get("pair_sha256") or ""))
        figure = f'<img alt="{esc(t("attr.pair_alt"))}" width="{SHOWN_WIDTH}" src="{pair}">' if pair else ""
        where = ""
        if row.get("track_id") is not None:  # a video face track: which keyframe, and how many agreed
            where = t(
                "attr.track",
                track=row.get("track_id"),
                t=row.get("t"),
                verified=row.get("frames_verified"),
                checked=row.get("frames_checked"),
            )
        frame = t("attr.official_frame", t=row.get("official_t")) if row.get("official_frame") is not None else ""
        official = f"<code>{esc(str(row.get('official_item') or '-'))}</code>"
        copied = esc(t("attr.copied", face=row.get("face"), where=where, official="\0")).replace("\0", official)
        figures = t(
            "attr.figures",
            inliers=row.get("inliers"),
            matches=row.get("matches"),
            ratio=row.get("inlier_ratio"),
            scale=row.get("scale"),
            rotation=row.get("rotation_deg"),
            mirrored=row.get("mirrored"),
            pdq=row.get("pdq_distance"),
        )
        bank = t("attr.bank", bank=row.get("bank"), face=row.get("official_face"), frame=frame)
        parts.append(
            "<div class='attribution'>"
            f"<p><b>{copied}</b> {esc(bank)}</p>"
            f"<p class='small'>{esc(figures)}</p>"
            f"<p class='small'>{esc(measured_note(int(row.get('inliers') or 0)))}</p>"
            f"{figure}</div>"
        )
    return "".join(parts)
