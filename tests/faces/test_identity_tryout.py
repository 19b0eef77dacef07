"""Enrolment findings of the 2026-12-03 new-user tryout of the identity features: refused reference photos
said in English under Korean, an enrolment with no usable photo that listed nothing per photo (and nothing at
all with ``--json``), the same photo file enrolled for two artists, names holding terminal or text-direction
controls."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import astronaut, jpeg_bytes
from tests.faces.helpers import save, two_astronauts

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _strict(line: str) -> dict:  # type: ignore[type-arg]
    """``json.loads`` that refuses ``NaN``/``Infinity`` as a strict parser (jq, JavaScript) does."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def _folder(tmp_path, name, photos):  # type: ignore[no-untyped-def]
    """A folder ``tmp_path/name`` holding ``photos`` (file name -> picture), saved in the order given."""
    folder = tmp_path / name
    folder.mkdir()
    for file_name, picture in photos.items():
        save(picture, folder / file_name)
    return folder


def _enrol_eileen(cli, tmp_path):  # type: ignore[no-untyped-def]
    """Eileen Collins enrolled from one photo (the astronaut) in ``tmp_path/first``; that folder."""
    first = _folder(tmp_path, "first", {"portrait.jpg": astronaut()})
    cli("artists", "add", "Eileen Collins", "--photos", first)
    return first


def _photos(tmp_path, name="photos"):  # type: ignore[no-untyped-def]
    folder = tmp_path / name
    folder.mkdir()
    save(astronaut(), folder / "portrait.jpg")
    save(astronaut().resize((64, 64)), folder / "thumb.jpg")  # a face of about 30 px
    save(two_astronauts(), folder / "pair.jpg")
    (folder / "shapes.jpg").write_bytes(jpeg_bytes(3))
    return folder


def test_refused_photos_are_said_in_korean(cli, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    folder = _photos(tmp_path)
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    run = cli("artists", "add", "에일린", "--photos", folder, ok=False)
    assert run.exit_code == 1  # three photos refused, one enrolled
    said = run.stdout
    lines = {line.rsplit("/", 1)[-1]: line for line in said.splitlines() if "/" in line}
    assert lines["portrait.jpg"].startswith("등록됨")
    for refused in ("thumb.jpg", "pair.jpg", "shapes.jpg"):
        reason = lines[refused].split("  ")[0]
        assert reason.startswith("거부됨") and HANGUL.search(reason.removeprefix("거부됨")), lines[refused]
        assert not re.search(r"face|found|small|reference", reason), lines[refused]
    # the same photo again: refused as a duplicate, in Korean, with a code for the web page and scripts
    again = cli("artists", "add", "에일린", "--photos", folder / "portrait.jpg").stdout  # exit 0: nothing failed
    assert "이미 에일린의 기준 사진입니다" in again and "already" not in again
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    ref = cli.json_lines("artists", "add", "에일린", "--photos", folder / "portrait.jpg", "--json")[0]["references"][0]
    assert ref["accepted"] is False and ref["reason_code"] == "enrol.duplicate"
    assert ref["reason_params"] == {"artist": "에일린"}


def test_no_usable_photo_lists_each_photo_and_says_it_in_korean(cli, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "bad"
    folder.mkdir()
    save(two_astronauts(), folder / "pair.jpg")
    (folder / "shapes.jpg").write_bytes(jpeg_bytes(3))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    refused = cli("artists", "add", "Nobody", "--photos", folder, "--json", ok=False)
    assert refused.exit_code == 2
    (obj,) = [_strict(line) for line in refused.stdout.splitlines()]
    assert obj["accepted"] == 0 and obj["rejected"] == 3 and obj["error_code"] == "enrol.none_usable"
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in obj["references"]}
    assert by_name["pair.jpg"]["reason_code"] == "enrol.many_faces"
    assert by_name["shapes.jpg"]["reason_code"] == "enrol.no_face"
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    said = cli("artists", "add", "Nobody", "--photos", folder, ok=False)
    assert said.exit_code == 2
    assert said.stdout.count("거부됨") == 3 and "얼굴이 2개" in said.stdout
    error = [line for line in said.output.splitlines() if line.startswith("오류")][0]
    assert "Nobody의 기준 사진으로 쓸 수 있는 사진이 없어" in error and "no usable" not in error
    assert cli.json_lines("artists", "list", "--json") == []  # nothing was stored


@pytest.mark.parametrize(
    ("args", "korean"),
    [
        (("--photos", "{tmp}/missing"), "폴더도 파일도 아닙니다"),
        (("--photos", "{tmp}/empty"), "사진이 없습니다"),
    ],
)
def test_path_refusals_are_said_in_korean(cli, tmp_path, monkeypatch, args, korean):  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    refused = cli("artists", "add", "Nobody", *(a.format(tmp=tmp_path) for a in args), ok=False)
    assert refused.exit_code == 2 and korean in refused.output, refused.output
    assert "not a folder" not in refused.output and "no photos given" not in refused.output


def test_the_same_photo_cannot_be_two_artists(cli, tmp_path):  # type: ignore[no-untyped-def]
    first = _enrol_eileen(cli, tmp_path)
    second = _folder(
        tmp_path,
        "second",
        {
            "portrait.jpg": astronaut(),  # the same bytes under another artist's name
            "closer.jpg": astronaut().crop((60, 0, 460, 400)).resize((300, 300)),
        },
    )
    run = cli("artists", "add", "Someone Else", "--photos", second, "--json", ok=False)
    assert run.exit_code == 1  # one photo refused, the other enrolled
    result = json.loads(run.stdout)
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in result["references"]}
    assert by_name["portrait.jpg"]["accepted"] is False
    assert by_name["portrait.jpg"]["reason_code"] == "enrol.other_artist"
    assert by_name["portrait.jpg"]["reason_params"] == {"artist": "Eileen Collins"}
    assert by_name["closer.jpg"]["accepted"] is True
    assert all(hit["photo"] != "portrait.jpg" for hit in result["lookalikes"])  # refused: not a look-alike
    listed = {a["name"]: a["references"] for a in cli.json_lines("artists", "list", "--json")}
    assert listed == {"Eileen Collins": 1, "Someone Else": 1}
    # only that photo for a new name: refused as a whole, no artist without references is created
    refused = cli("artists", "add", "Third Person", "--photos", first / "portrait.jpg", ok=False)
    assert refused.exit_code == 2 and "already a reference of Eileen Collins" in refused.stdout
    assert "Third Person" not in {a["name"] for a in cli.json_lines("artists", "list", "--json")}


