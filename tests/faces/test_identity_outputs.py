"""Output findings of the 2026-12-03 new-user tryout of the identity features: ``NaN`` in ``--json`` lines
(``eval faces`` with no impostor pair), and ``scan --json`` / the HTML report naming an artist for a ``no_match``
face (``identify`` already said ``closest_artist``, issue #10)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import astronaut
from tests.faces.helpers import save


def _strict(line: str) -> dict:  # type: ignore[type-arg]
    """``json.loads`` that refuses ``NaN``/``Infinity`` as a strict parser (jq, JavaScript) does."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def test_eval_faces_json_is_strict_json_without_impostor_pairs(cli, tmp_path):  # type: ignore[no-untyped-def]
    save(astronaut(), tmp_path / "a.jpg")
    save(astronaut().crop((60, 0, 460, 400)).resize((300, 300)), tmp_path / "b.jpg")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b,same\na.jpg,b.jpg,1\n", encoding="utf-8")
    lines = cli("eval", "faces", "--pairs", pairs, "--root", tmp_path, "--json").stdout.splitlines()
    summary = [_strict(line) for line in lines][-1]
    assert summary["summary"] is True and summary["impostor_pairs"] == 0
    assert summary["tar_at_far_1e-3"] is None  # no impostor pair: no TAR, said as null (was NaN)


def test_json_line_writes_nan_and_infinities_as_null() -> None:
    import numpy as np

    from idolguard.display import json_line

    line = json_line({"a": float("nan"), "b": [1.5, float("inf"), np.float64("-inf")], "c": {"d": np.nan}, "e": 2})
    assert _strict(line) == {"a": None, "b": [1.5, None, None], "c": {"d": None}, "e": 2}


def test_scan_json_and_report_name_no_artist_for_a_no_match(cli, tmp_path):  # type: ignore[no-untyped-def]
    first = tmp_path / "refs"
    first.mkdir()
    save(astronaut(), first / "portrait.jpg")
    cli("artists", "add", "Eileen Collins", "--photos", first)
    # nothing can reach this artist's threshold: the astronaut's own face is now below it
    cli("artists", "threshold", "Eileen Collins", "5", "--reason", "test: nothing can reach it")
    media = tmp_path / "media"
    media.mkdir()
    save(astronaut().resize((400, 400)), media / "probe.jpg", quality=70)
    report = tmp_path / "report.html"
    (obj,) = cli.json_lines("scan", media, "--json", "--report", report)
    (face,) = obj["faces"]
    assert face["decision"] == "no_match", face
    assert face["artist"] is None and face["closest_artist"] == "Eileen Collins"
    tables = [part.split("</table>")[0] for part in report.read_text(encoding="utf-8").split("<table>")[1:]]
    (faces_table,) = [table for table in tables if "<th>crop</th><th>artist</th>" in table]
    assert "Eileen Collins" not in faces_table and "<td>-</td>" in faces_table


def test_eval_faces_says_which_listed_files_cannot_be_read(cli, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    save(astronaut(), tmp_path / "a.jpg")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b,same\na.jpg,typo.jpg,1\n", encoding="utf-8")
    run = cli("eval", "faces", "--pairs", pairs, "--root", tmp_path, "--json", ok=False)
    assert run.exit_code == 1  # an input failed; it was counted as an error, not as a face the model missed
    summary = [_strict(line) for line in run.stdout.splitlines()][-1]
    assert [u["path"] for u in summary["unreadable_files"]] == ["typo.jpg"]
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    said = cli("eval", "faces", "--pairs", pairs, "--root", tmp_path, ok=False)
    assert said.exit_code == 1 and "typo.jpg: 쓸 수 없습니다" in said.output and "읽을 수 없어" in said.output


def test_a_gallery_of_unreadable_photos_is_refused_with_the_reason(cli, tmp_path):  # type: ignore[no-untyped-def]
    save(astronaut(), tmp_path / "probe.jpg")
    gallery = tmp_path / "gallery.csv"
    gallery.write_text("path,identity\nrefs/missing.jpg,eileen\n", encoding="utf-8")
    probes = tmp_path / "probes.csv"
    probes.write_text("path,identity\nprobe.jpg,eileen\n", encoding="utf-8")
    for command in ("eval gallery", "calibrate faces"):  # both were a NumPy traceback
        args = (*command.split(), "--gallery", gallery, "--probes", probes, "--root", tmp_path)
        refused = cli(*args, ok=False)
        assert refused.exit_code == 2, refused.output
        assert "no gallery photo could be used (1 listed; first refs/missing.jpg" in " ".join(refused.output.split())
    data = tmp_path / "data.csv"
    data.write_text("path,identity,source\nrefs/missing.jpg,eileen,s1\n", encoding="utf-8")
    refused = cli("calibrate", "faces", "--data", data, ok=False)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "no labelled photo could be used" in said and "identity column" not in said


def test_identify_never_says_a_file_was_preserved(cli, tmp_path, workspace, monkeypatch):  # type: ignore[no-untyped-def]
    from idolguard.faces.identify import nothing_kept

    odd = tmp_path / "odd.jpg"
    odd.write_bytes(b"this is no image at all")
    objects_before = set(workspace.vault.iter_objects())
    run = cli("identify", odd, "--json", ok=False)
    assert run.exit_code == 1
    error = _strict(run.stdout)["error"]
    assert "preserved" not in error and "identify stores nothing" in error
    assert set(workspace.vault.iter_objects()) == objects_before  # indeed nothing was kept
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    said = cli("identify", odd, ok=False).output
    assert "보존" not in said and "아무것도 저장하지 않습니다" in said
    bomb = "image exceeds the decompression-bomb limit of 10 pixels: too big; preserved, not decoded"
    assert nothing_kept(bomb) == "image exceeds the decompression-bomb limit of 10 pixels: too big; not decoded " + (
        "(identify stores nothing)"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # calibrate faces reads no database: once
def test_calibrate_faces_warns_when_no_rule_met_the_target(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Synthetic vectors served from the cache, as in test_calibration_cv: an unreachable target leaves the
    search's strictest rule, which the output must not present as a rule that meets it."""
    import csv
    import hashlib

    import numpy as np

    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.faces.labelled import _save_cache
    from tests.faces.test_calibration_cv import synthetic

    faces = synthetic(seed=5)
    entries, rows = {}, []
    for k, (identity, source) in enumerate(zip(faces.identity, faces.source, strict=True)):
        photo = tmp_path / "photos" / f"{k}.jpg"
        photo.parent.mkdir(exist_ok=True)
        photo.write_bytes(f"photo {k}".encode())
        vectors = (faces.probe[k], faces.probe[k], faces.reference[k], 0.9)
        entries[hashlib.sha256(photo.read_bytes()).hexdigest()] = vectors
        rows.append((f"photos/{k}.jpg", identity, source))
    _save_cache(tmp_path / "emb.npz", entries, REFERENCE_EMBEDDING)
    data = tmp_path / "sets.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "identity", "source"), *rows])
    args = ("calibrate", "faces", "--data", data, "--cache", tmp_path / "emb.npz", "--draws", "2")
    strict = cli(*args, "--target-far-upper", "0.00001")
    assert "no rule met the false-accept target's upper bound" in " ".join(strict.output.split())
    assert cli.json_lines(*args, "--target-far-upper", "0.00001", "--json")[0]["fitted_target_met"] is False
    record = cli.json_lines(*args, "--target-far-upper", "0.05", "--json")[0]
    if record["fitted_target_met"]:
        assert "no rule met" not in cli(*args, "--target-far-upper", "0.05").output
    assert np.isfinite(record["match_threshold"])
