"""Accounts: users (one-time password + TOTP provisioning), sign-in with throttling and lock-out, sessions,
API tokens. Every change and every sign-in attempt is a custody event.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.web import passwords, security
from idolguard.web.custody import custody
from idolguard.web.models import ROLES, ApiToken, LoginThrottle, User, WebSession
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace

INVITE_TTL = timedelta(hours=72)
MAX_FAILED = 5
LOCK_TIME = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Per client address: this many failed attempts (any accounts) within IP_WINDOW block the address for
# ``[web] login_ip_block_minutes``; the per-account lock-out above still applies on its own.
IP_MAX_FAILURES = 20
IP_WINDOW = timedelta(minutes=15)
NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
NAME_MAX = 64


def _hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"  # precomposed syllables (NFC gives these; jamo-only names are refused)


def normal_name(name: str) -> str:
    """The form a user name is stored and looked up in: NFC (a name typed on a Mac arrives decomposed),
    surrounding spaces removed, lower case. Used by every door (CLI, admin page, sign-in), so 민지 typed
    anywhere is the same account."""
    return unicodedata.normalize("NFC", name).strip().lower()


MAX_TOKEN_TTL = timedelta(days=365)


class AccountError(IdolGuardError):
    """A refused account operation: the English message for the CLI, a ``code`` (with the values its message
    names) for the pages, which say it from their catalog (``web.errors.MESSAGES``)."""


class PasswordRefused(AccountError):
    """A password that fails the rules (``reason``: a key of ``passwords.REASONS``, or ``wrong_current``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(passwords.REASONS.get(reason, reason), code=ErrorCode(f"password.{reason}"))
        self.reason = reason


@dataclass
class NewUser:
    user: str
    password: str
    totp_uri: str


def now() -> datetime:
    return datetime.now(UTC)


def principal_of(user: User, token_scope: str | None = None, token_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        role=user.role,
        artists=tuple(user.artists or ()),
        lang=user.lang,
        timezone=user.timezone or "Asia/Seoul",
        never_reveal=bool(user.never_reveal),
        token_scope=token_scope,
        token_id=token_id,
    )


def _check_name(name: str) -> str:
    """A valid user name (``normal_name``): 1-64 characters, each a Latin letter, a Hangul syllable, a digit
    or ``. _ - @``. Other scripts are refused rather than risk look-alikes (Cyrillic "а" for Latin "a"), and
    control, bidirectional and zero-width characters never pass, so a name reads as what it is everywhere."""
    name = normal_name(name)
    if not name or len(name) > NAME_MAX or not all(ch in NAME_OK or _hangul(ch) for ch in name):
        raise AccountError(
            "user names are 1-64 characters: Latin letters, Hangul, digits, '.', '_', '-', '@'",
            code=ErrorCode.USER_NAME_INVALID,
        )
    return name


def known_scope(session: Session, artists: list[str], *, allow_unknown: bool = False) -> list[str]:
    """The artist scope as enrolled names (aliases and case resolved); an unknown name is refused, since a
    typo would silently give the user a scope that matches nothing (or, once enrolled, the wrong person)."""
    from idolguard.gallery.store import find_artist

    wanted = sorted({a.strip() for a in artists if a.strip()})
    if allow_unknown:
        return wanted
    scope, unknown = set(), []
    for name in wanted:
        artist = find_artist(session, name)
        if artist is None:
            unknown.append(name)
        else:
            scope.add(artist.name)
    if unknown:
        raise AccountError(
            f"unknown artist(s) in the scope: {', '.join(unknown)} (enrol them first, or check the spelling)",
            code=ErrorCode.SCOPE_UNKNOWN_ARTISTS,
            names=", ".join(unknown),
        )
    return sorted(scope)


def add_user(
    ws: Workspace, name: str, role: str, artists: list[str], *, by: str, allow_unknown_artists: bool = False
) -> NewUser:
    name = _check_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})", code=ErrorCode.ROLE_UNKNOWN)
    password = security.new_password()
    secret = security.new_totp_secret()
    with custody(ws, by) as (session, ledger):
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountError(f"user {name!r} already exists", code=ErrorCode.USER_EXISTS, name=name)
        artists = known_scope(session, artists, allow_unknown=allow_unknown_artists)
        session.add(
            User(
                name=name,
                role=role,
                artists=artists,
                password_hash=security.hash_password(password),
                must_change_password=True,
                invite_expires_at=now() + INVITE_TTL,
                totp_secret=secret,
                timezone="Asia/Seoul",
            )
        )
        ledger.append("web.user_add", details={"user": name, "role": role, "artists": artists})
    return NewUser(name, password, security.totp_uri(secret, name))


