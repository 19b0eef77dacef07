"""Sign-in throttling per client address as well as per account: password spraying (a few guesses on each of
many accounts, never enough to lock one) blocks the address; other addresses are unaffected; both kinds of
lock-out are custody events."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from idolguard.db.models import LedgerEntry
from idolguard.web import accounts
from idolguard.web.models import LoginThrottle, User

from .conftest import STRONG, csrf_of, make_user, sign_in

ATTACKER = "198.51.100.7"
COLLEAGUE = "203.0.113.9"


def client_from(app, address: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False, client=(address, 40000))


def attempt(client: TestClient, name: str, password: str) -> int:
    page = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}).status_code


def test_spraying_from_one_address_blocks_that_address_only(app, app_ws):
    users = [make_user(app_ws, f"user{i}", "analyst", password=STRONG) for i in range(5)]
    per_account = accounts.MAX_FAILED - 1  # never enough to lock any one account
    attacker = client_from(app, ATTACKER)
    statuses = []
    for login in users:
        for guess in range(per_account):
            statuses.append(attempt(attacker, login.name, f"guess number {guess}!"))
    assert statuses == [401] * 20  # the 20th failure starts the block
    # Now even the right password is refused from that address, with a clear "too many" answer (429)...
    refused = attacker.get("/login")
    answer = attacker.post("/login", data={"csrf": csrf_of(refused.text), "name": "user0", "password": STRONG})
    assert answer.status_code == 429 and "network address" in answer.text.replace("네트워크 주소", "network address")
    # ... while a colleague at another address signs in to the same account normally.
    assert sign_in(client_from(app, COLLEAGUE), users[0]).get("/triage").status_code == 200
    with app_ws.sessions() as session:
        assert all(u.locked_until is None for u in session.scalars(select(User)))  # no account was locked
        rows = session.execute(select(LedgerEntry.action, LedgerEntry.details).order_by(LedgerEntry.seq)).all()
    ip_locks = [d for a, d in rows if a == "web.ip_lockout"]
    assert len(ip_locks) == 1 and ip_locks[0]["client"] == ATTACKER and ip_locks[0]["failures"] == 20
    throttled = [d for a, d in rows if a == "web.login_failed" and d.get("reason") == "throttled"]
    assert len(throttled) == 1 and throttled[0]["client"] == ATTACKER and throttled[0]["user"] == "user0"
    assert not any(a == "web.lockout" for a, _d in rows)

    # When the block ends the address may try again (and a right password works).
    with app_ws.sessions() as session, session.begin():
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.client == ATTACKER)
            .values(blocked_until=accounts.now() - timedelta(seconds=1))
        )
    assert sign_in(attacker, users[1]).get("/triage").status_code == 200


def test_a_blocked_address_cannot_guess_totp_codes_either(app, app_ws):
    login = make_user(app_ws, "ana", "analyst", password=STRONG)
    client = client_from(app, ATTACKER)
    assert attempt(client, "ana", STRONG) == 303
    # The address is blocked meanwhile (e.g. by failures against other accounts).
    with app_ws.sessions() as session, session.begin():
        session.add(
            LoginThrottle(
                client=ATTACKER,
                window_start=accounts.now(),
                failures=0,
                blocked_until=accounts.now() + timedelta(minutes=5),
            )
        )
    page = client.get("/login/totp")
    answer = client.post("/login/totp", data={"csrf": csrf_of(page.text), "code": login.code()})
    assert answer.status_code == 429  # even the right code
    assert client.get("/triage").status_code == 303  # not signed in; the half session is gone


def test_failures_outside_the_window_do_not_add_up(app, app_ws):
    make_user(app_ws, "ana", "analyst", password=STRONG)
    client = client_from(app, ATTACKER)
    for _ in range(3):
        assert attempt(client, "nobody", "wrong password!!") == 401
    with app_ws.sessions() as session, session.begin():
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.client == ATTACKER)
            .values(window_start=accounts.now() - accounts.IP_WINDOW - timedelta(minutes=1))
        )
    assert attempt(client, "nobody", "wrong password!!") == 401
    with app_ws.sessions() as session:
        row = session.get(LoginThrottle, ATTACKER)
        assert row is not None and row.failures == 1 and row.blocked_until is None
