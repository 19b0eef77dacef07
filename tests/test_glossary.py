"""The Korean catalogs keep the terminology of docs/I18N.md: one name for one thing on every front door.

Reads the glossary's tables (the document is the single place a term is decided) and every Korean catalog:
the CLI's, the shared error codes', the web's, the HTML report's, the case report's and the portal's. A
forbidden variant fails with the catalog, the English and the Korean to fix. The analysis's sentences
(``said.*`` in the report catalog) and the CLI's templates for the same English must also say the same Korean.
One English text says one Korean text in every catalog, unless the glossary's third table allows the variants
with a reason. ``python tests/test_glossary.py`` lists the English texts whose Korean differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "idolguard"
GLOSSARY = ROOT / "docs" / "I18N.md"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _po_files() -> list[Path]:
    return sorted([*SRC.glob("locales/**/*.ko.po"), *(SRC / "web" / "locales").glob("*ko.po")])


def _json_dirs() -> list[Path]:
    return [SRC / "report" / "locales", SRC / "cases" / "locales", SRC / "portal" / "locales"]


def korean_entries() -> Iterator[tuple[str, str, str]]:
    """(where, English, Korean) for every translated entry of every Korean catalog."""
    for path in _po_files():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="ko")
        for message in catalog:
            if message.id and message.string:
                yield str(path.relative_to(SRC)), str(message.id), str(message.string)
    for folder in _json_dirs():
        english = json.loads((folder / "en.json").read_text(encoding="utf-8"))
        korean = json.loads((folder / "ko.json").read_text(encoding="utf-8"))
        for key, text in korean.items():
            if isinstance(text, str):
                yield f"{folder.relative_to(SRC)}/ko.json:{key}", str(english.get(key, "")), text


def _tables() -> list[list[list[str]]]:
    """The Markdown tables of the glossary, as rows of cells (header and rule rows dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if current is None:
                current = []
                tables.append(current)
                continue  # the header
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        else:
            current = None
    return tables


def _quoted(cell: str) -> list[str]:
    return [q.replace("\\|", "|") for q in re.findall(r"`([^`]+)`", cell)]


def test_the_glossary_has_its_two_tables() -> None:
    terms, rules = _tables()[:2]
    assert len(terms) >= 8 and all(len(row) == 3 for row in terms), terms
    assert len(rules) >= 2 and all(len(row) == 4 for row in rules), rules
    assert "법률 사건" in [v for row in terms for v in _quoted(row[2])]


def test_no_korean_catalog_uses_a_forbidden_variant() -> None:
    terms, rules = _tables()[:2]
    forbidden = [v for row in terms for v in _quoted(row[2])]
    compiled = [
        (
            re.compile(_quoted(when)[0], re.I),
            re.compile(_quoted(unless)[0], re.I) if _quoted(unless) else None,
            _quoted(never),
            _quoted(always),
        )
        for when, unless, never, always in rules
    ]
    problems = []
    for where, english, korean in korean_entries():
        if not HANGUL.search(korean):
            continue
        problems += [f"{where}: {bad!r} in {korean!r}" for bad in forbidden if bad in korean]
        for when, unless, never, always in compiled:
            if not when.search(english) or (unless is not None and unless.search(english)):
                continue
            problems += [f"{where}: {english!r} -> {korean!r} says {bad!r}" for bad in never if bad in korean]
            problems += [f"{where}: {english!r} -> {korean!r} lacks {good!r}" for good in always if good not in korean]
    assert not problems, "docs/I18N.md glossary:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("english", "korean", "caught"),
    [
        ("Open a case", "법률 사건 열기", True),
        ("incident {id} was merged", "사건 {id}이(가) 합쳐졌습니다", True),
        ("incident {id} was merged", "인시던트 {id}이(가) 합쳐졌습니다", False),
        ("Open a case from this incident", "이 인시던트로 사건 열기", False),
        ("{n} objects erased by decision", "객체 {n}개를 삭제했습니다", True),
        ("score {s} in [{lo}, {hi})", "점수 {s}: 기준 {lo}~{hi} 사이", True),
        ("muxer that wrote the file", "파일을 쓴 먹서(muxer)", True),
        ("a; b", "가; 나", True),
    ],
)
def test_the_check_itself_catches_variants(english: str, korean: str, caught: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The check is not vacuous: a catalog holding a forbidden variant fails it."""
    monkeypatch.setattr(f"{__name__}.korean_entries", lambda: iter([("sample.ko.po", english, korean)]))
    if caught:
        with pytest.raises(AssertionError):
            test_no_korean_catalog_uses_a_forbidden_variant()
    else:
        test_no_korean_catalog_uses_a_forbidden_variant()


def _shape(text: str) -> str:
    return re.sub(r"{\w+}", "{}", text)


def test_the_analysis_sentences_have_one_korean() -> None:
    """A sentence the analysis stores (report catalog ``said.*``) and the CLI's template for the same English
    (outputs stored before the codes) say the same Korean: the wording does not depend on the output's age or
    on the front door."""
    english = json.loads((SRC / "report" / "locales" / "en.json").read_text(encoding="utf-8"))
    korean = json.loads((SRC / "report" / "locales" / "ko.json").read_text(encoding="utf-8"))
    said = {
        _shape(text): _shape(korean[key])
        for key, text in english.items()
        if key.startswith("said.") and re.sub(r"{\w+}|\W", "", text)  # not a bare "{a}: {b}"
    }
    compared, problems = 0, []
    for where, text, translated in korean_entries():
        if where.endswith(".po") and _shape(text) in said:
            compared += 1
            if _shape(translated) != said[_shape(text)]:
                problems.append(f"{where}: {text!r} -> {translated!r}; report says {said[_shape(text)]!r}")
    assert compared >= 5, compared  # the verdict sentences the CLI still matches for old outputs
    assert not problems, "\n".join(problems)


def differing_translations() -> dict[str, dict[str, list[str]]]:
    """English texts whose Korean differs between (or within) the catalogs: {English: {Korean: [where, ...]}}."""
    seen: dict[str, dict[str, list[str]]] = {}
    for where, english, korean in korean_entries():
        if english:
            seen.setdefault(english, {}).setdefault(korean, []).append(where)
    return {english: found for english, found in seen.items() if len(found) > 1}


def _allowed_variants() -> dict[str, set[str]]:
    """The glossary's third table: an English text and the Korean texts it may say, each exactly."""
    rows = _tables()[2]
    assert rows and all(len(row) == 3 and len(_quoted(row[0])) == 1 and row[2] for row in rows), rows
    return {_quoted(english)[0]: set(_quoted(korean)) for english, korean, _why in rows}


def unexplained_variants(differing: dict[str, dict[str, list[str]]], allowed: dict[str, set[str]]) -> list[str]:
    """Why the catalogs break "one English, one Korean": variants the glossary does not allow, and allowances
    whose English no longer differs (a stale row would let a future variant through unseen)."""
    problems = [
        f"{english!r}: " + "; ".join(f"{korean!r} in {', '.join(where)}" for korean, where in sorted(found.items()))
        for english, found in sorted(differing.items())
        if not set(found) <= allowed.get(english, set())
    ]
    problems += [
        f"{english!r}: allowed in docs/I18N.md but no longer differs"
        for english in sorted(allowed)
        if english not in differing
    ]
    return problems


def test_one_english_says_one_korean() -> None:
    problems = unexplained_variants(differing_translations(), _allowed_variants())
    assert not problems, "docs/I18N.md, same English, one Korean:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("entries", "allowed", "clean"),
    [
        ([("a.po", "Verdict", "판정"), ("b.json", "Verdict", "판정 결과")], {}, False),
        ([("a.po", "Item", "자료"), ("b.json", "Item", "증거물")], {"Item": {"자료", "증거물"}}, True),
        ([("a.po", "Item", "자료"), ("b.json", "Item", "물건")], {"Item": {"자료", "증거물"}}, False),
        ([("a.po", "Item", "자료"), ("b.json", "Item", "자료")], {"Item": {"자료", "증거물"}}, False),  # stale row
        ([("a.po", "no", "아니요"), ("a.po", "No", "아니오")], {}, True),  # different English
    ],
)
def test_the_one_korean_check_catches_variants(
    entries: list[tuple[str, str, str]], allowed: dict[str, set[str]], clean: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is not vacuous: a variant the glossary does not allow, or a stale allowance, is reported."""
    monkeypatch.setattr(f"{__name__}.korean_entries", lambda: iter(entries))
    assert (unexplained_variants(differing_translations(), allowed) == []) is clean


if __name__ == "__main__":  # list the English texts whose Korean differs, for a translator
    for english, found in sorted(differing_translations().items()):
        print(repr(english))
        for korean, where in sorted(found.items()):
            print(f"    {korean!r}: {', '.join(where)}")
