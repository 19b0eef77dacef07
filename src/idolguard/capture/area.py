"""The capture area: evidence-grade URL capture (page, media, screenshot, WACZ, RFC 3161) and rechecks."""

from idolguard.area import Area, ReportSection

AREA = Area(
    name="capture",
    description="SSRF-safe capture of reported links with WACZ, screenshots and trusted timestamps",
    commands=("idolguard.capture.commands:register",),
    report_sections=(ReportSection("capture", "idolguard.capture.report:capture_section", order=40),),
    models=("idolguard.capture.models",),
    settings=("idolguard.capture.settings:CaptureSettings",),
)