def list_users(ws: Workspace) -> list[User]:
    with ws.sessions() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == normal_name(name)))
    if user is None:
        raise AccountError(f"no user {name!r}", code=ErrorCode.USER_UNKNOWN, name=name.strip())
    return user


def _active_admins(session: Session) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count(User.id)).where(User.role == "admin", User.disabled.is_(False))) or 0)


def _last_admin(name: str) -> AccountError:
    return AccountError(
        f"{name!r} is the last active administrator; add or enable another first",
        code=ErrorCode.USER_LAST_ADMIN,
        name=name,
    )


def disable_user(ws: Workspace, name: str, *, by: str) -> None:
    """Disable an account. Refused for one's own account and for the last active administrator, so the
    workspace can never be left without anyone able to manage it."""
    with custody(ws, by) as (session, ledger):
        user = get_user(session, name)
        if user.disabled:
            raise AccountError(
                f"user {user.name!r} is already disabled", code=ErrorCode.USER_ALREADY_DISABLED, name=user.name
            )
        if user.name == normal_name(by):
            raise AccountError("you cannot disable your own account", code=ErrorCode.USER_SELF_DISABLE)
        if user.role == "admin" and _active_admins(session) <= 1:
            raise _last_admin(user.name)
        user.disabled = True
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked_at=now()))
        for row in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            session.delete(row)
        ledger.append("web.user_disable", details={"user": user.name})


def enable_user(ws: Workspace, name: str, *, by: str) -> None:
    """Enable a disabled account again (failed sign-ins forgotten). Its API tokens stay revoked: new ones are
    issued deliberately."""
    with custody(ws, by) as (session, ledger):
        user = get_user(session, name)
        if not user.disabled:
            raise AccountError(f"user {user.name!r} is not disabled", code=ErrorCode.USER_NOT_DISABLED, name=user.name)
        user.disabled = False
        user.failed_logins = 0
        user.locked_until = None
        ledger.append("web.user_enable", details={"user": user.name})


