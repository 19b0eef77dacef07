"""The server area: ``idolguard serve`` (team app, optionally the portal on its own port) and ``idolguard
worker``; it sits above web, portal and monitor so that it may wire them together."""

from idolguard.area import Area

AREA = Area(
    name="server",
    description="serve (team app + public portal on its own port) and the job worker (queues, schedule)",
    commands=("idolguard.server.cli:register",),
    settings=("idolguard.server.settings:WorkerSettings",),
)
