"""Typed shapes at area boundaries: the ``scan --json`` object and the core stage outputs.

Stage outputs travel as JSON objects (stored in ``stage_results``, pickled to workers); these TypedDicts say
what the fields are so code that reads another area's output is checked (``mypy`` in ``make test``). Areas
declare their own output types next to their stage (``signals/stage.py``); docs/SCAN_JSON.md is the
user-facing description of the same fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:  # typing only: the pipeline does not import analysis areas
    from idolguard.faces.outputs import FaceEntry


class ProbeOutput(TypedDict):
    media_type: str
    mime: str
    width: int | None
    height: int | None
    duration_s: float | None
    media_meta: dict[str, Any]


class ScanObject(TypedDict, total=False):
    """One ``scan --json`` line. The base fields are always present; stages add theirs (see SCAN_JSON.md)."""

    path: str | None
    sha256: str | None
    md5: str | None
    size: int | None
    media_type: str
    mime: str | None
    width: int | None
    height: int | None
    duration_s: float | None
    duplicate: bool
    stages: dict[str, str]
    error: str | None
    error_code: str  # a refusal at intake, or the first failed stage's: its typed code and values (idolguard.errors)
    error_params: dict[str, Any]
    stage_errors: dict[str, str]
    stage_error_codes: dict[str, dict[str, Any]]  # stage -> {"code", "params"} (stages that stored one)
    # stages whose stored result is not current (older version or inputs): re-analyse (``analyze --stale``)
    outdated_stages: list[str]
    # added by stages (probe, faces, signals, match, face_match, manipulation, ...)
    media_meta: dict[str, Any]
    faces: list[FaceEntry]
    face_tracks: list[dict[str, Any]]
    faces_notes: list[str]
    pdq: str | None
    pdq_quality: int | None
    pdq_note: str | None
    pdq_note_code: str | None  # the note as a code and values (idolguard.coded_text)
    pdq_note_params: dict[str, Any]
    pdq_extra: list[dict[str, Any]]
    vpdq: dict[str, Any]
    matches: list[dict[str, Any]]
    pdq_faces: list[dict[str, Any]]
    manipulation_score: float | None
    verdict: str | None
    verdict_reason: str
    verdict_reason_code: str  # the reason as a code and values (idolguard.coded_text)
    verdict_reason_params: dict[str, Any]
    manipulation: dict[str, Any]
    content_credentials: dict[str, Any]
    # added by intake (every object)
    findings: list[dict[str, Any]]  # e.g. {"kind": "trailing_data", "offset", "length", "looks_like"}
    already_recorded: bool  # a re-scan with identical sighting information: no new sighting
    # the item page only (``item_objects(older=True)``): stages shown from an older version's result
    older_stages: dict[str, dict[str, str]]
