"""The ``provenance`` stage: leads towards the maker of a file, read from the stored original."""

from __future__ import annotations

from typing import Any, ClassVar

from idolguard.cases import provenance
from idolguard.pipeline.stage import Stage, StageContext


class ProvenanceStage(Stage):
    name: ClassVar[str] = "provenance"
    version: ClassVar[str] = "1"
    needs: ClassVar[tuple[str, ...]] = ("probe",)
    produces: ClassVar[tuple[str, ...]] = ("provenance",)
    description: ClassVar[str] = (
        "EXIF/XMP software and device, generator parameters in PNG text, C2PA, video container tags, "
        "embedded thumbnails that differ"
    )

    def run(self, ctx: StageContext) -> dict[str, Any]:
        leads: list[dict[str, Any]] = []
        if ctx.media_type == "image":
            image_leads, thumb = provenance.image_leads(ctx.path)
            leads.extend(image_leads)
            if thumb is not None:
                sha = ctx.add_derived(thumb, "embedded_thumbnail", "image/jpeg", {"source": "EXIF IFD1"})
                for entry in leads:
                    if entry["kind"] == "thumbnail_differs":
                        entry["thumbnail_sha256"] = sha
        else:
            leads.extend(provenance.video_leads(ctx.path))
        leads.extend(_c2pa_leads(ctx))
        order = {"high": 0, "medium": 1, "low": 2}
        leads.sort(key=lambda entry: order.get(entry["trust"], 3))
        return {"provenance": {"leads": leads, "count": len(leads)}}


def _c2pa_leads(ctx: StageContext) -> list[dict[str, Any]]:
    from idolguard.detect.content_credentials import read_content_credentials

    info = read_content_credentials(ctx.path, ctx.item.get("mime"))
    if not info.get("present"):
        return []
    valid = bool(info.get("signature_valid"))
    ai = bool(info.get("ai_generated"))
    value = info.get("generator") or info.get("claim_generator") or info.get("signer") or provenance.MANIFEST_PRESENT
    meaning = (
        "Content Credentials declare the file AI-generated" if ai else "Content Credentials name the tool and signer"
    )
    return [
        provenance.lead(
            "c2pa",
            "C2PA manifest",
            str(value),
            meaning if valid else meaning + " (signature not valid: may be altered)",
            "high" if valid else "low",
            signer=info.get("signer"),
            ai_generated=ai,
        )
    ]
