"""The portal's reported links for the team app's "Fan reports" page, installed by the composition.

The web app and the portal are sibling front doors that do not import each other (docs/ARCHITECTURE.md); the
server composes them, so it hands the web app this small adapter over ``idolguard.portal.jobs``: the links (with
those whose capture failed, which have no item and so never reach the media triage queue), retrying a failed
capture, and recording the analysts' outcome (which the reporters' status pages follow).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from idolguard.workspace import Workspace


class PortalFanLinks:
    """What ``web.pages_fan`` calls (its ``FanLinks`` protocol)."""

    def rows(self, ws: Workspace, *, failed_only: bool, include_decided: bool) -> list[dict[str, Any]]:
        from idolguard.portal.jobs import triage_rows

        states = ("failed",) if failed_only else ()
        return triage_rows(ws, limit=500, include_decided=include_decided, states=states)

    def retry(self, ws: Workspace, link_id: int) -> None:
        from idolguard.portal.jobs import retry

        retry(ws, link_id)

    def decide(self, ws: Workspace, link_id: int, decision: str) -> None:
        from idolguard.portal.jobs import decide

        decide(ws, link_id, decision)


def install(app: FastAPI) -> FastAPI:
    """Give the team app the portal's reported links (the "Fan reports" page)."""
    app.state.fan_links = PortalFanLinks()
    return app
