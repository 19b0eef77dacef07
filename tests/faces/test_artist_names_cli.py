"""Artists by any name: aliases, groups, "did you mean", removing one photo, and enrolment warnings (CLI)."""

from __future__ import annotations

import json

from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from tests.conftest import astronaut
from tests.faces.helpers import save


def _refs(tmp_path, name="refs"):  # type: ignore[no-untyped-def]
    folder = tmp_path / name
    folder.mkdir()
    save(astronaut(), folder / "portrait.jpg")
    save(astronaut().crop((60, 0, 460, 400)).resize((300, 300)), folder / "closer.jpg")
    return folder


def test_any_alias_finds_the_artist_in_any_case(cli, tmp_path):  # type: ignore[no-untyped-def]
    added = cli.json_lines(
        "artists",
        "add",
        "Eileen Collins",
        "--photos",
        _refs(tmp_path),
        "--alias",
        "에일린",
        "--alias",
        "legal:Eileen Marie Collins",
        "--group",
        "NASA Group 13",
        "--json",
    )[0]
    assert added["created"] is True
    shown = cli.json_lines("artists", "show", "eileen marie COLLINS", "--json")[0]
    assert shown["name"] == "Eileen Collins" and shown["group"] == "NASA Group 13"
    assert {(a["alias"], a["kind"]) for a in shown["aliases"]} == {
        ("에일린", "hangul"),
        ("Eileen Marie Collins", "legal"),
    }
    assert cli.json_lines("artists", "show", "에일린", "--json")[0]["name"] == "Eileen Collins"
    # Adding photos under an alias extends the same artist instead of creating a second one.
    more = tmp_path / "more"
    more.mkdir()
    save(astronaut().resize((256, 256)), more / "small.jpg")
    again = cli.json_lines("artists", "add", "EILEEN COLLINS", "--photos", more, "--json")[0]
    assert again["created"] is False and again["artist"] == "Eileen Collins"
    listed = cli.json_lines("artists", "list", "--group", "nasa group 13", "--json")
    assert [(a["name"], a["references"]) for a in listed] == [("Eileen Collins", 3)]
    assert cli.json_lines("artists", "list", "--group", "BLACKPINK", "--json") == []


def test_unknown_name_suggests_the_closest_ones(cli, tmp_path):  # type: ignore[no-untyped-def]
    cli("artists", "add", "Eileen Collins", "--photos", _refs(tmp_path), "--alias", "에일린")
    result = cli("artists", "show", "Eilen Colins", ok=False)
    assert result.exit_code == 2
    assert "did you mean" in result.output and "Eileen Collins" in result.output
    result = cli("artists", "threshold", "에일리", "0.6", ok=False)
    assert "에일린" in result.output, "Hangul typo suggests the Hangul alias"


def test_an_alias_cannot_name_two_artists(cli, tmp_path):  # type: ignore[no-untyped-def]
    cli("artists", "add", "Eileen Collins", "--photos", _refs(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    save(astronaut().transpose(0), other / "mirror.jpg")  # FLIP_LEFT_RIGHT
    result = cli("artists", "add", "Someone Else", "--photos", other, "--alias", "eileen collins", ok=False)
    assert result.exit_code == 2 and "already names" in result.output
    assert [a["name"] for a in cli.json_lines("artists", "list", "--json")] == ["Eileen Collins"], "nothing written"


def test_remove_photo_takes_one_reference_out_and_records_it(cli, tmp_path, workspace):  # type: ignore[no-untyped-def]
    cli("artists", "add", "Eileen Collins", "--photos", _refs(tmp_path))
    refs = cli.json_lines("artists", "show", "Eileen Collins", "--json")[0]["references"]
    target = next(r for r in refs if r["source_name"] == "closer.jpg")
    assert cli("artists", "remove-photo", "Eileen Collins", "abc", ok=False).exit_code == 2
    out = cli.json_lines(
        "artists", "remove-photo", "eileen collins", target["photo_sha256"][:10], "--reason", "wrong person", "--json"
    )[0]
    assert out["references_left"] == 1 and out["photo_sha256"] == target["photo_sha256"]
    assert out["warnings"], "one reference left is below the minimum: the command says how many more"
    left = cli.json_lines("artists", "show", "Eileen Collins", "--json")[0]["references"]
    assert [r["source_name"] for r in left] == ["portrait.jpg"]
    assert workspace.vault.has(target["photo_sha256"]), "the vault keeps the photo"
    with workspace.sessions() as session:
        event = session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.remove_photo")).scalar_one()
    details = json.loads(event.line)["details"]
    assert details["photo"] == target["photo_sha256"] and details["reason"] == "wrong person"
    assert cli("artists", "remove-photo", "Eileen Collins", "closer.jpg", ok=False).exit_code == 2


def test_enrolment_warns_about_too_few_references_and_lookalikes(cli, tmp_path):  # type: ignore[no-untyped-def]
    single = tmp_path / "single"
    single.mkdir()
    save(astronaut(), single / "portrait.jpg")
    first = cli.json_lines("artists", "add", "Eileen Collins", "--photos", single, "--json")[0]
    assert first["advice"]["more_needed"] == 2 and first["warnings"]
    assert "2 more" in first["warnings"][0]
    # The same face enrolled under another name: the enrolment warns that it looks like Eileen Collins.
    other = tmp_path / "other"
    other.mkdir()
    save(astronaut().crop((60, 0, 460, 400)), other / "crop.jpg")
    second = cli.json_lines("artists", "add", "Someone Else", "--photos", other, "--json")[0]
    assert second["created"] is True
    assert [h["other"] for h in second["lookalikes"]] == ["Eileen Collins"]
    assert any("Eileen Collins" in w for w in second["warnings"])
    text = cli("artists", "add", "Someone Else", "--photos", other)
    assert "looks more like Eileen Collins" in text.output or "already enrolled" in text.output


def test_group_command_sets_and_clears(cli, tmp_path):  # type: ignore[no-untyped-def]
    cli("artists", "add", "Eileen Collins", "--photos", _refs(tmp_path))
    assert cli.json_lines("artists", "group", "eileen collins", "Apollo", "--json")[0]["group"] == "Apollo"
    assert cli.json_lines("artists", "group", "eileen collins", "--json")[0]["group"] is None
    added = cli.json_lines("artists", "alias", "Eileen Collins", "romanised:Ei-rin", "--json")[0]
    assert added["added"] == [{"alias": "Ei-rin", "kind": "romanised"}]
    assert cli.json_lines("artists", "show", "ei-RIN", "--json")[0]["name"] == "Eileen Collins"
    assert (
        cli.json_lines("artists", "alias", "Eileen Collins", "Ei-rin", "--remove", "--json")[0]["removed"] == "Ei-rin"
    )
    assert cli("artists", "show", "Ei-rin", ok=False).exit_code == 2
