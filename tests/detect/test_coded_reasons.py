"""The manipulation stage's explanations are stored as English text plus a code and values, so a Korean report
says them in Korean; an output stored before the codes (evidence, never rewritten) still shows its English."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from idolguard.detect.calibration import Calibration
from idolguard.detect.scoring import finalize
from idolguard.report.i18n import said

from .media import save_variants

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _sentences(obj: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(holder, field) of every coded sentence of an object's manipulation analysis."""
    info = obj.get("manipulation") or {}
    found = [(obj, "verdict_reason"), (info, "rules")]
    found += [(fam, "explanation") for fam in (info.get("families") or {}).values()]
    found += [(face, "reason") for face in info.get("faces") or [] if face.get("reason")]
    if obj.get("pdq_note"):  # the signals stage's note on a hash too plain to match with
        found.append((obj, "pdq_note"))
    return found


def test_a_korean_report_says_the_analysis_in_korean(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = save_variants(tmp_path / "media")
    report = tmp_path / "ko.html"
    files = [str(paths[k]) for k in ("photo", "tiny", "noface")]
    objects = cli.json_lines("--lang", "ko", "scan", *files, "--json", "--report", str(report))
    text = html.unescape(re.sub(r"<pre.*?</pre>", "", report.read_text(encoding="utf-8"), flags=re.S))
    reasons = {obj["verdict_reason_code"] for obj in objects}
    assert {"manip.band_likely", "manip.band_uncertain", "manip.band_below"} & reasons, reasons  # a scored face
    assert "manip.no_face" in reasons  # the picture without a face
    checked = 0
    for obj in objects:
        for holder, field in _sentences(obj):
            english, korean = holder[field], said(holder, field, "ko")
            # The catalog's English is the stored sentence itself: one source, two languages.
            assert said(holder, field, "en") == english, (field, english)
            assert HANGUL.search(korean) and korean != english, (field, korean)
            assert korean in text, korean
            assert english not in text, english  # the stored English is in the raw JSON only
            checked += 1
    assert checked >= 5
    assert any(obj.get("pdq_note_code") for obj in objects)  # the plain picture's PDQ note was checked too
    # --json keeps the English sentence (old readers) beside the code.
    assert all(isinstance(obj["verdict_reason"], str) and obj["verdict_reason"] for obj in objects)


def test_old_outputs_without_codes_still_render_their_stored_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.detect import report_section
    from idolguard.report.i18n import speaking

    paths = save_variants(tmp_path / "media")
    (obj,) = cli.json_lines("scan", str(paths["photo"]), "--json")
    old = _strip_heatmaps(_strip_codes(obj))
    with speaking("ko"):
        block = html.unescape(report_section.render(None, old))  # type: ignore[arg-type]  # no heat map read
        new_block = html.unescape(report_section.render(None, _strip_heatmaps(obj)))  # type: ignore[arg-type]
    assert obj["verdict_reason"] in block and said(obj, "verdict_reason", "ko") not in block
    assert obj["verdict_reason"] not in new_block and said(obj, "verdict_reason", "ko") in new_block
    # A code this version does not know (written by a newer one) shows the stored text too.
    newer = {**obj, "verdict_reason_code": "manip.from_the_future"}
    assert said(newer, "verdict_reason", "ko") == obj["verdict_reason"]


def test_unjudged_faces_are_explained_with_their_sizes() -> None:
    measured = {
        "faces_seen": 2,
        "faces": [
            {
                "index": 0,
                "status": "insufficient_resolution",
                "reason": "insufficient resolution: face is 21px, below 48px",
                "reason_code": "manip.face_small",
                "reason_params": {"px": "21", "min": "48"},
            },
            {"index": 1, "status": "invalid_box", "reason": "an old output's reason without a code"},
        ],
    }
    result = finalize(measured, Calibration("identity"), {"likely": 0.9, "uncertain": 0.5})
    assert result["verdict"] == "uncertain" and result["verdict_reason_code"] == "manip.none_judged"
    assert said(result, "verdict_reason", "en") == result["verdict_reason"]
    korean = said(result, "verdict_reason", "ko")
    assert "21px" in korean and "48px" in korean and HANGUL.search(korean)
    assert "an old output's reason without a code" in korean  # the uncoded part kept as stored
    # Two faces, two reasons: joined with "; " in English (byte-identical to the stored text) and ". " in
    # Korean, where a semicolon inside a sentence reads as English punctuation.
    assert "; " in result["verdict_reason"] and "; " not in korean and "code. 해상도 부족" in korean, korean


def test_the_uncertain_band_states_its_half_open_interval() -> None:
    """[lo, hi) in Korean: "lo 이상 hi 미만", not a bare range that leaves either end open to doubt."""
    obj = {
        "verdict_reason": "face score 0.62 in [0.5, 0.9)",
        "verdict_reason_code": "manip.band_uncertain",
        "verdict_reason_params": {
            "family": {"code": "manip.family_word.face", "params": {}},
            "score": "0.62",
            "low": "0.5",
            "high": "0.9",
        },
    }
    assert said(obj, "verdict_reason", "en") == "face score 0.62 in [0.5, 0.9)"
    assert said(obj, "verdict_reason", "ko") == "얼굴 점수 0.62: 0.5 이상 0.9 미만(판정 보류 구간)"


def _strip_codes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_codes(v) for k, v in value.items() if not k.endswith(("_code", "_params"))}
    if isinstance(value, list):
        return [_strip_codes(v) for v in value]
    return value


def _strip_heatmaps(obj: dict[str, Any]) -> dict[str, Any]:
    info = dict(obj["manipulation"])
    info["faces"] = [{k: v for k, v in f.items() if k != "heatmap_sha256"} for f in info.get("faces") or []]
    return {**obj, "manipulation": info}
