"""Follow-ups of multi-scale references: which reference embedding a local ``[faces.matching]`` block stands
for (a block from before the field means crop + mirror, and the user is told), and ``artists reembed`` giving
the warnings ``artists add`` gives."""

from __future__ import annotations

from pathlib import Path

from idolguard.faces.analysis import REFERENCE_EMBEDDING
from idolguard.gallery.matching import LEGACY_REFERENCE_EMBEDDING, POSSIBLE, REFERENCE_MISMATCH, MatchParams
from tests.conftest import astronaut
from tests.faces.helpers import jpeg
from tests.faces.test_reembed import _enrol, _make_legacy

OLD_BLOCK = "match_threshold = 0.5\npossible_threshold = 0.4\n"  # as ``calibrate faces`` wrote before the field


def _local(home: Path, lines: str) -> None:
    """Set values in the config's ``[faces.matching]`` section (``init`` writes it with every value unset)."""
    path = home / "config.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count("[faces.matching]\n") == 1
    path.write_text(text.replace("[faces.matching]\n", "[faces.matching]\n" + lines), encoding="utf-8")


def test_a_local_block_without_the_field_is_read_as_crop_and_mirror():
    old = MatchParams.for_settings({"faces": {"matching": {"match_threshold": 0.5}}})
    assert old.reference_embedding == LEGACY_REFERENCE_EMBEDDING
    assert old.source["reference_embedding_assumed"] == LEGACY_REFERENCE_EMBEDDING
    explicit = MatchParams.for_settings(
        {"faces": {"matching": {"match_threshold": 0.5, "reference_embedding": REFERENCE_EMBEDDING}}}
    )
    assert explicit.reference_embedding == REFERENCE_EMBEDDING
    assert "reference_embedding_assumed" not in explicit.source
    legacy = MatchParams.for_settings(
        {"faces": {"matching": {"match_threshold": 0.5, "reference_embedding": LEGACY_REFERENCE_EMBEDDING}}}
    )
    assert legacy.reference_embedding == LEGACY_REFERENCE_EMBEDDING
    assert "reference_embedding_assumed" not in legacy.source
    # settings that decide nothing about scores are not a calibration: the shipped kind stays
    advisory = MatchParams.for_settings({"faces": {"matching": {"min_references": 5, "verify_threshold": 0.5}}})
    assert advisory.reference_embedding == MatchParams.shipped().reference_embedding == REFERENCE_EMBEDDING
    assert MatchParams.for_settings({}).reference_embedding == REFERENCE_EMBEDDING


def test_multiscale_references_under_an_old_local_block_are_flagged_and_the_user_told(cli, tmp_path, home):
    _enrol(cli, tmp_path)
    _local(home, OLD_BLOCK)
    rows = cli.json_lines("artists", "list", "--json")
    assert [r["reembed_needed"] for r in rows] == [2]
    listed = cli("artists", "list")
    assert "calibrate faces" in listed.output and "[faces.matching]" in listed.output
    shown = cli.json_lines("artists", "show", "Eileen Collins", "--json")[0]
    assert any("calibrate faces" in w for w in shown["warnings"])
    assert "calibrate faces" in cli("stages").output
    korean = cli("--lang", "ko", "artists", "list")
    assert "블록을 지워" in korean.output
    # config show says the value the block is read with, not "(shipped calibration)"
    settings = {(r["section"], r["key"]): r for r in cli.json_lines("config", "show", "--json")}
    row = settings[("faces.matching", "reference_embedding")]
    assert (row["value"], row["source"]) == (LEGACY_REFERENCE_EMBEDDING, "assumed")
    assert "추정값" in cli("--lang", "ko", "config", "show").output
    media = tmp_path / "media"
    media.mkdir()
    (media / "repost.jpg").write_bytes(jpeg(astronaut().resize((400, 400)), quality=60))
    face = cli.json_lines("scan", media, "--json")[0]["faces"][0]
    assert face["decision"] == POSSIBLE and face["review_reason"] == REFERENCE_MISMATCH


def test_old_references_under_an_old_block_agree_and_an_explicit_block_is_believed(cli, tmp_path, home, workspace):
    _enrol(cli, tmp_path)
    _make_legacy(workspace)
    _local(home, OLD_BLOCK)
    # the reverse case: crop + mirror references under the block fitted for them are fine, nothing said
    assert [r["reembed_needed"] for r in cli.json_lines("artists", "list", "--json")] == [0]
    assert "calibrate faces" not in cli("stages").output
    # re-embedding them under that block makes them mismatched: the run says so, and what to do
    done = cli("artists", "reembed")
    assert "calibrate faces" in done.output
    assert [r["reembed_needed"] for r in cli.json_lines("artists", "list", "--json")] == [2]
    # the explicit case: a block that names multi-scale references is believed
    _local(home, f'reference_embedding = "{REFERENCE_EMBEDDING}"\n')
    assert [r["reembed_needed"] for r in cli.json_lines("artists", "list", "--json")] == [0]
    assert "calibrate faces" not in cli("artists", "list").output
    settings = {(r["section"], r["key"]): r for r in cli.json_lines("config", "show", "--json")}
    assert settings[("faces.matching", "reference_embedding")]["value"] == REFERENCE_EMBEDDING


def test_reembed_gives_the_enrolment_warnings(cli, tmp_path, workspace):
    first = _enrol(cli, tmp_path)
    second = _enrol(cli, tmp_path, "Sally Ride")  # the same face: each looks like the other artist
    assert second["lookalikes"] and first["warnings"]
    _make_legacy(workspace)
    done = cli.json_lines("artists", "reembed", "--json")
    by_artist = {d["artist"]: d for d in done}
    for name, other in (("Eileen Collins", "Sally Ride"), ("Sally Ride", "Eileen Collins")):
        report = by_artist[name]
        assert report["converted"] == 2
        assert {hit["other"] for hit in report["lookalikes"]} == {other}
        assert report["advice"]["more_needed"] > 0  # two photos: fewer than advised
        assert any(other in w for w in report["warnings"])
    # nothing converted, nothing re-checked
    again = cli.json_lines("artists", "reembed", "--json")
    assert [d["warnings"] for d in again] == [[], []]
    dry = cli.json_lines("artists", "reembed", "--dry-run", "--json")
    assert [d["lookalikes"] for d in dry] == [[], []]
    # said in both languages without --json
    _make_legacy(workspace)
    korean = cli("--lang", "ko", "artists", "reembed")
    assert "더 닮았습니다" in korean.output
    _make_legacy(workspace)
    english = cli("--lang", "en", "artists", "reembed")
    assert "looks more like" in english.output
