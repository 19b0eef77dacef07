"""The public portal: a separate ASGI app (FastAPI, server-rendered, no CDN, no inline script, strict CSP).

It faces the internet while the team app stays internal, so it exposes nothing but the report form, the
JSON API and the per-report status page, makes no network connection of its own (not even DNS: links are
checked syntactically here and fully by capture's SSRF policy when the capture job runs), never shows
content, and keeps no reporter address in clear.

Routes: ``GET /`` (form), ``GET /status/{token}`` (receipt + status), ``GET /api`` (API description),
``GET /api/challenge``, ``POST /api/reports``, ``GET /api/status/{token}``, ``GET /healthz``, ``/static/*``.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import ipaddress
import json
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from idolguard.display import jinja_visible
from idolguard.portal import challenge
from idolguard.portal.intake import (
    Accepted,
    FieldErrors,
    Limited,
    ReportWriter,
    Submission,
    keyed,
    pick_language,
    validate,
)
from idolguard.portal.jobs import report_status
from idolguard.portal.ratelimit import LocalWindows, MemoryLimiter, RedisLimiter, rules_for
from idolguard.portal.settings import CATEGORIES, LANGUAGES, PortalSettings, portal_secret
from idolguard.workspace import Workspace

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
TIME_ZONES = {"ko": "Asia/Seoul", "ja": "Asia/Tokyo", "zh": "Asia/Shanghai", "en": "Asia/Seoul"}


@cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((HERE / "locales" / f"{lang}.json").read_text(encoding="utf-8"))


def translate(lang: str, key: str) -> str:
    return catalog(lang).get(key) or catalog("en").get(key) or key


class Portal:
    """Everything one portal process holds: workspace, settings, secret, writer and limiters."""

    def __init__(self, ws: Workspace, settings: PortalSettings, public_url: str) -> None:
        self.ws = ws
        self.settings = settings
        self.public_url = (settings.public_url or public_url).rstrip("/")
        self.secret = portal_secret(ws)
        self.redis = RedisLimiter(settings.redis_url) if settings.redis_url else None
        self.writer = ReportWriter(ws, settings, use_db_limits=self.redis is None)
        self.local = LocalWindows()
        self.challenge_limiter = MemoryLimiter(settings.challenges_per_ip_per_minute)
        self.junk_limiter = MemoryLimiter(max(10, settings.per_ip_per_minute * 5))  # invalid requests
        from idolguard.capture.settings import CaptureSettings

        self.allow_hosts = frozenset(a.strip().lower() for a in CaptureSettings.from_workspace(ws).allow)
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            finalize=jinja_visible,  # bidi/zero-width/control characters in anything printed show as escapes
        )

    def client_ip(self, request: Request) -> str:
        """The peer address, or the nearest untrusted X-Forwarded-For hop when the peer is a trusted proxy."""
        peer = request.client.host if request.client else "0.0.0.0"
        if not self.trusted or not _in(peer, self.trusted):
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # a forged or broken header: fall back to the proxy itself
            if not _in(hop, self.trusted):
                return hop
        return peer

    def render(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        def t(key: str) -> str:
            return translate(lang, key)

        html = self.env.get_template(name).render(
            t=t, lang=lang, languages=[(code, catalog(code)["lang_name"]) for code in LANGUAGES], **context
        )
        return HTMLResponse(html, status_code=status)


class SecurityHeaders:
    """Pure ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs about a millisecond per request): the
    security headers on every response, ``Cache-Control: no-store`` on everything but static files."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.common = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.common if k not in present]
                if not static:
                    extra.append((b"cache-control", b"no-store"))
                    message["headers"] = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                    ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FloodGate:
    """Pure ASGI guard in front of the router: a ``POST /api/reports`` from an address already over its
    per-process window is answered 429 here, with a pre-rendered body, before FastAPI routes, reads or
    parses anything. A flood from one address (thousands of requests a second) then costs a fraction of a
    millisecond each and leaves the CPU to everyone else's reports."""

    def __init__(self, app: Any, portal: Portal) -> None:
        self.app = app
        self.portal = portal
        self.bodies: dict[str, bytes] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/reports":
            request = Request(scope)
            ip_key = keyed(self.portal.secret, "ip", self.portal.client_ip(request))
            retry = self.portal.local.blocked(rules_for(self.portal.settings, ip_key))
            if retry is not None:
                lang = pick_language(
                    request.query_params.get("lang"), request.headers.get("accept-language"), self.portal.settings.lang
                )
                body = self.bodies.get(lang)
                if body is None:
                    body = self.bodies[lang] = bytes(_limited(lang, 1).body)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(retry).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _in(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


def create_app(home: Path | None = None, *, public_url: str = "", **overrides: Any) -> FastAPI:
    ws = Workspace.open(home)
    settings = PortalSettings.from_workspace(ws, **overrides)
    portal = Portal(ws, settings, public_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        # Everything built so far lives as long as the process: move it out of the collector's generations,
        # so garbage collections under load walk only the requests' own objects.
        gc.freeze()
        yield
        portal.writer.close()
        ws.close()

    app = FastAPI(
        title="IdolGuard report portal",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(FloodGate, portal=portal)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so the gate's 429s carry the headers too

    def lang_of(request: Request) -> str:
        return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"), settings.lang)

    @app.get("/", response_class=HTMLResponse)
    async def form(request: Request) -> HTMLResponse:
        lang = lang_of(request)
        return portal.render(
            "form.html",
            lang,
            categories=CATEGORIES,
            artists=settings.artists,
            max_urls=settings.max_urls,
            max_note=settings.max_note_chars,
        )

    @app.get("/status/{token}", response_class=HTMLResponse)
    async def status_page(request: Request, token: str) -> HTMLResponse:
        lang = lang_of(request)
        found = await asyncio.to_thread(_status, portal, token)
        if found is None:
            return portal.render("not_found.html", lang, status=404)
        if "lang" not in request.query_params and not request.headers.get("accept-language"):
            lang = found["lang"]
        local = found["created_at"].astimezone(ZoneInfo(TIME_ZONES.get(lang, "Asia/Seoul")))
        return portal.render(
            "status.html",
            lang,
            report=found,
            submitted=local.strftime("%Y-%m-%d %H:%M %Z"),
            new=request.query_params.get("new") == "1",
            status_url=f"{portal.public_url}/status/{token}",
            token=token,
        )

    @app.get("/api")
    async def api_description() -> JSONResponse:
        return JSONResponse(
            {
                "endpoints": {
                    "GET /api/challenge": "a proof-of-work challenge",
                    "POST /api/reports": "submit a report (application/json)",
                    "GET /api/status/{token}": "status of a report (the token from status_url)",
                },
                "report": {
                    "urls": f"list of 1-{settings.max_urls} http(s) links",
                    "category": list(CATEGORIES),
                    "artist": settings.artists,
                    "note": f"optional text, at most {settings.max_note_chars} characters",
                    "contact": "optional e-mail address",
                    "reporter_token": "optional 16-64 URL-safe characters identifying this browser or app",
                    "challenge": {"token": "from /api/challenge", "solution": "decimal counter"},
                },
                "challenge_algorithm": (
                    f"{challenge.ALGORITHM}: find a decimal counter c such that SHA-256(token + ':' + c) "
                    "has at least `bits` leading zero bits; send {token, solution: c}. Each solved challenge "
                    "is accepted for one report only and expires after expires_in seconds."
                ),
                "errors": "400/422 {errors: {field: [{code, message, index?}]}}; 429 with Retry-After",
            }
        )

    @app.get("/api/challenge")
    async def get_challenge(request: Request) -> JSONResponse:
        ip = portal.client_ip(request)
        retry = portal.challenge_limiter.hit(keyed(portal.secret, "ip", ip))
        if retry is not None:
            return _limited(lang_of(request), retry)
        return JSONResponse(
            {
                "token": challenge.issue(portal.secret, settings.pow_bits),
                "bits": settings.pow_bits,
                "expires_in": settings.challenge_ttl_s,
                "algorithm": challenge.ALGORITHM,
            }
        )

    @app.get("/api/status/{token}")
    async def status_api(token: str) -> JSONResponse:
        found = await asyncio.to_thread(_status, portal, token)
        if found is None:
            return JSONResponse({"errors": {"token": [{"code": "not_found", "message": "no such report"}]}}, 404)
        return JSONResponse(
            {"receipt": found["receipt"], "status": found["status"], "submitted_at": found["created_at"].isoformat()}
        )

    async def post_report(request: Request) -> JSONResponse:
        lang = lang_of(request)
        ip = portal.client_ip(request)
        ip_key = keyed(portal.secret, "ip", ip)
        retry = portal.local.blocked(rules_for(settings, ip_key))
        if retry is not None:  # a flooding address costs no parsing, no validation, no database
            return _limited(lang, retry)
        if "application/json" not in request.headers.get("content-type", "").lower():
            return _errors(lang, 415, "body", "bad_json", "send the report as application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > settings.max_body_bytes):
            return _errors(lang, 413, "body", "body_too_large", f"at most {settings.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                return _errors(lang, 413, "body", "body_too_large", f"at most {settings.max_body_bytes} bytes")
        try:
            data = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            return _junk(portal, ip_key, lang, 400, "body", "bad_json", "the body is not valid JSON")
        if not isinstance(data, dict):
            return _junk(portal, ip_key, lang, 400, "body", "bad_json", "the body must be a JSON object")
        try:
            links, category, artist, note, contact, browser_token = validate(data, settings, portal.allow_hosts)
        except FieldErrors as exc:
            retry = portal.junk_limiter.hit(ip_key)
            if retry is not None:
                return _limited(lang, retry)
            return _field_errors(lang, 422, exc.errors)
        try:
            solved = challenge.verify(portal.secret, data.get("challenge"), settings.pow_bits, settings.challenge_ttl_s)
        except challenge.ChallengeError as exc:
            return _junk(portal, ip_key, lang, 422, "challenge", exc.code, str(exc))
        rules = rules_for(settings, ip_key)
        retry = portal.local.over(rules)
        if retry is not None:
            return _limited(lang, retry)
        recent = 0
        if portal.redis is not None:
            retry, recent = await asyncio.to_thread(portal.redis.hit, rules)
            if retry is not None:
                return _limited(lang, retry)
        reporter = (
            keyed(portal.secret, "contact", contact)
            if contact
            else keyed(portal.secret, "browser", browser_token)
            if browser_token
            else keyed(portal.secret, "anon-ip", ip)
        )
        submission = Submission(links, category, artist, note, contact, reporter, ip_key, lang, solved.nonce, recent)
        try:
            result = await asyncio.wrap_future(portal.writer.submit(submission))
        except Exception:  # noqa: BLE001 - the transaction failed: nothing of this report was stored
            return _errors(lang, 503, "body", "unavailable", "temporarily unavailable; nothing was stored", retry=5)
        if isinstance(result, Limited):
            return _limited(lang, result.retry_after)
        if not isinstance(result, Accepted):
            return _errors(lang, 422, "challenge", "replayed", "this challenge solution was already used")
        return JSONResponse(
            {"receipt": result.receipt, "status_url": f"{portal.public_url}/status/{result.token}"},
            status_code=201,
        )

    # A plain Starlette route: the busiest endpoint skips FastAPI's per-request dependency machinery.
    app.add_route("/api/reports", post_report, methods=["POST"])

    @app.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon; answered so browsers log no error

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "batches": portal.writer.batches})

    return app


def _status(portal: Portal, token: str) -> dict[str, Any] | None:
    if not (16 <= len(token) <= 64) or not all(c.isalnum() or c in "-_" for c in token):
        return None
    return report_status(portal.ws, hashlib.sha256(token.encode()).hexdigest())


def _message(lang: str, code: str, fallback: str) -> str:
    key = "err_challenge" if code in ("missing", "invalid", "expired", "unsolved", "replayed") else f"err_{code}"
    text = translate(lang, key)
    return fallback if text == key else text


def _field_errors(lang: str, status: int, errors: dict[str, list[dict[str, Any]]]) -> JSONResponse:
    shown = {
        name: [{**e, "message": _message(lang, e["code"], e["message"]), "detail": e["message"]} for e in items]
        for name, items in errors.items()
    }
    return JSONResponse({"errors": shown}, status_code=status)


def _errors(lang: str, status: int, name: str, code: str, message: str, retry: int | None = None) -> JSONResponse:
    response = _field_errors(lang, status, {name: [{"code": code, "message": message}]})
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def _limited(lang: str, retry: int) -> JSONResponse:
    return _errors(lang, 429, "body", "rate_limited", "too many reports; try again later", retry=max(1, retry))


def _junk(portal: Portal, ip_key: str, lang: str, status: int, name: str, code: str, message: str) -> JSONResponse:
    """An invalid request also costs the sender: a flood of junk is throttled before it reaches the database."""
    retry = portal.junk_limiter.hit(ip_key)
    if retry is not None:
        return _limited(lang, retry)
    return _errors(lang, status, name, code, message)
