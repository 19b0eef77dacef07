"""The monitor area: watched pages, feeds, channels, Telegram previews and accounts, checked on a schedule."""

from idolguard.area import Area

AREA = Area(
    name="monitor",
    description="scheduled monitoring of watched sources; new posts and media captured, scanned and matched",
    commands=("idolguard.monitor.commands:register",),
    models=("idolguard.monitor.models",),
)
