"""Sign-in (password, then TOTP), sign-out, first-login password change and personal settings."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from idolguard.web import accounts
from idolguard.web.custody import custody
from idolguard.web.deps import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PageContext,
    anonymous_context,
    csrf_half,
    csrf_login,
    csrf_page_user,
    csrf_password_step,
    half_signed_in,
    page_user,
    page_user_password_step,
    render,
    secure_request,
    ws_of,
)
from idolguard.web.i18n import LANGS, N_
from idolguard.web.models import User
from idolguard.web.sealed_form import SealedRoute

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)

MESSAGES = {
    "bad_credentials": N_("Wrong user name or password."),
    "locked": N_("Too many failed attempts: this account is locked for a while. Ask an administrator if it persists."),
    "disabled": N_("Wrong user name or password."),
    "invite_expired": N_("This invitation has expired. Ask an administrator for a new one."),
    "bad_code": N_("Wrong or expired code."),
    "throttled": N_("Too many failed sign-ins from your network address. Wait a while and try again."),
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_request(request), path="/"
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    ctx = anonymous_context(request)
    if not ctx.csrf:
        ctx.csrf = secrets.token_urlsafe(32)
    response = render(ctx, "login.html.j2", error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, ctx.csrf, httponly=True, samesite="strict", secure=secure_request(request), path="/"
    )
    return response


@router.post("/login")
def login(
    request: Request,
    ctx: PageContext = Depends(csrf_login),
    name: str = Form(""),
    password: str = Form(""),
) -> Response:
    ws = ws_of(request)
    result = accounts.check_password(ws, name, password[:1024], client=_client(request))
    if not result.ok or result.user_id is None:
        status = 429 if result.reason == "throttled" else 401
        return render(ctx, "login.html.j2", status=status, error=ctx.gettext(MESSAGES[result.reason]))
    # A new session id at this step (and again after TOTP): a session id planted before sign-in is worthless.
    token = accounts.new_session(
        ws, result.user_id, second_factor_ok=False, replaces=request.cookies.get(SESSION_COOKIE)
    )
    response = RedirectResponse("/login/totp", status_code=303)
    _set_session(response, request, token)
    return response


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(ctx: PageContext = Depends(half_signed_in)) -> Response:
    return render(ctx, "totp.html.j2", error=None, bare=True)


@router.post("/login/totp")
def totp(request: Request, ctx: PageContext = Depends(csrf_half), code: str = Form("")) -> Response:
    ws = ws_of(request)
    result = accounts.check_totp(ws, ctx.user.user_id, code[:32], client=_client(request))
    if not result.ok:
        if result.reason in ("locked", "disabled", "throttled"):
            accounts.end_session(ws, ctx.session_token)
            status = 429 if result.reason == "throttled" else 401
            response = render(
                ctx, "login.html.j2", status=status, error=ctx.gettext(MESSAGES[result.reason]), bare=True
            )
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return render(ctx, "totp.html.j2", status=401, error=ctx.gettext(MESSAGES["bad_code"]), bare=True)
    token = accounts.new_session(ws, ctx.user.user_id, second_factor_ok=True, replaces=ctx.session_token)
    response = RedirectResponse("/", status_code=303)
    _set_session(response, request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, ctx: PageContext = Depends(csrf_half)) -> Response:
    ws = ws_of(request)
    accounts.end_session(ws, ctx.session_token)
    with custody(ws, ctx.user.name) as (_session, ledger):
        ledger.append("web.logout", details={"user": ctx.user.name})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


PASSWORD_MESSAGES = {
    "short": N_("Passwords need at least 12 characters."),
    "long": N_("Passwords have at most 1024 characters."),
    "repeated": N_("This password repeats one character or a short pattern. Choose a longer mix, e.g. a few words."),
    "sequence": N_("This password is a keyboard or alphabet sequence. Choose something less guessable."),
    "common": N_("This is a common password (digits added at the end do not help). Choose another."),
    "name": N_("The password must not contain your user name."),
    "same": N_("The new password is the same as the current one."),
    "wrong_current": N_("The current password is wrong."),
}


def _first_password(request: Request, ctx: PageContext) -> bool:
    """Whether the user still has the one-time password (the page words itself accordingly)."""
    with ws_of(request).sessions() as session:
        user = session.get(User, ctx.user.user_id)
        return bool(user and user.must_change_password)


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, ctx: PageContext = Depends(page_user_password_step)) -> Response:
    return render(ctx, "password.html.j2", error=None, first=_first_password(request, ctx))


@router.post("/account/password")
def password(
    request: Request,
    ctx: PageContext = Depends(csrf_password_step),
    current_password: str = Form(""),
    new_password: str = Form(""),
    repeat: str = Form(""),
) -> Response:
    """Change one's own password: the current one is required (a stolen open session cannot take the account
    over); every session of the user ends and this browser gets a fresh session id."""
    first = _first_password(request, ctx)

    def refuse(message: str) -> Response:
        return render(ctx, "password.html.j2", status=400, error=ctx.gettext(message), first=first)

    if new_password != repeat:
        return refuse(N_("The two passwords differ."))
    try:
        token = accounts.change_password(
            ws_of(request), ctx.user.user_id, current_password, new_password, client=_client(request)
        )
    except accounts.PasswordRefused as exc:
        return refuse(PASSWORD_MESSAGES[exc.reason])
    response = RedirectResponse("/account?password=changed" if not first else "/", status_code=303)
    _set_session(response, request, token)
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, ctx: PageContext = Depends(page_user)) -> Response:
    from idolguard.web.reveal import reveals_today

    return render(
        ctx,
        "account.html.j2",
        reveals_today=reveals_today(ws_of(request), ctx.user.user_id, ctx.user.timezone),
        password_changed=request.query_params.get("password") == "changed",
    )


@router.post("/account")
def account_save(
    request: Request,
    ctx: PageContext = Depends(csrf_page_user),
    lang: str = Form("ko"),
    timezone: str = Form("Asia/Seoul"),
    never_reveal: str = Form(""),
) -> Response:
    from zoneinfo import ZoneInfo

    from idolguard.web.reveal import reveals_today

    timezone = timezone.strip()
    try:
        if not timezone or len(timezone) > 64:
            raise ValueError(timezone)
        ZoneInfo(timezone)
    except Exception:  # nothing is saved: the form comes back with the zone as typed and what to give instead
        return render(
            ctx,
            "account.html.j2",
            status=422,
            reveals_today=reveals_today(ws_of(request), ctx.user.user_id, ctx.user.timezone),
            password_changed=False,
            timezone_error=ctx.gettext(
                N_("'{zone}' is not a time zone: write a name such as Asia/Seoul, Europe/London or UTC."),
                zone=timezone[:64],
            ),
            timezone_typed=timezone[:64],
        )
    ws = ws_of(request)
    with custody(ws, ctx.user.name) as (session, ledger):
        user = session.get(User, ctx.user.user_id)
        assert user is not None
        user.lang = lang if lang in LANGS else None
        user.timezone = timezone[:64]
        user.never_reveal = bool(never_reveal)
        ledger.append(
            "web.setting",
            details={
                "user": user.name,
                "lang": user.lang,
                "timezone": user.timezone,
                "never_reveal": user.never_reveal,
            },
        )
    response = RedirectResponse("/account", status_code=303)
    response.set_cookie(LANG_COOKIE, lang if lang in LANGS else "ko", samesite="strict", path="/")
    return response


def _next_path(request: Request, signed_in: bool) -> str:
    """Where a language link leads back to: ``?next=`` when it is a path of this app, else the start page
    (the sign-in page for visitors). Pages send no Referer (``no-referrer``), so links carry ``next``."""
    wanted = request.query_params.get("next", "")
    if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted and wanted.isprintable():
        return wanted[:500]
    return "/" if signed_in else "/login"


@router.get("/lang/{code}")
def choose_lang(request: Request, code: str) -> Response:
    """Choose the page language (kept in a cookie: the sign-in page's links). A signed-in user's saved
    language wins over it (``/account``). An unknown code is answered with a page that says so, offers the
    languages there are and leads back, never with a trip to the sign-in page."""
    from idolguard.web.deps import LoginRequired

    try:
        ctx = page_user(request)
    except LoginRequired:
        ctx = anonymous_context(request)
    back = _next_path(request, ctx.principal is not None)
    if code in LANGS:
        response = RedirectResponse(back, status_code=303)
        response.set_cookie(LANG_COOKIE, code, samesite="strict", path="/")
        return response
    return render(ctx, "lang_unknown.html.j2", status=404, code=code[:20], back=back)


@router.get("/")
def home(ctx: PageContext = Depends(page_user)) -> Response:
    return RedirectResponse("/triage", status_code=303)
