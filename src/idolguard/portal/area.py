"""The portal area: the public link-report portal (separate ASGI app), its durable capture jobs and queue."""

from idolguard.area import Area

AREA = Area(
    name="portal",
    description="public link-report portal in four languages; reports become capture jobs and triage entries",
    commands=("idolguard.portal.commands:register",),
    models=("idolguard.portal.models",),
    settings=("idolguard.portal.settings:PortalSettings",),
)