def change_user(ws: Workspace, name: str, role: str, artists: list[str], *, by: str) -> None:
    """New role and artist scope; the user's sessions end so the change applies at once."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})", code=ErrorCode.ROLE_UNKNOWN)
    with custody(ws, by) as (session, ledger):
        user = get_user(session, name)
        scope = known_scope(session, artists)
        if user.role == "admin" and role != "admin" and not user.disabled and _active_admins(session) <= 1:
            raise _last_admin(user.name)
        before = {"role": user.role, "artists": list(user.artists or [])}
        user.role, user.artists = role, scope
        for row in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            session.delete(row)
        ledger.append("web.user_change", details={"user": user.name, "from": before, "role": role, "artists": scope})


def reset_2fa(ws: Workspace, name: str, *, by: str) -> str:
    """New TOTP secret; every session of the user ends. Returns the new provisioning URI."""
    secret = security.new_totp_secret()
    with custody(ws, by) as (session, ledger):
        user = get_user(session, name)
        user.totp_secret = secret
        for row in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            session.delete(row)
        ledger.append("web.totp_reset", details={"user": user.name})
        return security.totp_uri(secret, user.name)


def set_password(ws: Workspace, user_id: int, password: str) -> None:
    """Set a password that passes the rules (``passwords.problem``); clears the one-time password state."""
    with ws.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        name = user.name
    reason = passwords.problem(password, name)
    if reason:
        raise PasswordRefused(reason)
    with custody(ws, name) as (session, ledger):
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = security.hash_password(password)
        user.must_change_password = False
        user.invite_expires_at = None
        ledger.append("web.password_set", details={"user": name})


def change_password(ws: Workspace, user_id: int, current: str, new: str, *, client: str) -> str:
    """The user's own password change: the current password must be right (a wrong one counts towards the
    lock-out like a failed sign-in). Every session of the user ends; the new session id is returned."""
    with ws.sessions() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            raise AccountError("no such user", code=ErrorCode.USER_UNKNOWN, name="")
        name, stored = user.name, user.password_hash
    if not security.verify_password(stored, current[: passwords.MAX_LENGTH]):
        _record_attempt(
            ws, name, LoginResult(False, "bad_credentials", user_id), client=client, factor="password_change"
        )
        raise PasswordRefused("wrong_current")
    if security.verify_password(stored, new[: passwords.MAX_LENGTH]):
        raise PasswordRefused("same")
    set_password(ws, user_id, new)
    with ws.sessions() as session, session.begin():
        for row in session.scalars(select(WebSession).where(WebSession.user_id == user_id)):
            session.delete(row)
    return new_session(ws, user_id, second_factor_ok=True)


# --- sign-in ---------------------------------------------------------------------------------------------


@dataclass
class LoginResult:
    ok: bool
    reason: str = ""  # bad_credentials|bad_code|locked|disabled|invite_expired|throttled
    user_id: int | None = None


def check_password(ws: Workspace, name: str, password: str, *, client: str) -> LoginResult:
    """First factor. Failures count towards a lock-out; each attempt is a custody event (no password logged)."""
    name = normal_name(name[:256])[:128]
    with ws.sessions() as session:
        user = session.scalar(select(User).where(User.name == name))
        if client_blocked(ws, client):
            security.dummy_verify()  # the same time as a real check: the answer says nothing about the account
            result = LoginResult(False, "throttled", user.id if user else None)
        elif user is None:
            security.dummy_verify()
            result = LoginResult(False, "bad_credentials")
        elif user.disabled:
            security.dummy_verify()
            result = LoginResult(False, "disabled", user.id)
        elif user.locked_until and user.locked_until > now():
            security.dummy_verify()
            result = LoginResult(False, "locked", user.id)
        elif not security.verify_password(user.password_hash, password):
            result = LoginResult(False, "bad_credentials", user.id)
        elif user.must_change_password and user.invite_expires_at and user.invite_expires_at < now():
            result = LoginResult(False, "invite_expired", user.id)
        else:
            result = LoginResult(True, "", user.id)
    _record_attempt(ws, name, result, client=client, factor="password")
    return result


def check_totp(ws: Workspace, user_id: int, code: str, *, client: str) -> LoginResult:
    with ws.sessions() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return LoginResult(False, "disabled")
        name = user.name
        if client_blocked(ws, client):
            result = LoginResult(False, "throttled", user_id)
        elif user.locked_until and user.locked_until > now():
            result = LoginResult(False, "locked", user_id)
        elif security.verify_totp(user.totp_secret, code):
            result = LoginResult(True, "", user_id)
        else:
            result = LoginResult(False, "bad_code", user_id)
    _record_attempt(ws, name, result, client=client, factor="totp")
    return result


def _ip_limits(ws: Workspace) -> tuple[int, timedelta]:
    web = ws.config.section("web")
    return (
        int(web.get("login_ip_max_failures") or IP_MAX_FAILURES),
        timedelta(minutes=int(web.get("login_ip_block_minutes") or 15)),
    )


def client_blocked(ws: Workspace, client: str) -> bool:
    """Whether sign-ins from this address are refused for now (too many recent failures from it)."""
    with ws.sessions() as session:
        row = session.get(LoginThrottle, client[:64])
        return bool(row is not None and row.blocked_until is not None and row.blocked_until > now())


def _count_failure(ws: Workspace, client: str) -> tuple[int, datetime | None]:
    """One more failure from ``client`` in its window: (failures so far, end of the block it starts or None)."""
    limit, block = _ip_limits(ws)
    for _attempt in range(3):  # two first failures of a new address at once: one insert wins, retry the other
        try:
            with ws.sessions() as session, session.begin():
                moment = now()
                row = session.get(LoginThrottle, client[:64], with_for_update=True)
                if row is None:
                    row = LoginThrottle(client=client[:64], window_start=moment, failures=0)
                    session.add(row)
                elif moment - row.window_start > IP_WINDOW:
                    row.window_start, row.failures = moment, 0
                row.failures += 1
                if row.failures < limit:
                    return row.failures, None
                row.blocked_until = moment + block
                row.window_start, row.failures = moment, 0
                return limit, row.blocked_until
        except IntegrityError:
            continue
    return 0, None


def _record_attempt(ws: Workspace, name: str, result: LoginResult, *, client: str, factor: str) -> None:
    blocked_until = None
    failures = 0
    if not result.ok and result.reason != "throttled":
        failures, blocked_until = _count_failure(ws, client)
    with custody(ws, name or "-") as (session, ledger):
        user = session.get(User, result.user_id) if result.user_id else None
        details = {"user": name, "factor": factor, "client": client}
        if result.ok:
            if user is not None and factor == "totp":
                user.failed_logins = 0
                user.locked_until = None
            ledger.append("web.login" if factor == "totp" else "web.login_password_ok", details=details)
            return
        ledger.append("web.login_failed", details={**details, "reason": result.reason})
        if blocked_until is not None:
            ledger.append(
                "web.ip_lockout", details={"client": client, "failures": failures, "until": blocked_until.isoformat()}
            )
        if user is not None and result.reason in ("bad_credentials", "bad_code"):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED:
                user.locked_until = now() + LOCK_TIME
                user.failed_logins = 0
                ledger.append("web.lockout", details={"user": name, "until": user.locked_until.isoformat()})


# --- sessions --------------------------------------------------------------------------------------------


def new_session(ws: Workspace, user_id: int, *, second_factor_ok: bool, replaces: str | None = None) -> str:
    """A fresh session id (rotated at every step of sign-in, so a planted id never becomes authenticated)."""
    token = secrets.token_urlsafe(32)
    with ws.sessions() as session, session.begin():
        if replaces:
            old = session.get(WebSession, security.token_hash(replaces))
            if old is not None:
                session.delete(old)
        session.add(
            WebSession(
                token_hash=security.token_hash(token),
                user_id=user_id,
                csrf=secrets.token_urlsafe(32),
                second_factor_ok=second_factor_ok,
                created_at=now(),
                last_seen_at=now(),
            )
        )
    return token


def load_session(ws: Workspace, token: str) -> tuple[WebSession, User] | None:
    """The live session for a cookie value, or None (unknown, idle too long, too old, user disabled)."""
    if not token:
        return None
    moment = now()
    with ws.sessions() as session, session.begin():
        row = session.get(WebSession, security.token_hash(token))
        if row is None:
            return None
        user = session.get(User, row.user_id)
        if (
            user is None
            or user.disabled
            or moment - row.last_seen_at > IDLE_TIMEOUT
            or moment - row.created_at > ABSOLUTE_TIMEOUT
        ):
            session.delete(row)
            return None
        if moment - row.last_seen_at > timedelta(seconds=30):  # keep writes rare
            row.last_seen_at = moment
        session.flush()
        session.expunge_all()
        return row, user


def end_session(ws: Workspace, token: str) -> None:
    with ws.sessions() as session, session.begin():
        row = session.get(WebSession, security.token_hash(token))
        if row is not None:
            session.delete(row)


# --- API tokens ------------------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta | None:
    text = text.strip().lower()
    if text in ("", "never", "0"):
        return None
    units = {"d": "days", "h": "hours", "w": "weeks"}
    if text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0 or len(text) > 8:
        raise AccountError(f"bad duration {text!r} (e.g. 30d, 12h, 2w)", code=ErrorCode.DURATION_INVALID, text=text)
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def create_token(ws: Workspace, name: str, scope: str, expires: str, *, by: str) -> str:
    """A token acting as ``name``. It always expires, within ``MAX_TOKEN_TTL`` (a forgotten token must not
    work for ever); ``write`` only for a role that can change anything."""
    from idolguard.web.roles import PERMISSIONS

    if scope not in ("read", "write"):
        raise AccountError("scope is read or write", code=ErrorCode.TOKEN_SCOPE)
    ttl = parse_duration(expires)
    if ttl is None or ttl > MAX_TOKEN_TTL:
        raise AccountError(
            f"tokens expire within {MAX_TOKEN_TTL.days} days (e.g. 30d, 12h, 2w)",
            code=ErrorCode.TOKEN_TTL,
            days=MAX_TOKEN_TTL.days,
        )
    token = security.new_token()
    with custody(ws, by) as (session, ledger):
        user = get_user(session, name)
        if user.disabled:
            raise AccountError(f"user {name!r} is disabled", code=ErrorCode.USER_DISABLED, name=user.name)
        if scope == "write" and PERMISSIONS[user.role] <= {"read"}:
            raise AccountError(
                f"user {user.name!r} is a {user.role}, who cannot change anything: only read tokens",
                code=ErrorCode.TOKEN_READ_ONLY_ROLE,
                name=user.name,
            )
        row = ApiToken(
            user_id=user.id,
            token_hash=security.token_hash(token),
            scope=scope,
            created_at=now(),
            expires_at=(now() + ttl) if ttl else None,
        )
        session.add(row)
        session.flush()
        ledger.append("web.token_create", details={"user": user.name, "token_id": row.id, "scope": scope})
    return token


def revoke_token(ws: Workspace, token_id: int, *, by: str) -> None:
    with custody(ws, by) as (session, ledger):
        row = session.get(ApiToken, token_id)
        if row is None:
            raise AccountError(f"no token {token_id}", code=ErrorCode.TOKEN_UNKNOWN, id=token_id)
        row.revoked_at = now()
        ledger.append("web.token_revoke", details={"token_id": token_id})


def own_tokens(ws: Workspace, user_id: int) -> list[ApiToken]:
    """A user's API tokens, newest first (hashes only are stored; the tokens themselves were shown once)."""
    with ws.sessions() as session:
        rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))
        session.expunge_all()
        return rows


