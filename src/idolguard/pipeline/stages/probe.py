"""The first stage of every item: what the media is, its size and duration, and its embedded metadata."""

from __future__ import annotations

from typing import Any, ClassVar

from idolguard.media.probe import probe
from idolguard.pipeline.outputs import ProbeOutput
from idolguard.pipeline.stage import Stage, StageContext


class ProbeStage(Stage):
    name = "probe"
    version = "2"  # 2: zip archives are described, not reported as unsupported
    produces = ("width", "height", "duration_s", "media_meta")
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video", "other"})
    description = "decode headers and metadata (EXIF, container tags) with size/pixel/duration limits"
    gates_item = True  # nothing else can read media the probe could not read
    always = True

    def item_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        fields = {k: output[k] for k in ("media_type", "mime") if output.get(k)}
        fields.update({k: output.get(k) for k in ("width", "height", "duration_s")})
        fields["media_meta"] = output.get("media_meta") or {}
        return fields

    def run(self, ctx: StageContext) -> ProbeOutput:
        result = probe(ctx.path, ctx.limits)
        return {
            "media_type": result.media_type,
            "mime": result.mime,
            "width": result.width,
            "height": result.height,
            "duration_s": round(result.duration_s, 3) if result.duration_s is not None else None,
            "media_meta": result.meta,
        }
