"""Password rules beyond length: a password an attacker would try first is refused.

Refused: fewer than 12 characters; one character or a short unit repeated (``aaaaaaaaaaaa``,
``abcabcabcabc``); a run of a keyboard or alphabet sequence (``123456789012``, ``qwertyuiopas``); a common
password from the small bundled list below (also with digits or symbols stuck on the end); anything containing
the user name. The list is short on purpose: it catches what people actually type, not every leaked password.
"""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 1024

# Common passwords and the roots people pad to reach a length rule (lower case; digits/symbols stripped off
# the end before comparing, so ``Password2024!`` counts as ``password``).
_COMMON_WORDS = """
password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop asdfghjkl zxcvbnm letmein welcome iloveyou
admin administrator root login master dragon monkey football baseball basketball soccer sunshine princess
shadow superman batman trustno1 whatever freedom starwars changeme default secret secure security
abc abcd abcdef abcdefg abcdefgh qazwsx 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx q1w2e3r4 q1w2e3r4t5
iloveyou123 loveyou saranghae saranghaeyo sarang kpop bts blackpink twice exo bigbang idol idolguard
korea seoul daehanminguk hello helloworld hellokitty pokemon minecraft summer winter spring autumn
computer internet samsung google naver kakao apple microsoft
"""
COMMON = frozenset(_COMMON_WORDS.split())
SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "q1w2e3r4t5y6u7i8o9p0",
)
PAD = "0123456789!@#$%^&*()-_=+.,?~ "


def problem(password: str, user_name: str = "") -> str:
    """Why ``password`` is refused (a key of ``REASONS``), or "" when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    low = password.lower()
    for unit in range(1, 5):  # one character or a unit of up to 4 repeated to the end
        if len(low) % unit == 0 and low == low[:unit] * (len(low) // unit):
            return "repeated"
    if len(set(low)) < 4:
        return "repeated"
    for seq in SEQUENCES:
        if low in seq * 2 or low in (seq * 2)[::-1]:
            return "sequence"
    root = low.rstrip(PAD).lstrip(PAD)
    if low in COMMON or root in COMMON or not root:
        return "common"
    name = user_name.strip().lower()
    if len(name) >= 3 and name in low:
        return "name"
    return ""


REASONS = {
    "short": "passwords need at least 12 characters",
    "long": "passwords have at most 1024 characters",
    "repeated": "the password repeats one character or a short pattern",
    "sequence": "the password is a keyboard or alphabet sequence",
    "common": "the password is a common password (or one with digits added)",
    "name": "the password contains the user name",
    "same": "the new password is the same as the current one",
    "wrong_current": "the current password is wrong",
}
