"""Finding an artist by any of their names: display name or alias, any case, any Unicode width, and a
"did you mean" list when nothing matches.

K-pop artists go by a stage name, a romanised and a Hangul form, and a legal name (``Lisa``, ``리사``,
``Lalisa Manobal``); analysts type whichever they know, in whatever case. Names are compared in a folded form
(NFKC, case-folded, inner whitespace collapsed); suggestions compare a looser key (no spaces or punctuation)
and, for Hangul, the decomposed letters (jamo), so a one-letter typo in ``제니`` still finds ``제니``'s owner.
"""

from __future__ import annotations

import difflib
import unicodedata

ALIAS_KINDS = ("hangul", "romanised", "stage", "legal", "other")


def fold(name: str) -> str:
    """The comparison form of a name: NFKC, case-folded, single spaces, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# Characters a name must not hold: they would rewrite a terminal (ESC, ...) or reverse the text around them in a
# report, a case document or a takedown notice (bidirectional overrides and isolates).
_DIRECTION_MARKS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_characters(name: str) -> bool:
    """True when ``name`` holds a control character (C0/C1, line or paragraph separator) or a text-direction
    mark; Hangul, full-width forms, spaces and punctuation are all fine."""
    return any(map(_unsafe, name))


def _unsafe(ch: str) -> bool:
    return ch in _DIRECTION_MARKS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def shown_escaped(name: str) -> str:
    """``name`` with its unsafe characters written as ``\\uNNNN`` (to say which name was refused, harmlessly)."""
    return "".join(f"\\u{ord(ch):04x}" if _unsafe(ch) else ch for ch in name)


def loose(name: str) -> str:
    """A looser key for suggestions: folded, letters and digits only, Hangul split into jamo."""
    folded = unicodedata.normalize("NFD", fold(name))
    return "".join(ch for ch in folded if ch.isalnum())


def guess_kind(alias: str) -> str:
    """``hangul`` when the alias is written in Hangul, else ``other`` (the caller may say more)."""
    if any("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f" for ch in alias):
        return "hangul"
    return "other"


def suggestions(query: str, names: dict[str, str], limit: int = 3) -> list[str]:
    """Up to ``limit`` display strings whose names look like ``query``.

    ``names`` maps each known name or alias to the text to show for it (e.g. ``"리사 (alias of Lisa)"``).
    """
    key = loose(query)
    keyed: dict[str, list[str]] = {}
    for name, shown in names.items():
        keyed.setdefault(loose(name), []).append(shown)
    close = difflib.get_close_matches(key, list(keyed), n=limit, cutoff=0.6) if key else []
    # A query that is a part of a longer name ("jennie" for "jennie kim") is a fair suggestion too.
    contained = [k for k in keyed if key and len(key) >= 3 and (key in k or k in key) and k not in close]
    out: list[str] = []
    for k in close + contained:
        for shown in keyed[k]:
            if shown not in out:
                out.append(shown)
    return out[:limit]
