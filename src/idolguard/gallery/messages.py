"""User-facing gallery messages in English and Korean (one catalog; the language comes from
``IDOLGUARD_LANG`` or the locale: ``ko`` for Korean, anything else English)."""

from __future__ import annotations

import locale
import os
from typing import Any

CATALOG: dict[str, dict[str, str]] = {
    "unknown_artist": {
        "en": "no artist named {name!r}",
        "ko": "{name!r}(이)라는 아티스트가 없습니다",
    },
    "did_you_mean": {"en": "did you mean: {options}?", "ko": "혹시 이것을 찾으셨나요: {options}?"},
    "alias_of": {"en": "{alias} (alias of {artist})", "ko": "{alias} ({artist}의 다른 이름)"},
    "alias_taken": {
        "en": "{alias!r} already names {artist!r}; one name cannot point at two artists",
        "ko": "{alias!r}은(는) 이미 {artist!r}의 이름입니다. 한 이름이 두 아티스트를 가리킬 수 없습니다",
    },
    "advice_more": {
        "en": "{artist} has {distinct} distinct reference photo(s); add at least {more} more "
        "({minimum} needed for reliable matching, {recommended} recommended)",
        "ko": "{artist}의 서로 다른 기준 사진은 {distinct}장입니다. 최소 {more}장을 더 추가하세요 "
        "(안정적인 매칭에 {minimum}장 필요, {recommended}장 권장)",
    },
    "advice_kinds": {"en": "photos that would help most: {kinds}", "ko": "가장 도움이 될 사진: {kinds}"},
    "lookalike": {
        "en": "{photo}: this face looks more like {other} ({other_score:.2f}) than {artist} ({score}); "
        "check that the photo shows {artist}",
        "ko": "{photo}: 이 얼굴은 {artist}({score})보다 {other}({other_score:.2f})와(과) 더 닮았습니다. "
        "사진이 {artist} 본인인지 확인하세요",
    },
    "photo_not_found": {
        "en": "{artist} has no reference photo matching {ref!r} (give a photo SHA-256 prefix of 8+ characters "
        "or the file name shown by 'artists show')",
        "ko": "{artist}에게 {ref!r}에 해당하는 기준 사진이 없습니다 ('artists show'에 나온 사진 SHA-256 앞 8자 이상 "
        "또는 파일 이름을 입력하세요)",
    },
    "photo_ambiguous": {
        "en": "{ref!r} matches {count} reference photos of {artist}; give more characters of the SHA-256",
        "ko": "{ref!r}은(는) {artist}의 기준 사진 {count}장과 일치합니다. SHA-256을 더 길게 입력하세요",
    },
}

ADVICE_KINDS: dict[str, dict[str, str]] = {
    "other_occasion": {
        "en": "a photo from another occasion (some references are near-duplicates)",
        "ko": "다른 날·다른 행사의 사진 (일부 기준 사진이 거의 같습니다)",
    },
    "angled_view": {
        "en": "a three-quarter or profile view (all references are frontal)",
        "ko": "측면 또는 3/4 각도 사진 (모든 기준 사진이 정면입니다)",
    },
    "frontal_view": {"en": "a clear frontal photo", "ko": "선명한 정면 사진"},
    "sharper_photo": {"en": "a sharper photo (all references are blurred)", "ko": "더 선명한 사진 (모두 흐립니다)"},
    "larger_face": {
        "en": "a higher-resolution photo (faces under 96 px)",
        "ko": "더 높은 해상도의 사진 (얼굴이 96픽셀 미만)",
    },
    "any_clear_photo": {"en": "any clear single-face photo", "ko": "얼굴이 하나만 선명하게 나온 아무 사진"},
}


def language() -> str:
    chosen = os.environ.get("IDOLGUARD_LANG") or (locale.getlocale()[0] or "") or os.environ.get("LANG", "")
    return "ko" if chosen.lower().startswith("ko") else "en"


def say(key: str, lang: str | None = None, **params: Any) -> str:
    """The message in ``lang`` (the web page's), else in the CLI's language."""
    return CATALOG[key][lang if lang in ("ko", "en") else language()].format(**params)


def kinds_text(kinds: list[str], lang: str | None = None) -> str:
    lang = lang if lang in ("ko", "en") else language()
    return "; ".join(ADVICE_KINDS[k][lang] for k in kinds if k in ADVICE_KINDS)
