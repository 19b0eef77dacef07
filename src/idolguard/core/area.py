"""The core: the ``probe`` stage and the core tables. Core commands (init, ingest, scan, verify, log, export,
stages, vault-key, demo) are the ``idolguard`` app's own, defined in ``idolguard.cli``."""

from idolguard.area import Area

AREA = Area(
    name="core",
    description="workspace, vault, custody ledger, intake, media probing, HTML report",
    stages=("idolguard.pipeline.stages.probe:ProbeStage",),
    models=("idolguard.db.models",),
)
