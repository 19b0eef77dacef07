"""The signals area: hashes (SHA-256, MD5, PDQ, vPDQ), banks, the match index, hash-list exchange."""

from idolguard.area import Area, ReportSection, ResourceProvider

AREA = Area(
    name="signals",
    description="hashes, banks, exact Hamming index, re-upload matching, hash-list exchange",
    stages=(
        "idolguard.signals.stage:SignalsStage",
        "idolguard.signals.stage:MatchStage",
        "idolguard.signals.stage:FaceMatchStage",
        "idolguard.signals.stage:SourceAttributionStage",
    ),
    commands=("idolguard.signals.cli:register",),
    report_sections=(ReportSection("source_attribution", "idolguard.signals.report:attribution_section", order=25),),
    models=("idolguard.signals.models",),
    settings=("idolguard.signals.settings:SignalsSettings",),
    resources=(ResourceProvider("banks", "idolguard.signals.store:load_banks"),),
)