def revoke_own_token(ws: Workspace, user_id: int, token_id: int, *, by: str) -> bool:
    """Revoke one of the user's own tokens (another user's is "no token", so ids do not leak); False when it
    was revoked already (nothing changes, nothing is recorded)."""
    with custody(ws, by) as (session, ledger):
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise AccountError(f"no token {token_id}", code=ErrorCode.TOKEN_UNKNOWN, id=token_id)
        if row.revoked_at is not None:
            return False
        row.revoked_at = now()
        ledger.append("web.token_revoke", details={"token_id": token_id, "own": True})
        return True


def principal_for_token(ws: Workspace, token: str) -> Principal | None:
    with ws.sessions() as session, session.begin():
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.token_hash(token)))
        if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now()):
            return None
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        if row.last_used_at is None or now() - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now()
        return principal_of(user, token_scope=row.scope, token_id=row.id)


def ensure_first_admin(ws: Workspace) -> NewUser | None:
    """Create ``admin`` when the workspace has no user yet; the one-time login is returned to be shown once."""
    with ws.sessions() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            return None
    return add_user(ws, "admin", "admin", [], by="system")


def login_lines(created: NewUser) -> list[str]:
    """The one-time login as lines to print once (the TOTP URI whole, so it can be copied)."""
    return [
        f"user: {created.user}",
        f"one-time password (change at first sign-in): {created.password}",
        f"TOTP setup URI (add it to an authenticator app): {created.totp_uri}",
    ]


def first_admin_at_init(ws: Workspace, say: Callable[[str], None]) -> None:
    """``idolguard init``: create the first administrator and print its one-time login (once: ``serve``
    then finds accounts and prints no password)."""
    created = ensure_first_admin(ws)
    if created is None:
        return
    say("Web app: first administrator created. This login is shown only once:")
    for line in login_lines(created):
        say(line)
