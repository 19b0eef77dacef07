"""An item's capture artefacts on its page: the capture screenshot as a blurred greyscale derivative (the
original only through the item's reveal grant, like the item itself) and the WACZ archive as an authorised,
recorded download.

A capture belongs to an item when the item is one of the media it preserved or its manifest. Out-of-scope
items, and captures that do not belong to the item, answer 404 exactly like absent ones.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import or_, select

from idolguard.web import previews, reveal
from idolguard.web.custody import custody
from idolguard.web.deps import Denied, PageContext, need_csrf, page_user, ws_of
from idolguard.web.pages_items import visible
from idolguard.web.sealed_form import SealedRoute
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)


def capture_of(ws: Workspace, sha: str, capture_id: int) -> tuple[str | None, str | None]:
    """(screenshot, WACZ) SHA-256 of a capture of this item, or 404."""
    from idolguard.capture.models import Capture, CaptureMedia

    with ws.sessions() as session:
        row = session.execute(
            select(Capture.screenshot_sha256, Capture.wacz_sha256).where(
                Capture.id == capture_id,
                or_(
                    Capture.manifest_sha256 == sha,
                    Capture.id.in_(select(CaptureMedia.capture_id).where(CaptureMedia.item_sha256 == sha)),
                ),
            )
        ).first()
    if row is None:
        raise Denied(404, "Not found.")
    return row[0], row[1]


@router.get("/items/{sha}/captures/{capture_id}/screenshot.png")
def blurred_screenshot(request: Request, sha: str, capture_id: int, ctx: PageContext = Depends(page_user)) -> Response:
    ws = ws_of(request)
    visible(ws, ctx, sha)
    screenshot, _wacz = capture_of(ws, sha, capture_id)
    if not screenshot:
        raise Denied(404, "Not found.")
    return Response(previews.preview_png(ws, screenshot, "screenshot"), media_type="image/png")


@router.get("/items/{sha}/captures/{capture_id}/screenshot/{grant_id}")
def original_screenshot(
    request: Request, sha: str, capture_id: int, grant_id: int, ctx: PageContext = Depends(page_user)
) -> Response:
    """The unblurred screenshot, only while the user's reveal of this item lasts (same rules as the original)."""
    ws = ws_of(request)
    visible(ws, ctx, sha)
    if not ctx.user.may_reveal or reveal.active_grant(ws, ctx.user, sha, grant_id) is None:
        raise Denied(403, "This reveal has expired. Reveal again with a reason.")
    screenshot, _wacz = capture_of(ws, sha, capture_id)
    if not screenshot:
        raise Denied(404, "Not found.")
    return StreamingResponse(
        ws.vault.read_chunks(screenshot), media_type="image/png", headers={"cache-control": "no-store"}
    )


@router.post("/items/{sha}/captures/{capture_id}/wacz")
def wacz_download(
    request: Request,
    sha: str,
    capture_id: int,
    ctx: PageContext = Depends(need_csrf("read")),
    reason: str = Form(""),
) -> Response:
    """The capture's WACZ (page, media, screenshot: as sensitive as the original), for users who may reveal,
    with a reason; every download is a ``web.download_wacz`` custody event."""
    ws = ws_of(request)
    visible(ws, ctx, sha)
    if not ctx.user.can("reveal"):
        raise Denied(403, "Your role cannot reveal originals.")
    if ctx.user.never_reveal:
        raise Denied(403, "You chose never to see originals (see My settings).")
    _screenshot, wacz = capture_of(ws, sha, capture_id)
    if not wacz:
        raise Denied(404, "Not found.")
    text = reason.strip()[:500]
    if not text:
        raise Denied(400, "Give a reason to reveal.")
    with custody(ws, ctx.user.name) as (_session, ledger):
        ledger.append(
            "web.download_wacz",
            item=sha,
            details={"user": ctx.user.name, "reason": text, "capture_id": capture_id, "wacz_sha256": wacz},
        )
    headers = {
        "cache-control": "no-store",
        "content-disposition": f'attachment; filename="capture-{capture_id}.wacz"',
    }
    return StreamingResponse(ws.vault.read_chunks(wacz), media_type="application/wacz", headers=headers)