@pytest.mark.parametrize(
    "extra",
    [
        ("Evil\u202eX",),
        ("Evil\x1b[2JX",),
        ("Eileen", "--group", "TWICE\x1b[31m"),
        ("Eileen", "--alias", "line\nbreak"),
        ("Eileen", "--alias", "hangul:에일\u2066린"),
    ],
)
def test_names_with_control_or_direction_characters_are_refused(cli, tmp_path, extra):  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path, "one", {"portrait.jpg": astronaut()})
    refused = cli("artists", "add", *extra, "--photos", folder, ok=False)
    assert refused.exit_code == 2 and "control or text-direction characters" in refused.output
    assert "\x1b" not in refused.output and "\u202e" not in refused.output  # said escaped
    assert cli.json_lines("artists", "list", "--json") == []


def test_hangul_and_full_width_names_stay_fine(cli, tmp_path):  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path, "one", {"portrait.jpg": astronaut()})
    cli("artists", "add", "에일린 콜린스", "--alias", "romanised:Eileen", "--group", "ＮＡＳＡ", "--photos", folder)
    cli("artists", "group", "에일린 콜린스", "NASA 13")
    cli("artists", "alias", "에일린 콜린스", "legal:Eileen Marie Collins")
    refused = cli("artists", "group", "에일린 콜린스", "\u202eASAN", ok=False)
    assert refused.exit_code == 2
    assert cli.json_lines("artists", "show", "eileen", "--json")[0]["group"] == "NASA 13"


def test_a_new_artists_look_alike_warning_has_no_dash_score(cli, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    _enrol_eileen(cli, tmp_path)
    other = _folder(tmp_path, "other", {"crop.jpg": astronaut().crop((60, 0, 460, 400))})
    added = cli.json_lines("artists", "add", "Someone Else", "--photos", other, "--json")[0]
    (warning,) = [w for w in added["warnings"] if "crop.jpg" in w]
    assert "already looks like Eileen Collins (" in warning and "who is enrolled" in warning
    assert "(-)" not in warning and "check that the photo shows Someone Else" in warning
    other2 = _folder(tmp_path, "other2", {"crop2.jpg": astronaut().crop((40, 0, 440, 400))})
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    said = " ".join(cli("artists", "add", "세 번째", "--photos", other2).output.split())
    assert "이미 등록된" in said and "(-)" not in said


def test_reembed_of_an_empty_gallery_says_so(cli, monkeypatch):  # type: ignore[no-untyped-def]
    assert "no artist is enrolled: nothing to re-embed" in cli("artists", "reembed").output
    assert cli("artists", "reembed", "--json").stdout == ""  # --json: no artist, no line
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    assert "등록된 아티스트가 없어" in cli("artists", "reembed", "--dry-run").output
