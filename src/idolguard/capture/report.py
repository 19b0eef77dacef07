"""The capture block of the HTML evidence report: screenshot, where/when/how it was captured, hashes, TSA.

Shown for a capture's manifest item (in full) and for every media item that came from a capture (so a
reader of an image's section sees the post it was taken from). Everything is escaped; the screenshot is a
downscaled thumbnail embedded as a data URI so the report stays one self-contained file.
"""

from __future__ import annotations

import html
import io
from typing import Any

from sqlalchemy import select

from idolguard.capture.models import Capture, CaptureCheck, CaptureMedia
from idolguard.capture.views import problem_codes
from idolguard.cli_lang import tr_stored
from idolguard.report.html import data_uri
from idolguard.report.i18n import current, t
from idolguard.workspace import Workspace

THUMB_WIDTH = 480
THUMB_MAX_HEIGHT = 1400


def _thumbnail(ws: Workspace, sha: str | None) -> str | None:
    if not sha:
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(ws.vault.read_bytes(sha))) as image:
            image = image.convert("RGB")
            scale = THUMB_WIDTH / max(1, image.width)
            size = (THUMB_WIDTH, max(1, int(image.height * scale)))
            thumb = image.resize(size).crop((0, 0, THUMB_WIDTH, min(size[1], THUMB_MAX_HEIGHT)))
            buffer = io.BytesIO()
            thumb.save(buffer, "JPEG", quality=80)
        return data_uri(buffer.getvalue(), "image/jpeg")
    except Exception:  # noqa: BLE001 - a missing/broken screenshot is shown as absent, not fatal
        return None


def _row(key: str, value: Any, code: bool = False, **label: Any) -> str:
    """One labelled row (label from the report catalog, in the report's language); nothing for no value."""
    if value in (None, "", [], {}):
        return ""
    text = html.escape(str(value))
    return f"<tr><th>{html.escape(t(key, **label))}</th><td>{f'<code>{text}</code>' if code else text}</td></tr>"


def render_capture(ws: Workspace, capture: Capture, checks: list[CaptureCheck], full: bool) -> str:
    esc = html.escape
    parts = [f"<h3>{esc(t('capture.title', id=capture.id, state=capture.state))}</h3>"]
    thumb = _thumbnail(ws, capture.screenshot_sha256)
    if thumb:
        parts.append(
            f'<div class="thumbs"><figure><img src="{thumb}" alt="{esc(t("capture.screenshot_alt"))}">'
            f"<figcaption>{esc(t('capture.screenshot'))}</figcaption></figure></div>"
        )
    rows = [
        _row("capture.requested_url", capture.requested_url, code=True),
        _row("capture.final_url", capture.final_url, code=True),
        _row("capture.captured_at", capture.captured_at.isoformat() if capture.captured_at else None),
        _row("capture.captured_by", capture.actor),
        _row("capture.http_status", capture.http_status),
        _row("capture.server_ip", capture.server_ip),
        _row("capture.page_title", capture.page_title),
    ]
    for key in ("platform", "author_handle", "author_name", "post_time", "caption"):
        rows.append(_row(f"capture.{key}", (capture.context or {}).get(key)))
    if capture.tls:
        chain = capture.tls.get("chain") or [{}]
        trust = (
            t("capture.tls_trusted")
            if capture.tls.get("trusted")
            else t("capture.tls_untrusted", error=capture.tls.get("verify_error"))
        )
        rows.append(_row("capture.tls", t("capture.tls_value", version=capture.tls.get("version"), trust=trust)))
        rows.append(_row("capture.tls_leaf", chain[0].get("sha256"), code=True))
        rows.append(_row("capture.tls_subject", chain[0].get("subject")))
    if capture.note:
        rows.append(_row("capture.note", capture.note))
    parts.append("<table>" + "".join(rows) + "</table>")
    if full and capture.redirect_chain and len(capture.redirect_chain) > 1:
        hops = "".join(
            f"<li><code>{html.escape(str(h.get('url')))}</code> → {html.escape(str(h.get('status')))}</li>"
            for h in capture.redirect_chain
        )
        parts.append(f"<p>{esc(t('capture.redirects'))}</p><ol>{hops}</ol>")
    hashes = [_row("capture.manifest", capture.manifest_sha256, code=True)]
    for kind, artifact in sorted((capture.artifacts or {}).items()):
        size = f"{artifact.get('size'):,}"
        hashes.append(_row("capture.artifact", artifact.get("sha256"), code=True, kind=kind, size=size))
    parts.append(f"<p>{esc(t('capture.hashes'))}</p><table>" + "".join(hashes) + "</table>")
    if capture.timestamps:
        stamps = []
        for stamp in capture.timestamps:
            detail = esc(
                t("capture.granted_detail", time=stamp.get("gen_time"), serial=stamp.get("serial"), token="\0")
            ).replace("\0", f"<code>{esc(str(stamp.get('token_sha256'))[:16])}…</code>")
            status = (
                f'<span class="ok">{esc(t("capture.granted"))}</span> {detail}'
                if stamp.get("ok")
                else f'<span class="error">{esc(t("capture.failed", error=stamp.get("error")))}</span>'
            )
            stamps.append(f"<tr><th>{html.escape(str(stamp.get('tsa_url')))}</th><td>{status}</td></tr>")
        parts.append(f"<p>{esc(t('capture.timestamps'))}</p><table>" + "".join(stamps) + "</table>")
    else:
        parts.append(f'<p class="note">{esc(t("capture.no_timestamp"))}</p>')
    if checks:
        items = "".join(
            f"<li>{c.checked_at.strftime('%Y-%m-%d %H:%M:%S')} UTC: <b>{html.escape(c.state)}</b>"
            f"{' (HTTP ' + str(c.http_status) + ')' if c.http_status else ''}</li>"
            for c in checks[-10:]
        )
        parts.append(f"<p>{esc(t('capture.checks'))}</p><ul>{items}</ul>")
    if capture.errors:
        # stored as English text with each one's code beside it (or recognised in an older row's text): said in
        # the report's language from the code or the CLI's error templates (as stored when neither knows it)
        codes = problem_codes(capture.errors, capture.error_codes)
        errors = "".join(
            f"<li>{html.escape(tr_stored(str(e), *((c['code'], c['params']) if c else (None, None)), current()))}</li>"
            for e, c in list(zip(capture.errors, codes, strict=True))[:20]
        )
        parts.append(f'<p>{esc(t("capture.problems"))}</p><ul class="error">{errors}</ul>')
    return "\n".join(parts)


def capture_section(ws: Workspace, obj: dict[str, Any]) -> str:
    sha = obj.get("sha256")
    if not sha:
        return ""
    with ws.sessions() as session:
        captures = list(session.execute(select(Capture).where(Capture.manifest_sha256 == sha)).scalars())
        full = bool(captures)
        if not captures:
            ids = session.execute(select(CaptureMedia.capture_id).where(CaptureMedia.item_sha256 == sha)).scalars()
            wanted = sorted(set(ids))[:5]
            if not wanted:
                return ""
            captures = list(session.execute(select(Capture).where(Capture.id.in_(wanted))).scalars())
        checks = {
            c.id: list(
                session.execute(
                    select(CaptureCheck).where(CaptureCheck.capture_id == c.id).order_by(CaptureCheck.id)
                ).scalars()
            )
            for c in captures
        }
    return "\n".join(render_capture(ws, c, checks[c.id], full) for c in captures)
