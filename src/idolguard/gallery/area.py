"""The gallery area: consented reference photos of protected artists and calibrated matching (tables only;
its commands are the faces area's ``artists`` group)."""

from idolguard.area import Area

AREA = Area(
    name="gallery",
    description="reference faces of protected artists, their aliases and groups, cohort, per-artist thresholds",
    models=("idolguard.gallery.models",),
)
