"""``identify``: who is in these files, without ingesting them.

Runs the ``faces`` stage through the runner with ``persist=False`` on the files where they lie (no vault copy,
no derived crops, no database or ledger writes); the runner hands it the workspace gallery. Each file gives
one result, with its own error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from idolguard.workspace import Workspace

IDENTIFY_FIELDS = (
    "bbox",
    "det_score",
    "quality",
    "track_id",
    "artist",
    "similarity",
    "margin",
    "decision",
    "runner_up",
    "frame_t",
)


# The probe's refusals say what ``scan`` did ("preserved"); ``identify`` stores nothing, and a person told the
# file was preserved might delete the only copy.
_NOTHING_KEPT = (
    ("; the file is preserved but not analysed", "; not analysed (identify stores nothing)"),
    ("; preserved, not decoded", "; not decoded (identify stores nothing)"),
)


def nothing_kept(error: str | None) -> str | None:
    """``error`` as ``identify`` may say it: without the claim that the file was preserved."""
    for said, instead in _NOTHING_KEPT:
        if error and error.endswith(said):
            return error[: -len(said)] + instead
    return error


def identify_paths(ws: Workspace, paths: list[Path]) -> Iterator[dict[str, Any]]:
    from idolguard.pipeline.runner import analyze_files

    for analysed in analyze_files(ws, paths, ["faces"]):
        result: dict[str, Any] = {
            "path": str(analysed.path),
            "media_type": analysed.media_type,
            "faces": [],
            "error": analysed.error,
        }
        output = analysed.outputs.get("faces")
        if result["error"] is None and analysed.media_type not in ("image", "video"):
            result["error"] = f"not an image or video ({analysed.mime or 'unknown type'})"
        elif result["error"] is None and output is None:
            result["error"] = analysed.errors.get("faces") or next(iter(analysed.errors.values()), "no result")
        elif output is not None:
            result["faces"] = [{k: face.get(k) for k in IDENTIFY_FIELDS} for face in output["faces"]]
            if output.get("notes"):
                result["notes"] = output["notes"]
        result["error"] = nothing_kept(result["error"])
        yield result
