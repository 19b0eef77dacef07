"""Roles, what each may do, and per-artist scoping (need-to-know across an agency's groups).

A user with an empty artist list sees every artist. Items with no identified artist are visible only to roles
that triage (analyst, manager, admin): nobody else needs to see unattributed material.

``cases`` is working on cases and takedown notices (counsel, managers, admins; others read them); ``export``
(counsel) is taking originals out in an evidence package.
"""

from __future__ import annotations

from dataclasses import dataclass

from idolguard.web.models import ROLES

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"read", "admin", "team", "assign", "decide", "close", "comment", "upload", "banks", "artists", "cases"}
    ),
    "manager": frozenset(
        {"read", "team", "assign", "decide", "close", "comment", "upload", "banks", "artists", "cases"}
    ),
    "analyst": frozenset({"read", "decide", "comment", "upload", "reveal"}),
    "counsel": frozenset({"read", "comment", "reveal", "export", "cases"}),
    "viewer": frozenset({"read"}),
}
SEES_UNATTRIBUTED = frozenset({"admin", "manager", "analyst"})
assert set(PERMISSIONS) == set(ROLES)


@dataclass(frozen=True)
class Principal:
    """The signed-in user (or API token owner) as the authorisation checks see it."""

    user_id: int
    name: str
    role: str
    artists: tuple[str, ...]
    lang: str | None = None
    timezone: str = "Asia/Seoul"
    never_reveal: bool = False
    token_scope: str | None = None  # read|write for API tokens, None for a browser session
    token_id: int | None = None  # the API token this request came with (it may always revoke itself)

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS[self.role]:
            return False
        # A read-only token may only read, whatever the role allows.
        return not (self.token_scope == "read" and permission != "read")

    @property
    def unscoped(self) -> bool:
        return not self.artists

    @property
    def sees_unattributed(self) -> bool:
        return self.role in SEES_UNATTRIBUTED

    @property
    def sees_whole(self) -> bool:
        """Whether this user sees the whole workspace: every artist and the unattributed items (what workspace-
        wide counts, jobs and settings need)."""
        return self.unscoped and self.sees_unattributed

    def sees_artist(self, artist: str) -> bool:
        return self.unscoped or artist in self.artists

    def sees_item(self, artists: list[str]) -> bool:
        if not artists:
            return self.sees_unattributed
        return self.unscoped or any(a in self.artists for a in artists)

    @property
    def may_reveal(self) -> bool:
        return self.can("reveal") and not self.never_reveal
