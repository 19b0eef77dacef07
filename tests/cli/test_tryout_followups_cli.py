"""CLI findings the 2026-12-03 tryout left open: ``cases show`` printed an item's media type and why it is in
the case as codes (``image  linked``) in Korean; ``takedowns stats`` printed nothing before the first sent
notice; ``takedowns list`` had no header row and no line saying there is none yet."""

from __future__ import annotations

import re

from tests.takedowns.test_takedowns import _flat, case, smtp  # noqa: F401  (fixtures)

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_cases_show_says_media_types_and_reasons_in_the_language(cli, case, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, shas = case
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    lines = [line for line in cli("cases", "show", number).stdout.splitlines() if shas[0][:16] in line]
    assert len(lines) == 1 and "이미지" in lines[0] and "직접 연결" in lines[0]
    assert "image" not in lines[0] and "linked" not in lines[0]
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    lines = [line for line in cli("cases", "show", number).stdout.splitlines() if shas[0][:16] in line]
    assert "image" in lines[0] and "linked directly" in lines[0]
    detail = cli.json_lines("cases", "show", number, "--json")[0]  # --json keeps the codes
    assert {tuple(i["why"]) for i in detail["items"]} == {("linked",)} and detail["items"][0]["media_type"] == "image"


def test_takedowns_stats_and_list_say_there_is_nothing_yet(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    stats = cli("takedowns", "stats")
    assert "No takedown notice has been sent yet" in stats.output
    listed = cli("takedowns", "list")
    assert "takedown notices" in listed.stdout and "recipient" in listed.stdout and "due" in listed.stdout
    assert "(no takedown notices yet)" in listed.output
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    stats = cli("takedowns", "stats")
    assert "아직 발송한 삭제 요청이 없습니다" in stats.output
    listed = cli("takedowns", "list")
    assert "수신처" in listed.stdout and "기한" in listed.stdout and "아직 없음" in listed.output
    assert cli.json_lines("takedowns", "list", "--json") == [] and cli.json_lines("takedowns", "stats", "--json")


def test_takedowns_list_and_stats_are_tables_with_headers(cli, case, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, _shas = case
    drafted = cli(
        "takedowns", "draft", "--case", number, "--recipient", "x", "--basis", "eu_dsa_16",
        "--affirm", "good_faith", "--sighting", "1",
    )  # fmt: skip
    notice = drafted.stdout.split()[-1]
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    listed = _flat(cli("takedowns", "list").stdout)
    assert "삭제 요청" in listed and "수신처" in listed and "법적 근거" in listed and "상태" in listed
    assert f"│ {notice} │" in listed and "EU DSA 제16조" in listed
    cli("takedowns", "mark", notice, "sent", "--ref", "X-1")
    cli("takedowns", "mark", notice, "removed")
    stats = _flat(cli("takedowns", "stats").stdout)
    assert "수신처별 삭제 요청" in stats and "법적 근거별 삭제 요청" in stats and "수용률" in stats
    assert "│ x │ 1 │ 1 │" in stats and "100%" in stats
