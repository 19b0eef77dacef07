"""What every page handler needs: the workspace, the signed-in user, CSRF checking and rendering.

Sessions are server-side (``web_sessions``); the cookie is HttpOnly, SameSite=Strict and Secure when the app
is reached over https. Pages need both factors; a half-signed-in session may only reach the TOTP step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool

from idolguard.web import accounts, explain, security
from idolguard.web.errors import shown_error
from idolguard.web.i18n import N_, human_size, local_time, pick_lang, translator
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace

SESSION_COOKIE = "ig_session"
LANG_COOKIE = "ig_lang"
LOGIN_CSRF_COOKIE = "ig_login_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def visible(value: Any) -> Any:
    """Every value a page prints, made visible as the CLI shows it (``display.jinja_visible``): a right-to-left
    override in a file name (``\u202egpj.exe``), zero-width or control characters in a user name, caption or
    note show as ``\u202e``-style escapes, never reorder or hide what is around them. Applied to every
    ``{{ ... }}`` (the environment's ``finalize``), so no page can forget it."""
    from idolguard.display import jinja_visible

    return jinja_visible(value)


TEMPLATES = Environment(
    loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
    autoescape=True,  # every value is escaped: file names, captions, comments, artist names
    finalize=visible,  # ... and every invisible or reordering character shown as an escape
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["visible"] = lambda value: visible(str(value))  # for values a template builds up itself


class LoginRequired(Exception):
    """No (complete) session: pages redirect to the sign-in page."""

    def __init__(self, to: str = "/login") -> None:
        self.to = to


class Denied(Exception):
    """Signed in but not allowed (403), or out of scope (404 on purpose: no existence leak)."""

    def __init__(self, status: int = 403, message: str = N_("You do not have permission to do this.")) -> None:
        self.status = status
        self.message = message


@dataclass
class PageContext:
    principal: Principal | None
    session_token: str
    csrf: str
    lang: str
    gettext: Callable[..., str]

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise LoginRequired()
        return self.principal


def ws_of(request: Request) -> Workspace:
    return request.app.state.ws


def secure_request(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def default_lang(request: Request) -> str | None:
    """The workspace's default page language (``[web] lang``; Korean when unset)."""
    return str(ws_of(request).config.section("web").get("lang") or "") or None


def anonymous_context(request: Request) -> PageContext:
    lang = pick_lang(None, request.cookies.get(LANG_COOKIE), default_lang(request))
    return PageContext(None, "", request.cookies.get(LOGIN_CSRF_COOKIE, ""), lang, translator(lang))


def _load(request: Request, *, allow_half: bool = False, allow_password_change: bool = False) -> PageContext:
    token = request.cookies.get(SESSION_COOKIE, "")
    loaded = accounts.load_session(ws_of(request), token)
    if loaded is None:
        raise LoginRequired()
    session, user = loaded
    if not session.second_factor_ok and not allow_half:
        raise LoginRequired("/login/totp")
    if session.second_factor_ok and user.must_change_password and not allow_password_change:
        raise LoginRequired("/account/password")
    principal = accounts.principal_of(user)
    lang = pick_lang(user.lang, request.cookies.get(LANG_COOKIE), default_lang(request))
    ctx = PageContext(principal, token, session.csrf, lang, translator(lang))
    request.state.ctx = ctx
    return ctx


def page_user(request: Request) -> PageContext:
    return _load(request)


def page_user_password_step(request: Request) -> PageContext:
    return _load(request, allow_password_change=True)


def half_signed_in(request: Request) -> PageContext:
    return _load(request, allow_half=True)


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form}


async def _csrf_from(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    form = await request.form()
    value = form.get("csrf")
    return value if isinstance(value, str) else ""


async def csrf_page_user(request: Request) -> PageContext:
    """A full session plus a matching CSRF token (form field ``csrf`` or header ``X-CSRF-Token``)."""
    ctx = await run_in_threadpool(_load, request)
    await _check(request, ctx)
    return ctx


async def csrf_password_step(request: Request) -> PageContext:
    ctx = await run_in_threadpool(_load, request, allow_password_change=True)
    await _check(request, ctx)
    return ctx


async def csrf_half(request: Request) -> PageContext:
    ctx = await run_in_threadpool(_load, request, allow_half=True)
    await _check(request, ctx)
    return ctx


async def _check(request: Request, ctx: PageContext) -> None:
    request.state.csrf_expected = ctx.csrf  # an upload form's parser wants the token before any file part
    if request.method in UNSAFE and not (ctx.csrf and security.same(await _csrf_from(request), ctx.csrf)):
        raise Denied(403, "The form expired or came from another site (CSRF check failed). Reload and retry.")


async def csrf_login(request: Request) -> PageContext:
    """Sign-in forms: double-submit token (cookie + field), since there is no session yet."""
    ctx = anonymous_context(request)
    if not (ctx.csrf and security.same(await _csrf_from(request), ctx.csrf)):
        raise Denied(403, "The form expired or came from another site (CSRF check failed). Reload and retry.")
    return ctx


def need(permission: str) -> Callable[..., PageContext]:
    def check(ctx: PageContext = Depends(page_user)) -> PageContext:
        if not ctx.user.can(permission):
            raise Denied()
        return ctx

    return check


def need_csrf(permission: str) -> Callable[..., Any]:
    """A full session allowed ``permission``, then a matching CSRF token: sign-in and role are checked before
    the token, because finding a token in a form means reading the body (an upload's files), which a request
    that may not send it never gets to have read."""

    async def check(request: Request) -> PageContext:
        ctx = await run_in_threadpool(_load, request)
        if not ctx.user.can(permission):
            raise Denied()
        await _check(request, ctx)
        return ctx

    return check


def render(ctx: PageContext, template_name: str, /, status: int = 200, **values: Any) -> HTMLResponse:
    template = TEMPLATES.get_template(template_name)
    tz = ctx.principal.timezone if ctx.principal else "Asia/Seoul"
    html = template.render(
        ctx=ctx,
        user=ctx.principal,
        _=ctx.gettext,
        lang=ctx.lang,
        csrf=ctx.csrf,
        when=lambda moment: local_time(moment, tz),
        size=human_size,
        platform=lambda name: explain.platform_name(ctx.gettext, name),
        day=lambda moment: local_time(moment, tz, "%Y-%m-%d"),
        shown=lambda error: shown_error(
            ctx.gettext, error, admin=bool(ctx.principal and ctx.principal.can("admin")), english=ctx.lang == "en"
        ),
        **values,
    )
    return HTMLResponse(html, status_code=status)
