"""The detect area: the face-manipulation detector, its calibration, and Content Credentials."""

from idolguard.area import Area, ReportSection, ResourceProvider

AREA = Area(
    name="detect",
    description=(
        "face-swap detector (self-blended images, ONNX) + synthetic-image detector (spectral/noise-residual) "
        "+ C2PA Content Credentials"
    ),
    stages=("idolguard.detect.stage:ManipulationStage",),
    commands=("idolguard.detect.cli:register",),
    report_sections=(ReportSection("manipulation", "idolguard.detect.report_section:render", order=20),),
    settings=("idolguard.detect.settings:DetectSettings",),
    resources=(ResourceProvider("detector_calibration", "idolguard.detect.recalibration:load_workspace_calibration"),),
)
