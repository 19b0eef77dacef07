"""Artist names as people type them: an alias (``아티스트에이``) or another case or width (``artist a``) means the
enrolled artist, as on the command line (``gallery.store.find_artist``). Filters and forms resolve through here
before comparing with stored names or a user's scope."""

from __future__ import annotations

from collections.abc import Iterable

from idolguard.gallery.names import fold
from idolguard.workspace import Workspace


def canonical_artist(ws: Workspace, name: str, scope: Iterable[str] = ()) -> str:
    """The enrolled artist's own name for ``name`` (display name or alias, case- and width-insensitive); else
    the spelling of the matching entry in ``scope`` (a manager enrolling an artist of theirs for the first
    time); else ``name`` trimmed."""
    from idolguard.gallery.store import find_artist

    text = name.strip()
    if not text:
        return ""
    with ws.sessions() as session:
        artist = find_artist(session, text)
        if artist is not None:
            return str(artist.name)
    key = fold(text)
    return next((entry for entry in scope if fold(entry) == key), text)
