"""Every finding ``verify`` makes carries a code with Korean, so the web's admin page and the command line say it
in the reader's language instead of the English ``message``.

Walks ``evidence/verify.py`` and ``evidence/anchors.py`` for the English texts they build findings from (each
``Problem(...)`` message, the problems ``check_entry`` and the key policy return, ``vault.check``'s), fills their
``{...}`` parts with sample values and checks each is recognised as one of ``FINDING_MESSAGES``; each template
has Korean naming the same fields in ``locales/verify.ko.po``. A new finding without a template fails here with
its file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from idolguard import cli_lang
from idolguard.evidence.verify import FINDING_MESSAGES, WORD_PARAMS, Finding, Problem, finding_values
from idolguard.web.i18n import translator

SRC = Path(__file__).resolve().parents[2] / "src" / "idolguard"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _samples(node: ast.expr) -> list[str]:
    """Every text an English message expression can make, with ``{...}`` parts as sample values; ``[]`` for an
    expression that is not built here (a variable: a text checked where it is made)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = [[v.value] if isinstance(v, ast.Constant) else [f"v{i}"] for i, v in enumerate(node.values)]
        return ["".join(p[0] for p in parts)]
    if isinstance(node, ast.IfExp):
        return _samples(node.body) + _samples(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _samples(node.left) for b in _samples(node.right)]
    return []


def _messages() -> list[tuple[str, str]]:
    found = []
    for relative in ("evidence/verify.py", "evidence/anchors.py"):
        tree = ast.parse((SRC / relative).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem" and len(node.args) >= 3:
                found += [(f"{relative}:{node.lineno}", text) for text in _samples(node.args[2])]
            if isinstance(node, ast.FunctionDef) and node.name in ("check_entry", "_key_policy"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        value = ret.value.elts[0] if isinstance(ret.value, ast.Tuple) else ret.value
                        found += [(f"{relative}:{ret.lineno}", text) for text in _samples(value)]
    vault = ast.parse((SRC / "evidence/vault.py").read_text(encoding="utf-8"))
    check = next(n for n in ast.walk(vault) if isinstance(n, ast.FunctionDef) and n.name == "check")
    for ret in ast.walk(check):
        if isinstance(ret, ast.Return) and ret.value is not None:
            found += [(f"evidence/vault.py:{ret.lineno}", text) for text in _samples(ret.value)]
    # The parse errors a ledger line can have (``_parse``), said as "stored line is ..." / "line is ...".
    for error in ("missing", "not JSON", "not a JSON object"):
        found.append(("evidence/verify.py _parse", f"stored line is {error}"))
        if error != "missing":  # a mirror line is always there to parse
            found.append(("evidence/verify.py _parse", f"line is {error}"))
    # What reading an object refuses, said by ``Vault.check`` and an erasure's check as the error's text.
    for text in (
        "vault object ab is missing",
        "vault object ab: its item key keys/ab/k1 is missing (destroyed, or the vault's keys/ folder was not copied "
        "with objects/)",
        "vault object ab: segment 3 fails authentication",
        "vault object ab is not encrypted with this vault's format",
        "vault object ab is not in the per-item-key format",
        "vault object ab: truncated header",
        "item key of vault object ab is damaged",
        "item key of vault object ab fails authentication with this vault key (altered, or another vault's)",
        "vault object ab: an item key newer than its destruction decision exists, but no vault key is configured, "
        "so whether it belongs to new evidence cannot be told; set the vault key (IDOLGUARD_VAULT_KEY or [vault] "
        "key_file) before the erasure is finished",
    ):
        found.append(("evidence/vault.py, crypto.py: read", text))
    return found


def test_every_finding_verify_makes_is_coded() -> None:
    messages = _messages()
    assert len(messages) > 50, "the walk found the findings (moved? update this test)"
    uncoded = [f"{where}: {text!r}" for where, text in messages if Problem("x", "y", text).code is None]
    assert not uncoded, "findings without a template in FINDING_MESSAGES (add one, with Korean):\n" + "\n".join(uncoded)


@pytest.mark.parametrize("code", list(Finding))
def test_every_finding_has_korean_naming_the_same_fields(code: Finding) -> None:
    template = FINDING_MESSAGES[code]
    for korean in (translator("ko")(template), cli_lang.catalog("ko").get(template, "")):
        assert HANGUL.search(korean), f"{code}: no Korean for {template!r}"
        assert set(re.findall(r"{(\w+)}", korean)) == set(re.findall(r"{(\w+)}", template)), code
        assert "; " not in korean, f"{code}: a semicolon reads as foreign punctuation in Korean"


def test_listed_words_are_said_in_korean_and_the_english_is_unchanged() -> None:
    problem = Problem(
        "db", "abc", "item differs from its signed ingest event: size/MD5, encrypted flag, first-seen time"
    )
    assert problem.code is Finding.ITEM_DIFFERS and "fields" in WORD_PARAMS
    ko = translator("ko")
    said = ko(FINDING_MESSAGES[problem.code], **finding_values(problem.params, ko))
    assert said == "자료가 서명된 보존 기록과 다릅니다: 크기/MD5, 암호화 여부, 최초 발견 시각", said
    en = translator("en")
    assert en(FINDING_MESSAGES[problem.code], **finding_values(problem.params, en)) == problem.message
    # A value named twice must be the same both times to be recognised.
    same = "erasure decided by ledger seq 9 (IG-2026-0001) is not finished: object left; run `idolguard cases "
    assert Problem("vault", "s", same + "destroy IG-2026-0001` again or start the worker to finish it").code
    assert Problem("vault", "s", same + "destroy IG-2026-0002` again or start the worker to finish it").code is None


def test_finding_patterns_are_complete_before_any_verify_runs() -> None:
    """The patterns that give English findings their codes are built whole at import: no verify call fills
    them, so a second verify thread can never read a part-filled list (and make findings without codes)."""
    import subprocess
    import sys

    probe = (
        "import threading\n"
        "from idolguard.evidence import verify\n"
        "assert len(verify._PATTERNS) == len(verify.FINDING_MESSAGES) > 0, len(verify._PATTERNS)\n"
        "texts = [(code, template.replace('{', '<').replace('}', '>')) for code, template in "
        "verify.FINDING_MESSAGES.items()]\n"
        "wrong = []\n"
        "def check():\n"
        "    for code, text in texts:\n"
        "        if verify.recognise_finding(text) is None:\n"
        "            wrong.append(code)\n"
        "threads = [threading.Thread(target=check) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert not wrong, wrong\n"
        "assert len(verify._PATTERNS) == len(verify.FINDING_MESSAGES)\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": src}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
