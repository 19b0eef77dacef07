"""Find faces for scoring outside a workspace (``detect``, ``eval detector``, ``calibrate detector``).

Uses the faces area's own analysis, so boxes and landmarks are exactly what a scan would see. For a still
image only the identity embedding is skipped (the manipulation score does not need it, and it is the
slowest step); animations and videos go through the faces stage unchanged to get its face tracks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from idolguard.config import Limits


@cache
def _analyzer():  # type: ignore[no-untyped-def]
    from idolguard.faces.analysis import FaceAnalyzer

    return FaceAnalyzer()


def faces_for_scoring(
    path: Path, media_type: str, mime: str | None, limits: Limits, settings: dict[str, Any] | None
) -> dict[str, Any]:
    """A faces-stage-shaped output (``faces`` and, for video/animation, ``face_tracks``)."""
    from idolguard.faces.stage import analyse_path

    animated = (mime or "").lower() in ("image/gif", "image/webp", "image/apng")
    if media_type == "image" and not animated:
        from idolguard.media.image import iter_image_frames

        frames = list(iter_image_frames(path, limits, 2))
        if len(frames) == 1:  # a still picture (PNG may be animated: APNG has several frames)
            found = _analyzer().analyze(frames[0], embed=False)
            faces = [
                {"index": i, **f.detection.as_dict(), "track_id": None, "frame_t": None}
                for i, f in enumerate(found.faces)
            ]
            return {"faces": faces, "notes": found.notes}
    return analyse_path(path, media_type, limits, settings, mime)
