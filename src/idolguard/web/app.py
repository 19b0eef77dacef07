"""The ASGI application: pages, static files and the REST API (mounted at ``/api/v1``) over one workspace."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from idolguard.web.deps import Denied, LoginRequired, anonymous_context, render
from idolguard.web.errors import message as error_message
from idolguard.web.i18n import N_
from idolguard.web.sealed_form import FORM_TOO_LARGE, FormBodyLimit, RequestTooLarge
from idolguard.workspace import Workspace

STATIC = Path(__file__).with_name("static")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def create_app(ws: Workspace) -> FastAPI:
    app = FastAPI(title="IdolGuard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ws = ws
    app.add_middleware(FormBodyLimit)  # url-encoded forms are read into memory whole: at most 1 MiB (sealed_form)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            # Pages, media, evidence and API answers are never kept by browsers or proxies.
            response.headers["cache-control"] = "no-store"
        if request.url.scheme == "https":
            response.headers["strict-transport-security"] = "max-age=31536000"
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("accept", "").startswith("application/json"):
            return Response(
                '{"error":{"code":"unauthenticated","message":"sign in"}}', 401, media_type="application/json"
            )
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> HTMLResponse:
        ctx = getattr(request.state, "ctx", None) or anonymous_context(request)
        return render(ctx, "error.html.j2", status=exc.status, message=ctx.gettext(exc.message), code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        ctx = getattr(request.state, "ctx", None) or anonymous_context(request)
        if isinstance(exc, RequestTooLarge):  # coded: said from the shared catalog with its limit
            said = error_message(ctx.gettext, exc.code, exc.params)
            return render(ctx, "error.html.j2", status=413, message=said, code=413)
        message = {
            404: N_("Not found."),
            405: N_("Method not allowed."),
            413: N_("The form is too large.") if exc.detail == FORM_TOO_LARGE else N_("The upload is too large."),
            415: N_("Files must be sent as a multipart form (multipart/form-data)."),
        }.get(exc.status_code, N_("Request refused."))
        return render(ctx, "error.html.j2", status=exc.status_code, message=ctx.gettext(message), code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        ctx = getattr(request.state, "ctx", None) or anonymous_context(request)
        return render(
            ctx, "error.html.j2", status=422, message=ctx.gettext("Some fields are missing or invalid."), code=422
        )

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    from idolguard.web import pages_admin, pages_auth

    app.include_router(pages_auth.router)
    app.include_router(pages_admin.router)
    for name in (
        "pages_items",
        "pages_evidence",
        "pages_team",
        "pages_intake",
        "pages_more",
        "pages_cases",
        "pages_takedowns",
        "pages_fan",
    ):
        try:
            module = __import__(f"idolguard.web.{name}", fromlist=["router"])
        except ModuleNotFoundError as exc:
            if exc.name != f"idolguard.web.{name}":
                raise
            continue
        app.include_router(module.router)
    try:
        from idolguard.web.api import create_api
    except ModuleNotFoundError as exc:
        if exc.name != "idolguard.web.api":
            raise
    else:
        app.mount("/api/v1", create_api(ws))
    return app
