"""User-facing gallery messages in English and Korean (one catalog; the language comes from
``idolguard --lang``, ``IDOLGUARD_LANG`` or the locale, as for every CLI message: see ``idolguard.cli_lang``)."""

from __future__ import annotations

from typing import Any

CATALOG: dict[str, dict[str, str]] = {
    "reembed_needed": {
        "en": "{n} reference(s) of {artists} artist(s) were embedded differently from what the face thresholds "
        "were calibrated for ({kind}): their faces are decided at most 'possible' until you run "
        "'idolguard artists reembed'",
        "ko": "아티스트 {artists}명의 기준 사진 {n}장이 얼굴 임계값을 보정한 방식({kind})과 다르게 "
        "임베딩되어 있습니다. 'idolguard artists reembed'를 실행하기 전까지 이 아티스트들의 얼굴은 "
        "최대 '가능성 있음'으로만 판정됩니다",
    },
    "calibration_unlabelled": {
        "en": "the workspace config's [faces.matching] block does not say which reference embedding it was "
        "calibrated for, so it is taken as {kind} (the kind before multi-scale references): re-run "
        "'idolguard calibrate faces' and paste its block, or remove the block to use the shipped calibration "
        "(re-embedding alone does not help)",
        "ko": "작업 공간 설정의 [faces.matching] 블록에 어떤 기준 임베딩으로 보정했는지 적혀 있지 않아 {kind}"
        "(다중 스케일 기준 사진 이전 방식)로 간주합니다. 'idolguard calibrate faces'를 다시 실행해 출력된 블록을 "
        "붙여 넣거나, 블록을 지워 기본 보정값을 쓰세요 (다시 임베딩하는 것만으로는 해결되지 않습니다)",
    },
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
    "lookalike_new": {  # the artist has no reference yet to compare with (a new artist): no "(-)" score
        "en": "{photo}: this face already looks like {other} ({other_score:.2f}), who is enrolled; check that the "
        "photo shows {artist} (a look-alike may need a stricter threshold: 'idolguard artists threshold')",
        "ko": "{photo}: 이 얼굴은 이미 등록된 {other}와(과) 닮았습니다(점수 {other_score:.2f}). 사진이 {artist} "
        "본인인지 확인하세요 (닮은 사람이라면 더 엄격한 임계값이 필요할 수 있습니다: 'idolguard artists threshold')",
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
    "official_no_face": {
        "en": "no face found: an official photo or video is only useful for source attribution if it shows a face "
        "(to keep it from ever being reported, add it to a negative bank with 'bank add')",
        "ko": "얼굴을 찾지 못했습니다. 원본 얼굴 출처 확인에는 얼굴이 보이는 공식 사진·영상만 쓸 수 있습니다 "
        "(신고되지 않게만 하려면 'bank add'로 네거티브 뱅크에 추가하세요)",
    },
    "official_not_media": {
        "en": "not a readable photo or video ({reason}); nothing was added",
        "ko": "읽을 수 있는 사진이나 영상이 아닙니다 ({reason}). 아무것도 추가하지 않았습니다",
    },
    "official_duplicate": {
        "en": "already in {artist}'s official collection (added {added} by {by}); nothing added",
        "ko": "이미 {artist}의 공식 컬렉션에 있습니다 ({added}, {by} 추가). 추가하지 않았습니다",
    },
    "official_other_artist": {
        "en": "also in the official collection of {others}",
        "ko": "{others}의 공식 컬렉션에도 있습니다",
    },
    "official_item_not_found": {
        "en": "{artist}'s official collection has no item matching {ref!r} (give a SHA-256 prefix of 8+ characters "
        "or the file name shown by 'artists official list')",
        "ko": "{artist}의 공식 컬렉션에 {ref!r}에 해당하는 항목이 없습니다 ('artists official list'에 나온 SHA-256 "
        "앞 8자 이상 또는 파일 이름을 입력하세요)",
    },
    "official_item_ambiguous": {
        "en": "{ref!r} matches {count} items of {artist}'s official collection; give more characters of the SHA-256",
        "ko": "{ref!r}은(는) {artist}의 공식 컬렉션 항목 {count}개와 일치합니다. SHA-256을 더 길게 입력하세요",
    },
    "official_left": {
        "en": "{artist} still has an official collection ({items} item(s), {hashes} hash(es) in bank {bank}): it keeps "
        "those files from being reported and names them in source attribution, so it is not dropped as a side "
        "effect. Retire it first (the vault keeps the files; the ledger records each item and the reason): "
        "idolguard artists official remove {quoted} --all --reason '...' then remove the artist",
        "ko": "{artist}에게 아직 공식 컬렉션이 있습니다 (뱅크 {bank}: 항목 {items}개, 해시 {hashes}개). "
        "이 파일들이 신고되지 않게 하고 원본 얼굴 출처 확인에 쓰이므로 아티스트 삭제와 함께 조용히 지우지 "
        "않습니다. 먼저 컬렉션을 정리하세요 (파일은 보관소에 남고, 원장에 항목마다 이유와 함께 기록됩니다): "
        "idolguard artists official remove {quoted} --all --reason '...' 그다음 아티스트를 삭제하세요",
    },
    "official_none": {
        "en": "{artist} has no official collection (see 'artists official list')",
        "ko": "{artist}에게는 공식 컬렉션이 없습니다 ('artists official list'로 확인하세요)",
    },
    "official_artist_gone": {
        "en": "{artist}, or their official collection, was removed while these files were being added, so this "
        "file was not added and no collection was made (the vault keeps the file). If {artist} should have an "
        "official collection, check 'idolguard artists list', enrol them again if they are missing, then run "
        "'idolguard artists official add' again",
        "ko": "파일을 추가하는 동안 {artist} 또는 그 공식 컬렉션이 삭제되어, 이 파일은 추가하지 않았고 컬렉션도 "
        "만들지 않았습니다 (파일은 보관소에 남아 있습니다). {artist}의 공식 컬렉션이 필요하다면 'idolguard "
        "artists list'로 확인하고, 목록에 없으면 아티스트를 다시 등록한 뒤 'idolguard artists official add'를 "
        "다시 실행하세요",
    },
    "official_bank_taken": {
        "en": "a bank named {bank!r} exists but is not {artist}'s official collection; rename or remove it first",
        "ko": "{bank!r} 뱅크가 이미 있지만 {artist}의 공식 컬렉션이 아닙니다. 먼저 이름을 바꾸거나 삭제하세요",
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
    """The command line's language (``idolguard --lang``, ``IDOLGUARD_LANG``, then the locale): one rule for
    every message, see ``idolguard.cli_lang``."""
    from idolguard.cli_lang import current

    return current()


def say(key: str, lang: str | None = None, **params: Any) -> str:
    """The message in ``lang`` (the web page's), else in the CLI's language."""
    return CATALOG[key][lang if lang in ("ko", "en") else language()].format(**params)


def lookalike(lang: str | None = None, **params: Any) -> str:
    """A look-alike warning: "looks more like OTHER (x) than ARTIST (y)", or, when the artist has no score of
    its own (``score`` None or "-": no reference yet), "already looks like OTHER (x), who is enrolled"."""
    return say("lookalike" if params.get("score") not in (None, "-") else "lookalike_new", lang, **params)


def kinds_text(kinds: list[str], lang: str | None = None) -> str:
    lang = lang if lang in ("ko", "en") else language()
    return "; ".join(ADVICE_KINDS[k][lang] for k in kinds if k in ADVICE_KINDS)
