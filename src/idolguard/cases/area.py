"""The cases area: cases, accounts, provenance leads, the case report, evidence packages and destruction."""

from idolguard.area import Area, ReportSection

AREA = Area(
    name="cases",
    description="cases and accounts, provenance leads, court-ready report, offline-verifiable evidence package",
    stages=("idolguard.cases.provenance_stage:ProvenanceStage",),
    commands=("idolguard.cases.cli:register",),
    report_sections=(ReportSection("provenance", "idolguard.cases.report_section:provenance_section", order=35),),
    models=("idolguard.cases.models",),
    settings=("idolguard.cases.settings:CasesSettings",),
)
