"""Roles for legal steps, asked of the user directory (``registry.people()``, kept by the web app).

Destruction approvals need a manager or admin; legal hold, retention and filings need counsel, a manager or
an admin. Once the workspace has web accounts, every actor (a web user, or a command-line operator whose
``IDOLGUARD_ACTOR`` names a web user) must map to an active user with such a role, and the user's name is
what the ledger and the two-person rule count. A workspace without web accounts (command line only) cannot
check roles: steps are recorded under operator names, and the result says so (``checked=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

from idolguard import registry
from idolguard.cases.service import CaseError
from idolguard.errors import ErrorCode
from idolguard.workspace import Workspace

APPROVER_ROLES = ("manager", "admin")
LEGAL_ROLES = ("counsel", "manager", "admin")
UNCHECKED = "operator"


@dataclass(frozen=True)
class Person:
    name: str  # the user name (or the operator name when roles cannot be checked)
    role: str  # the user's role, or "operator"
    checked: bool  # False: no web accounts exist, the role was not checked


def person(ws: Workspace, actor: str, roles: tuple[str, ...], what: str) -> Person:
    """Who ``actor`` is, refusing anyone whose role is not in ``roles`` (when roles can be checked)."""
    directory = registry.people()
    if directory is None or not directory[0](ws):
        return Person(actor, UNCHECKED, False)
    found = directory[1](ws, actor)
    if found is None:
        raise CaseError(
            f"{actor!r} is not an active web user; this workspace has web accounts, so {what} needs one with "
            f"role {' or '.join(roles)} (on the command line set IDOLGUARD_ACTOR to your web user name)"
        )
    name, role = found
    if role not in roles:
        raise CaseError(
            f"{name} is {role}; only {' or '.join(roles)} may {what}",
            code=ErrorCode.ROLE_NOT_ALLOWED,
            role=role,
            roles=",".join(roles),
        )
    return Person(name, role, True)
