"""Artist names (folding, suggestions) and reference advice, without any model."""

from __future__ import annotations

import numpy as np

from idolguard.gallery.advice import advise, distinct_count
from idolguard.gallery.names import fold, guess_kind, loose, suggestions


def test_fold_ignores_case_width_and_spacing() -> None:
    assert fold("  LALISA   Manobal ") == fold("lalisa manobal")
    assert fold("ＬＩＳＡ") == fold("lisa"), "full-width letters are the same name"
    assert fold("리사") == "리사" and fold("Lisa") != fold("Lissa")


def test_loose_key_drops_punctuation_and_splits_hangul() -> None:
    assert loose("Jen-nie") == loose("jennie")
    assert len(loose("제니")) == 4, "two Hangul syllables are four jamo"


def test_guess_kind_recognises_hangul() -> None:
    assert guess_kind("김제니") == "hangul"
    assert guess_kind("Jennie Kim") == "other"


def test_suggestions_find_typos_in_latin_and_hangul() -> None:
    names = {"Jennie": "Jennie", "제니": "제니 (alias of Jennie)", "Rosé": "Rosé", "Lisa": "Lisa"}
    assert suggestions("jenie", names)[0] == "Jennie"
    assert "제니 (alias of Jennie)" in suggestions("재니", names), "one vowel off in Hangul"
    assert suggestions("zzzzzz", names) == []


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 128))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_near_duplicates_count_once() -> None:
    rng = np.random.default_rng(0)
    base = _unit(rng, 2)
    twin = base[0] + 0.05 * _unit(rng, 1)[0]
    vectors = np.vstack([base, twin / np.linalg.norm(twin)])
    assert distinct_count(vectors) == 2


def test_advice_asks_for_more_and_names_the_missing_kinds() -> None:
    rng = np.random.default_rng(1)
    frontal_blurred = {"frontal": 0.95, "sharpness": 0.2, "face_px": 150.0}
    advice = advise(_unit(rng, 2), [frontal_blurred, frontal_blurred], minimum=3)
    assert advice.more_needed == 1
    assert "angled_view" in advice.kinds and "sharper_photo" in advice.kinds
    assert "larger_face" not in advice.kinds
    varied = [
        {"frontal": 0.95, "sharpness": 0.8, "face_px": 150.0},
        {"frontal": 0.5, "sharpness": 0.7, "face_px": 120.0},
        {"frontal": 0.9, "sharpness": 0.6, "face_px": 110.0},
    ]
    assert advise(_unit(rng, 3), varied, minimum=3).ok
