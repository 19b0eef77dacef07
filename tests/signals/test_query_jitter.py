"""Query-side landmark jitter: on by default (rotated copies), switchable in the workspace config."""

from __future__ import annotations

from pathlib import Path

from idolguard.config import Limits
from idolguard.signals.face_match import item_face_hashes, query_jitter
from tests.conftest import astronaut


def test_query_jitter_default_and_switch() -> None:
    assert query_jitter({}) is True
    assert query_jitter({"signals": {"query_jitter": False}}) is False


def test_jittered_query_faces_carry_eight_variant_hashes(tmp_path: Path) -> None:
    path = tmp_path / "astronaut.png"
    astronaut().save(path)
    plain, _ = item_face_hashes(path, Limits(), jitter=False)
    jittered, _ = item_face_hashes(path, Limits(), jitter=True)
    assert plain and len(plain) == len(jittered)
    assert plain[0]["jitter"] == [] and len(jittered[0]["jitter"]) == 8
    assert plain[0]["pdq"] == jittered[0]["pdq"], "the unperturbed hash is unchanged"
    assert len(set(jittered[0]["jitter"])) > 1, "perturbations give different hashes"
