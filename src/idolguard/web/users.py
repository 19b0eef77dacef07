"""The user directory other areas consult through ``Area.people`` (declared in ``web/area.py``).

Cases sit below the web app in the layers, so they cannot import it; they ask the registry for the directory
instead. A ledger actor maps to a user: ``web:NAME`` (written by the web app) or a command-line operator name
equal to a user name (case-insensitive). Disabled users count as nobody.
"""

from __future__ import annotations

from sqlalchemy import func, select

from idolguard.web.models import User
from idolguard.workspace import Workspace

WEB_PREFIX = "web:"


def user_name_of(actor: str) -> str:
    """The user name an actor refers to: ``web:alice`` and ``Alice`` are both ``alice``."""
    actor = actor.strip()
    if actor.startswith(WEB_PREFIX):
        actor = actor[len(WEB_PREFIX) :]
    return actor.lower()


def has_accounts(ws: Workspace) -> bool:
    """Whether this workspace has web accounts at all (until then, operator names are all there is)."""
    with ws.sessions() as session:
        return bool(session.scalar(select(func.count(User.id)).where(User.disabled.is_(False))))


def lookup(ws: Workspace, actor: str) -> tuple[str, str] | None:
    """(user name, role) of the active user the actor maps to, or None."""
    name = user_name_of(actor)
    with ws.sessions() as session:
        row = session.execute(select(User.name, User.role).where(User.name == name, User.disabled.is_(False))).first()
    return (row[0], row[1]) if row else None


def role_of(ws: Workspace, actor: str) -> str | None:
    """The role of the active user the actor maps to (None: no such user)."""
    found = lookup(ws, actor)
    return found[1] if found else None
