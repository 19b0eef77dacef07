"""The core: the ``probe`` stage, the core tables and settings, ``config show``. The other core commands
(init, ingest, scan, verify, log, export, stages, vault-key, demo) are the ``idolguard`` app's own, defined
in ``idolguard.cli``."""

from idolguard.area import Area

AREA = Area(
    name="core",
    description="workspace, vault, custody ledger, intake, media probing, HTML report",
    stages=("idolguard.pipeline.stages.probe:ProbeStage",),
    commands=("idolguard.core.commands:register",),
    models=("idolguard.db.models",),
    settings=(
        "idolguard.core.settings:WorkspaceSettings",
        "idolguard.core.settings:DisplaySettings",
        "idolguard.core.settings:VaultSettings",
        "idolguard.config:Limits",
    ),
)
