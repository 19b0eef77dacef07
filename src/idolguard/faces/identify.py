"""``identify``: who is in these files, without ingesting them.

Runs exactly the ``faces`` stage code on the files where they lie (no vault copy, no derived crops, no
database or ledger writes); only the gallery is read. Each file gives one result, with its own error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from idolguard.errors import IdolGuardError
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


def identify_paths(ws: Workspace, paths: list[Path]) -> Iterator[dict[str, Any]]:
    from idolguard.faces.stage import analyse_path
    from idolguard.intake.paths import walk
    from idolguard.media.sniff import sniff_file

    settings = {**ws.config.raw, "workspace_home": str(ws.home)}
    for found in walk(paths):
        result: dict[str, Any] = {"path": str(found.path), "media_type": None, "faces": [], "error": found.problem}
        if found.problem:
            yield result
            continue
        try:
            sniffed = sniff_file(found.path)
            result["media_type"] = sniffed.media_type
            output = analyse_path(found.path, sniffed.media_type, ws.config.limits, settings, sniffed.mime)
        except IdolGuardError as exc:
            result["error"] = str(exc)
        except OSError as exc:
            result["error"] = f"cannot read: {exc}"
        else:
            result["faces"] = [{k: face.get(k) for k in IDENTIFY_FIELDS} for face in output["faces"]]
            if output.get("notes"):
                result["notes"] = output["notes"]
        yield result
