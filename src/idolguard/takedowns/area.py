"""The takedowns area: notices to platforms and Korean bodies, sent and tracked to removal."""

from idolguard.area import Area

AREA = Area(
    name="takedowns",
    description="takedown notices with legal bases, SMTP sending, deadlines, escalation, stats, Lumen export",
    commands=("idolguard.takedowns.cli:register",),
    models=("idolguard.takedowns.models",),
    settings=(
        "idolguard.takedowns.settings:TakedownSettings",
        "idolguard.takedowns.settings:SmtpSettings",
    ),
)
