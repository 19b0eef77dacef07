"""The incidents area: matches folded into incidents, sightings, spread; the ``matches`` report section."""

from idolguard.area import Area, ReportSection

AREA = Area(
    name="incidents",
    description="incidents from bank matches, sightings timeline, spread chart",
    commands=("idolguard.incidents.cli:register",),
    report_sections=(ReportSection("matches", "idolguard.incidents.report:matches_section", order=30),),
    models=("idolguard.incidents.models",),
    match_folds=("idolguard.incidents.sync:fold",),  # a bank change records stored matches before dropping them
)
