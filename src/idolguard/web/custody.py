"""Custody events written by the web app, under the acting user's name.

Each action is ``web.<verb>`` (documented in docs/EVIDENCE.md). Rows and their events commit together, as
everywhere else (``Workspace.write``), but the actor is the signed-in user rather than the process owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from idolguard.evidence.ledger import LedgerWriter
from idolguard.workspace import Workspace

ACTIONS = (
    "web.user_add",
    "web.user_disable",
    "web.user_enable",
    "web.user_change",
    "web.totp_reset",
    "web.password_set",
    "web.token_create",
    "web.token_revoke",
    "web.login",
    "web.login_password_ok",
    "web.login_failed",
    "web.lockout",
    "web.ip_lockout",
    "web.logout",
    "web.reveal",
    "web.download_original",
    "web.download_wacz",
    "web.decision",
    "web.assign",
    "web.comment",
    "web.job_submit",
    "web.setting",
)


def actor_name(user: str) -> str:
    """Ledger actor for a web user: marked so an auditor can tell web users from command-line users."""
    return f"web:{user}"


@contextmanager
def custody(ws: Workspace, user: str) -> Iterator[tuple[Session, LedgerWriter]]:
    with ws.sessions() as session, ws.ledger.transaction(session, actor_name(user)) as writer:
        yield session, writer
