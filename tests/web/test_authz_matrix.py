"""Authorisation matrix: every page and API route x every role x (in / out of artist scope), plus anonymous.

Expected answers come from one table below (permission, whether the route is tied to an item/incident/artist
scope, and whether scope is checked before the permission). The table must list every route the app has:
a new route without a line here fails the test, so nobody adds a page without deciding who may use it.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from idolguard.db.models import DerivedObject
from idolguard.web import accounts, reveal, triage
from idolguard.web.models import ROLES, Job, Review
from idolguard.web.roles import PERMISSIONS

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed

OK = "ok"


@dataclass
class Route:
    method: str
    path: str  # template as registered
    perm: str | None  # None: any signed-in user
    scoped: bool = False  # tied to the suspect item / its incident / its artist
    scope_first: bool = False  # visibility is decided before the permission (reveal, download, original)
    out_status: int = 404  # answer when out of scope
    api: bool = False
    whole: bool = False  # acts on the whole workspace: only an admin with no artist scope (every user here has one)


PAGES = [
    Route("GET", "/", None),
    Route("GET", "/account", None),
    Route("POST", "/account", None),
    Route("GET", "/account/password", None),
    Route("POST", "/account/password", None),
    Route("POST", "/logout", None),
    Route("GET", "/triage", "read"),
    Route("POST", "/triage/bulk", "decide"),
    Route("GET", "/items/{sha}", "read", scoped=True),
    Route("POST", "/items/{sha}/decision", "decide", scoped=True),
    Route("POST", "/items/{sha}/assign", "assign", scoped=True),
    Route("POST", "/items/{sha}/comment", "comment", scoped=True),
    Route("GET", "/items/{sha}/preview.png", None, scoped=True),
    Route("GET", "/items/{sha}/heatmap/{heat}.png", None, scoped=True),
    Route("GET", "/items/{sha}/attribution/{pair}.png", None, scoped=True),
    Route("GET", "/items/{sha}/custody.json", None, scoped=True),
    Route("POST", "/items/{sha}/reveal", "reveal", scoped=True, scope_first=True),
    Route("GET", "/items/{sha}/original/{grant_id}", "reveal", scoped=True, scope_first=True),
    Route("GET", "/items/{sha}/revealed/{grant_id}", "reveal", scoped=True, scope_first=True),
    Route("POST", "/items/{sha}/download", "reveal", scoped=True, scope_first=True),
    Route("GET", "/reference/{sha}.png", None, scoped=True),
    Route("GET", "/items/{sha}/captures/{capture_id}/screenshot.png", None, scoped=True),
    Route("GET", "/items/{sha}/captures/{capture_id}/screenshot/{grant_id}", "reveal", scoped=True, scope_first=True),
    Route("POST", "/items/{sha}/captures/{capture_id}/wacz", "reveal", scoped=True, scope_first=True),
    Route("GET", "/incidents", "read"),
    Route("GET", "/incidents/{incident_id}", "read", scoped=True),
    Route("GET", "/incidents/{incident_id}/spread.svg", "read", scoped=True),
    Route("POST", "/incidents/{incident_id}/state", "close", scoped=True),
    Route("GET", "/artists", "read"),
    Route("POST", "/artists/enrol", "artists", scoped=True, out_status=400),
    Route("POST", "/artists/{name}/threshold", "artists", scoped=True),
    Route("GET", "/banks", "read"),
    Route("POST", "/banks/{name}/toggle", "banks", whole=True),
    Route("POST", "/banks/{name}/export", "banks", whole=True),
    Route("POST", "/banks/{name}/import", "banks", whole=True),
    Route("POST", "/banks/debug", "read"),
    Route("GET", "/intake", "upload"),
    Route("POST", "/intake/upload", "upload"),
    Route("POST", "/intake/capture", "upload"),
    Route("GET", "/jobs/{job_id}", "upload"),
    Route("GET", "/jobs/{job_id}/progress.json", "upload"),
    Route("GET", "/team/reveals", "team"),
    Route("GET", "/admin/users", "admin", whole=True),
    Route("POST", "/admin/users", "admin", whole=True),
    Route("POST", "/admin/users/{name}/disable", "admin", whole=True),
    Route("POST", "/admin/users/{name}/enable", "admin", whole=True),
    Route("POST", "/admin/users/{name}/reset-2fa", "admin", whole=True),
    Route("POST", "/admin/users/{name}/role", "admin", whole=True),
    Route("POST", "/admin/tokens", "admin", whole=True),
    Route("POST", "/admin/tokens/{token_id}/revoke", "admin", whole=True),
    Route("GET", "/admin/ledger", "admin", whole=True),
    Route("GET", "/admin/verify", "admin", whole=True),
    Route("POST", "/admin/verify", "admin", whole=True),
    Route("POST", "/admin/reanalyse", "admin", whole=True),
    Route("POST", "/admin/reembed", "admin", scoped=True),  # the artist named in the form: hers, or 404
    Route("GET", "/cases", "read"),
    Route("POST", "/cases", "cases", scoped=True, out_status=400),
    Route("GET", "/cases/{number}", "read", scoped=True),
    Route("GET", "/cases/{number}/chart/{name}.png", "read", scoped=True),
    Route("POST", "/cases/{number}/links", "cases", scoped=True),
    Route("POST", "/cases/{number}/status", "cases", scoped=True),
    Route("POST", "/cases/{number}/notes", "cases", scoped=True),
    Route("POST", "/cases/{number}/assign", "cases", scoped=True),
    Route("POST", "/cases/{number}/hold", "cases", scoped=True),
    Route("POST", "/cases/{number}/retention", "cases", scoped=True),
    Route("POST", "/cases/{number}/destroy", "cases", scoped=True),
    Route("POST", "/cases/{number}/report", "cases", scoped=True),
    Route("POST", "/cases/{number}/package", "cases", scoped=True),
    Route("GET", "/cases/{number}/takedowns/new", "cases", scoped=True),
    Route("POST", "/cases/{number}/takedowns", "cases", scoped=True),
    Route("GET", "/accounts", "read"),
    Route("GET", "/accounts/{account_id}", "read", scoped=True),
    Route("POST", "/accounts/alias", "cases", scoped=True, out_status=400),
    Route("POST", "/accounts/record", "cases"),
    Route("GET", "/takedowns", "read"),
    Route("GET", "/takedowns/stats.png", "read"),
    Route("GET", "/takedowns/{notice_id}", "read", scoped=True),
    Route("POST", "/takedowns/{notice_id}/send", "cases", scoped=True),
    Route("POST", "/takedowns/{notice_id}/mark", "cases", scoped=True),
    Route("POST", "/takedowns/{notice_id}/escalate", "cases", scoped=True),
    Route("POST", "/takedowns/{notice_id}/affirm", "cases", scoped=True),
    Route("GET", "/fan-reports", "read"),
    Route("POST", "/fan-reports/{link_id}/retry", "decide", scoped=True),
    Route("POST", "/fan-reports/{link_id}/decide", "decide", scoped=True),
]
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/totp"),
    ("POST", "/login/totp"),
    ("GET", "/lang/{code}"),
}
API = [
    Route("GET", "/me", None, api=True),
    Route("GET", "/items", "read", api=True),
    Route("GET", "/items/{sha256}", "read", scoped=True, api=True),
    Route("POST", "/items/{sha256}/decision", "decide", scoped=True, api=True),
    Route("GET", "/items/{sha256}/matches", "read", scoped=True, api=True),
    Route("POST", "/uploads", "upload", api=True),
    Route("POST", "/captures", "upload", api=True),
    Route("GET", "/jobs/{job_id}", "read", api=True),
    Route("GET", "/incidents", "read", api=True),
    Route("GET", "/incidents/{incident_id}", "read", scoped=True, api=True),
    Route("GET", "/artists", "read", api=True),
    Route("GET", "/banks", "read", api=True),
    Route("GET", "/cases", "read", api=True),
    Route("POST", "/cases", "cases", scoped=True, api=True),
    Route("GET", "/cases/{number}", "read", scoped=True, api=True),
    Route("POST", "/cases/{number}/links", "cases", scoped=True, api=True),
    Route("POST", "/cases/{number}/status", "cases", scoped=True, api=True),
    Route("GET", "/takedowns", "read", api=True),
    Route("POST", "/takedowns", "cases", scoped=True, api=True),
    Route("GET", "/takedowns/{notice_id}", "read", scoped=True, api=True),
    Route("GET", "/tokens", None, api=True),  # one's own tokens, whatever the role
    # Last: each user revokes the token it calls with (always allowed), so nothing after it needs that token.
    Route("DELETE", "/tokens/{token_id}", None, api=True),
]


def jpeg(seed_value: int) -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(seed_value, (128, 96)).save(buffer, "JPEG")
    return buffer.getvalue()


def expected(route: Route, role: str, in_scope: bool) -> Any:
    has = route.perm is None or route.perm in PERMISSIONS[role]
    if route.scope_first and not in_scope:
        return route.out_status
    if not has or route.whole:
        return 403
    if route.scoped and not in_scope:
        return route.out_status
    return OK


@pytest.fixture
def world(app, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.incidents.sync import sync
    from idolguard.pipeline.runner import analyze

    s = seed(app_ws, tmp_path / "media")
    triage.add_to_known_abuse(app_ws, s.suspect)
    analyze(app_ws, [s.suspect])  # re-match against the bank: the item joins an incident
    sync(app_ws)
    from idolguard.web.pages_more import visible_incident_ids
    from idolguard.web.roles import Principal

    everyone = Principal(0, "x", "admin", ())
    incident_id = min(visible_incident_ids(app_ws, everyone))
    with app_ws.sessions() as session:
        heat = session.scalar(
            select(DerivedObject.sha256).where(
                DerivedObject.parent_sha256 == s.suspect, DerivedObject.kind == "heatmap"
            )
        )
        from idolguard.gallery.models import ArtistReference

        crop = session.scalar(select(ArtistReference.crop_sha256))
    assert heat and crop
    # A case for the artist with two accounts posting the suspect item, and a drafted takedown notice.
    from idolguard.cases.accounts import record_from_sightings
    from idolguard.cases.models import Account
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.takedowns.notices import DraftOptions, draft

    for n, handle in enumerate(("@a", "@b")):
        info = SightingInfo(source_url=f"https://x.example/p/{n}", platform="x", account=handle)
        list(Ingestor(app_ws, info).ingest([s.folder / "suspect.jpg"]))
    record_from_sightings(app_ws)
    number = open_case(app_ws, "matrix", s.artist)
    add_to_case(app_ws, number, [s.suspect])
    options = DraftOptions(number, "web_host", "plain_letter", to="abuse@host.test", reporter_name="r")
    notice = draft(app_ws, DraftOptions(**{**options.__dict__, "reporter_email": "r@agency.test"}))[0]
    with app_ws.sessions() as session:
        account = session.scalar(select(Account.id).where(Account.handle == "@a"))
    from idolguard.server.fan import install

    install(app)  # the portal's reported links, as `idolguard serve` composes them
    return {
        "seed": s,
        "link": _failed_fan_link(app_ws, s.artist),
        "incident": incident_id,
        "heat": heat,
        "crop": crop,
        "case": number,
        "notice": notice,
        "account": account,
        "capture": _capture_of(app_ws, s),
    }


def _failed_fan_link(ws, artist: str) -> int:  # type: ignore[no-untyped-def]
    """A link a fan reported for the artist whose capture failed (the real path: tests/web/test_fan_reports_page)."""
    from idolguard.portal.models import PortalLink, PortalReport, PortalReportLink

    with ws.sessions() as session, session.begin():
        link = PortalLink(url="https://down.invalid/m", url_sha256="0" * 64, host="down.invalid", state="failed")
        report = PortalReport(
            receipt="R-MATRIX",
            status_token_sha256="1" * 64,
            category="ai_deepfake",
            artist=artist,
            reporter_key="k",
            ip_key="i",
            lang="ko",
            url_count=1,
            challenge_nonce="n",
        )
        session.add_all([link, report])
        session.flush()
        session.add(PortalReportLink(report_id=report.id, link_id=link.id, original_url=link.url, first_report=True))
        return int(link.id)


def _capture_of(ws, s) -> int:  # type: ignore[no-untyped-def]
    """A capture record that preserved the suspect item (screenshot and WACZ in the vault); the real capture
    path is tested end to end in test_item_evidence.py."""
    from idolguard.capture.models import Capture, CaptureMedia

    screenshot = ws.vault.put_bytes((s.folder / "official.png").read_bytes()).sha256
    wacz = ws.vault.put_bytes(b"PK\x05\x06" + b"\x00" * 18).sha256
    with ws.sessions() as session, session.begin():
        row = Capture(
            requested_url="https://example.invalid/post/1",
            state="ok",
            actor="test",
            screenshot_sha256=screenshot,
            wacz_sha256=wacz,
        )
        session.add(row)
        session.flush()
        session.add(
            CaptureMedia(capture_id=row.id, url="https://example.invalid/p.jpg", via="img", item_sha256=s.suspect)
        )
        return row.id


def call(client, route: Route, world: dict, name: str, token: str | None) -> int:  # type: ignore[no-untyped-def]
    ws = client.app.state.ws
    s = world["seed"]
    with ws.sessions() as session:
        version = session.get(Review, s.suspect).version
    values = {
        "sha": world["crop"] if route.path.startswith("/reference") else s.suspect,
        "sha256": s.suspect,
        "heat": world["heat"],
        "pair": world["heat"],  # any derived image of the item is served blurred by the attribution route
        "incident_id": world["incident"],
        "capture_id": world["capture"],
        "number": world["case"],
        "notice_id": world["notice"],
        "link_id": world["link"],
        "account_id": world["account"],
        "name": {"/banks": "known_abuse", "/admin": None, "/artists": s.artist, "/cases": "sightings"}.get(
            "/" + route.path.split("/")[1]
        ),
    }
    fields: dict[str, Any] = {}
    files: Any = None
    path = route.path
    if route.path.startswith("/admin/users/{name}"):
        victim = f"victim{abs(hash((name, route.path))) % 10**8}"
        make_user(ws, victim, "viewer")
        values["name"] = victim
        if route.path.endswith("/enable"):
            accounts.disable_user(ws, victim, by="t")
    if "{grant_id}" in path:
        from idolguard.web.accounts import get_user, principal_of

        with ws.sessions() as session:
            who = principal_of(get_user(session, name or "admin0"))
        values["grant_id"] = reveal.grant(ws, who, s.suspect, "matrix").id
    if "{job_id}" in path:
        with ws.sessions() as session, session.begin():
            job = Job(kind="upload", state="done", created_by=name or "admin0", params={}, results=[])
            session.add(job)
            session.flush()
            values["job_id"] = job.id
    if route.api and "{token_id}" in path:  # the caller's own token (revoking another's: test_api.py)
        from idolguard.web import security
        from idolguard.web.models import ApiToken

        with ws.sessions() as session:
            own = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == security.token_hash(token or "")))
        values["token_id"] = own or 1
    elif "{token_id}" in path:
        values["token_id"] = int(accounts.create_token(ws, "admin0", "read", "1d", by="t") and 0) or _last_token(ws)
    for key, value in values.items():
        path = path.replace("{" + key + "}", str(value))
    body = {
        "/triage/bulk": {"action": "in_review", "item": s.suspect, f"v_{s.suspect}": str(version)},
        "/decision": {"status": "in_review", "version": str(version)},
        "/assign": {"assignee": name, "version": str(version)},
        "/comment": {"text": "matrix"},
        "/reveal": {"reason": "identity_check"},
        "/download": {"reason": "matrix"},
        "/wacz": {"reason": "matrix"},
        "/account": {"lang": "ko", "timezone": "Asia/Seoul"},
        "/account/password": {"current_password": STRONG, "new_password": STRONG, "repeat": STRONG},
        "/threshold": {"threshold": "0.5", "reason": "matrix"},
        "/state": {"state": "open", "reason": "matrix"},
        "/role": {"role": "viewer", "artists": "Eileen"},
        "/intake/capture": {"urls": "http://example.invalid/post"},
        "/admin/users": {"name": f"new{abs(hash(name)) % 10**8}", "role": "viewer"},
        "/admin/tokens": {"name": name, "scope": "read", "expires": "1d"},
        "/admin/verify": {},
        "/admin/reembed": {"artist": s.artist},
        "/links": {"refs": s.suspect},
        "/status": {"status": "gathering"},
        "/notes": {"text": "matrix"},
        "/hold": {"on": "1", "reason": "matrix"},
        "/retention": {"days": "30"},
        "/destroy": {"reason": "matrix", "confirm": world["case"]},
        "/report": {"lang": "en", "format": "html"},
        "/package": {"hashes_only": "1"},
        "/cases/{number}/takedowns": {
            "recipient": "web_host",
            "basis": "plain_letter",
            "to": "abuse@host.test",
            "reporter_name": "r",
            "reporter_email": "r@agency.test",
            "again": "1",
        },
        "/mark": {"status": "acknowledged", "ref": "T"},
        "/escalate": {"early": "1"},
        "/fan-reports/{link_id}/decide": {"decision": "not_actionable"},
        "/accounts/alias": {"a": "x/@a", "b": "x/@b", "reason": "matrix"},
    }
    for suffix, data in body.items():
        if route.path.endswith(suffix):
            fields = dict(data)
    if route.path == "/cases/{number}/assign":
        fields = {"person": name, "role": "counsel"}
    if route.path == "/cases":
        fields = {"title": "matrix", "artist": s.artist}  # out-of-scope users may not open a case for her
    if route.path == "/artists/enrol":
        fields = {"name": s.artist, "consent_ref": "c"}  # out-of-scope users may not touch this artist
        files = [("photos", ("official.png", (s.folder / "official.png").read_bytes(), "image/png"))]
    if route.path in ("/intake/upload",):
        files = [("files", ("m.jpg", jpeg(abs(hash(name)) % 1000), "image/jpeg"))]
    if route.path == "/banks/{name}/import":
        files = [("file", ("h.txt", b"", "text/plain"))]
    if route.path == "/banks/debug":
        files = [("image", ("p.jpg", jpeg(1), "image/jpeg"))]
    if route.api:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if route.path == "/uploads":
            files = [("files", ("m.jpg", jpeg(5), "image/jpeg"))]
            return client.post("/api/v1" + path, files=files, headers=headers).status_code
        if route.path == "/captures":
            return client.post(
                "/api/v1" + path, json={"urls": ["http://example.invalid/x"]}, headers=headers
            ).status_code
        api_bodies: dict[str, Any] = {
            "/cases": {"title": "matrix", "artist": s.artist},
            "/cases/{number}/links": {"refs": [s.suspect]},
            "/cases/{number}/status": {"status": "gathering"},
            "/takedowns": {
                "case": world["case"],
                "recipient": "web_host",
                "basis": "plain_letter",
                "to": "abuse@host.test",
                "reporter_name": "r",
                "reporter_email": "r@agency.test",
                "again": True,
            },
        }
        if route.method == "DELETE":
            return client.delete("/api/v1" + path, headers=headers).status_code
        if route.method == "POST" and route.path in api_bodies:
            return client.post("/api/v1" + path, json=api_bodies[route.path], headers=headers).status_code
        if route.method == "POST":
            return client.post(
                "/api/v1" + path, json={"status": "in_review", "version": version}, headers=headers
            ).status_code
        return client.get("/api/v1" + path, headers=headers).status_code
    if route.method == "GET":
        return client.get(path).status_code
    fields["csrf"] = csrf_of(client.get("/account").text) if name else "none"
    return client.post(path, data=fields, files=files).status_code


def _last_token(ws) -> int:  # type: ignore[no-untyped-def]
    from idolguard.web.models import ApiToken

    with ws.sessions() as session:
        return session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))


def classify(status: int) -> Any:
    if status in (401, 403, 404) or (status == 400):
        return status
    assert status < 500, f"server error {status}"
    return OK


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Routes, looking inside included routers (FastAPI wraps them; their paths already carry the prefix)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def test_every_route_is_in_the_matrix(app):
    registered = {(m, r.path) for r in api_routes(app.routes) for m in r.methods if m != "HEAD"}
    listed = {(r.method, r.path) for r in PAGES} | PUBLIC
    assert registered == listed, f"unlisted: {registered - listed}; stale: {listed - registered}"
    api_app = next(r.app for r in app.routes if getattr(r, "path", "") == "/api/v1")
    in_api = {(m, r.path) for r in api_routes(api_app.routes) for m in r.methods if m != "HEAD"}
    in_api -= {("GET", "/openapi.json")}
    assert in_api == {(r.method, r.path) for r in API}


def test_authorisation_matrix(app, app_ws, world, new_client):
    make_user(app_ws, "admin0", "admin", password=STRONG)
    failures = []
    clients: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for role, scope in itertools.product(ROLES, ("in", "out")):
        name = f"{role}-{scope}"
        login = make_user(app_ws, name, role, ["Eileen" if scope == "in" else "Someone Else"], password=STRONG)
        clients[name] = sign_in(new_client(), login)
        # A viewer can only have a read token (a write token is refused for a role that cannot write).
        tokens[name] = accounts.create_token(app_ws, name, "read" if role == "viewer" else "write", "1d", by="t")
    anonymous = new_client()
    for route in PAGES + API:
        got = call(anonymous, route, world, "", None)
        want = 401 if route.api else OK  # pages: a redirect to the sign-in page
        if route.api and got != 401 or not route.api and not (got == 303 or (route.method == "POST" and got == 403)):
            failures.append(f"anonymous {route.method} {route.path}: {got}")
        del want
        for role, scope in itertools.product(ROLES, ("in", "out")):
            name = f"{role}-{scope}"
            if route.path in ("/logout", "/account/password") and route.method == "POST":
                continue  # would end / change this user's session; covered in test_accounts
            status = call(clients[name], route, world, name, tokens[name])
            want = expected(route, role, scope == "in")
            if classify(status) != want:
                where = ("/api/v1" if route.api else "") + route.path
                failures.append(f"{name:16} {route.method:4} {where}: got {status}, want {want}")
    assert not failures, "\n".join(failures)
