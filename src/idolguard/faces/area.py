"""The faces area: face detection, alignment, embeddings and identity matching, and the ``artists`` commands."""

from idolguard.area import Area, ReportSection, ResourceProvider

AREA = Area(
    name="faces",
    description="YuNet detection, SFace embeddings, video face tracks, identity against the artist gallery",
    stages=("idolguard.faces.stage:FacesStage",),
    commands=("idolguard.faces.cli:register",),
    report_sections=(ReportSection("Faces", "idolguard.faces.report:faces_section", order=10),),
    settings=("idolguard.faces.settings:FacesSettings", "idolguard.faces.settings:MatchingSettings"),
    resources=(
        ResourceProvider("gallery", "idolguard.faces.gallery_resource:load_gallery"),
        ResourceProvider("face_crops", "idolguard.faces.crop_resource:load_face_crops"),
    ),
)
