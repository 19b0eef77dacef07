"""Korean for every message the command line shows (brief: KO/EN for every user-facing message).

The first tests walk the CLI's source (every module that imports ``idolguard.cli_support``) with ``ast`` and fail
when a message given to an output helper has no Korean entry in ``src/idolguard/locales/cli/*.ko.po``, or when
text for people bypasses the helpers (an f-string, or a literal printed with ``console.print``/``typer.echo``):
a message added in English only is caught here, with the exact catalog entry to add. The others run real
commands in both languages and check that machine-readable output does not change.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from idolguard import cli_lang
from idolguard.cli import app
from tests.conftest import jpeg_bytes

SRC = Path(__file__).resolve().parents[2] / "src" / "idolguard"
CATALOGS = SRC / "locales" / "cli"

# Helpers whose first argument is a catalog message (``cli_support`` translates it).
MESSAGE_HELPERS = {"fail", "say", "note", "warn", "tell", "confirm", "tr", "N_", "_error_line"}
# Helpers whose argument at this position is a catalog message.
OTHER_HELPERS = {"progress_bar": 1}
# Calls that print text as given: literal text for people must not reach them untranslated.
RAW_PRINTERS = {"print", "echo", "secho", "confirm", "prompt"}
_MARKUP = re.compile(r"\[/?[a-z #]*\]|\{[^}]*\}|\b(?:idolguard|https?|HTTP|sha256)\b")
_WORDS = re.compile(r"[A-Za-z]{2,}")
# Modules not converted yet (landing area by area); each leaves this set when its messages are in a catalog.
PENDING: set[str] = set()


def cli_modules() -> list[Path]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "idolguard.cli_support" in text or path.name in {"cli_support.py", "cli.py"}:
            if path.parent.name in {"web", "portal"} and path.name not in {"cli.py", "commands.py"}:
                continue  # the web app and portal pages have their own catalogs (web/locales)
            found.append(path)
    return found


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_words(text: str) -> bool:
    return bool(_WORDS.search(_MARKUP.sub("", text)))


def _literal_parts(node: ast.JoinedStr) -> str:
    return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def _raw_text(node: ast.expr) -> str:
    """The literal text an expression prints as it is: strings, f-strings' literal parts, ``+`` and ``if``
    branches (not what calls such as ``tr(...)`` or ``safe(...)`` return)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return _literal_parts(node)
    if isinstance(node, ast.BinOp):
        return _raw_text(node.left) + " " + _raw_text(node.right)
    if isinstance(node, ast.IfExp):
        return _raw_text(node.body) + " " + _raw_text(node.orelse)
    return ""


def _strings(node: ast.expr | None) -> list[str]:
    """The literal message(s) an argument can be: a string, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def scan(path: Path) -> tuple[list[tuple[int, str]], list[str]]:
    """(line, message) for every catalog message in ``path``, and the problems (text that cannot be translated)."""
    messages: list[tuple[int, str]] = []
    problems: list[str] = []
    where = path.relative_to(SRC.parent)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    aliases = {  # ``from idolguard.cli_support import say as _say``
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in {"idolguard.cli_support", "idolguard.cli_lang"}
        for alias in node.names
        if alias.asname
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name, first = _name(node.func), node.args[0]
        name = aliases.get(name, name)
        owner = _name(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        if name in MESSAGE_HELPERS and owner != "typer":
            messages += [(node.lineno, m) for m in _strings(first)]
            if isinstance(first, ast.JoinedStr) and _is_words(_literal_parts(first)):
                problems.append(
                    f"{where}:{node.lineno}: an f-string given to {name}() cannot be translated: write a template "
                    f'with {{name}} fields and pass the values as keywords, e.g. {name}("saved {{path}}", path=p)'
                )
        elif name in OTHER_HELPERS and len(node.args) > OTHER_HELPERS[name]:
            messages += [(node.lineno, m) for m in _strings(node.args[OTHER_HELPERS[name]])]
        elif name == "print_table":
            messages += [(node.lineno, m) for m in _strings(first)]
            if len(node.args) > 1 and isinstance(node.args[1], ast.Tuple | ast.List):
                messages += [(node.lineno, m) for elt in node.args[1].elts for m in _strings(elt)]
        elif name in RAW_PRINTERS or (name == "write" and owner in {"stdout", "stderr"}):
            if "# not for translation" in lines[node.lineno - 1]:  # e.g. a config block to paste
                continue
            text = _raw_text(first)
            if text and _is_words(text):
                problems.append(
                    f"{where}:{node.lineno}: {text[:60]!r} is printed untranslated: use say()/tell()/note()/warn()/"
                    "fail() from cli_support, or tr() for other Rich output, with a template and keyword values"
                )
    return messages, problems


def _po_entry(message: str) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return f"msgid {quote(message)}\nmsgstr {quote('<Korean>')}\n"


def _catalog_for(path: Path) -> str:
    area = path.relative_to(SRC).parts[0]
    return f"src/idolguard/locales/cli/{'core' if area.endswith('.py') else area}.ko.po"


def test_every_cli_message_has_korean():
    korean = cli_lang.catalog("ko")
    missing: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in cli_modules():
        if str(path.relative_to(SRC)) in PENDING:
            continue
        messages, found = scan(path)
        problems += found
        for line, message in messages:
            if _is_words(message) and not korean.get(message, "").strip():  # "{a}: {b}" needs no entry
                missing.setdefault(_catalog_for(path), []).append(
                    f"# {path.relative_to(SRC.parent)}:{line}\n" + _po_entry(message)
                )
    advice = "".join(
        f"\nAdd to {target} (real Korean, concise; keep {{fields}} and Rich markup as they are):\n\n"
        + "\n".join(dict.fromkeys(entries))
        for target, entries in missing.items()
    )
    assert not problems, "\n".join(problems)
    assert not missing, f"CLI messages without Korean: {sum(len(e) for e in missing.values())}" + advice


def help_texts(command, found: dict[str, str], path: str = "idolguard") -> dict[str, str]:
    """Every help text under ``command`` (English, as ``plain_help`` keys them), with where it is shown."""
    from idolguard.cli_support import _original

    texts = [_original(command, attr, reflow=True) for attr in ("help", "short_help", "epilog")]
    texts.append(_original(command, "rich_help_panel"))
    for param in getattr(command, "params", []):
        texts += [_original(param, "help"), _original(param, "rich_help_panel")]
    for text in texts:
        if isinstance(text, str) and text.strip():
            found.setdefault(text, path)
    for name, sub in (getattr(command, "commands", None) or {}).items():
        help_texts(sub, found, f"{path} {name}")
    return found


def test_every_help_text_has_korean():
    """``idolguard --lang ko ... --help`` is Korean throughout: docstrings, option help and panels."""
    from typer.main import get_command

    korean = cli_lang.catalog("ko")
    missing = {text: where for text, where in help_texts(get_command(app), {}).items() if not korean.get(text)}
    advice = "\n".join(f"# {where} --help\n" + _po_entry(text) for text, where in missing.items())
    assert not missing, (
        f"help texts without Korean: {len(missing)}. Add to src/idolguard/locales/cli/help.ko.po (the English "
        f"as --help shows it, paragraph lines joined; real Korean):\n\n{advice}"
    )


def test_catalog_entries_keep_their_fields():
    """A translation that drops or renames a ``{field}`` would raise at run time (or lose the value)."""
    for path in CATALOGS.glob("*.ko.po"):
        for source, target in cli_lang.read_catalog(path).items():
            assert set(re.findall(r"\{(\w*)\}", source)) == set(re.findall(r"\{(\w*)\}", target)), (path.name, source)
            assert target.count("[/") == source.count("[/"), (path.name, source)


# -- real commands in both languages ------------------------------------------------------------------------------
runner = CliRunner()


def run(args: list[str], lang: str, **env: str):
    environment = {"IDOLGUARD_LANG": lang, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None, **env}
    return runner.invoke(app, args, env=environment, prog_name="idolguard")


def test_language_choice(monkeypatch):
    for name in ("IDOLGUARD_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert cli_lang.current() == "en"
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert cli_lang.current() == "ko"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL decides before LANG
    assert cli_lang.current() == "en"
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    assert cli_lang.current() == "ko"
    cli_lang.choose("en")  # --lang wins over everything
    try:
        assert cli_lang.current() == "en"
    finally:
        cli_lang.choose(None)
    assert cli_lang.from_args(["--lang", "ko", "scan", "x"]) == "ko"
    assert cli_lang.from_args(["--lang=en", "--help"]) == "en"
    assert cli_lang.from_args(["scan", "--lang", "ko"]) is None  # a global option comes before the command


def test_missing_workspace_is_explained_in_korean(tmp_path):
    home = tmp_path / "nowhere"
    result = run(["verify", "--home", str(home)], "ko")
    assert result.exit_code == 4
    assert f"오류: {home}에 IdolGuard 작업 공간이 없습니다" in result.stderr
    assert f"`idolguard init --home {home}`" in result.stderr
    english = run(["--lang", "en", "verify", "--home", str(home)], "ko")  # --lang wins over IDOLGUARD_LANG
    assert english.exit_code == 4 and f"error: no IdolGuard workspace at {home}" in english.stderr


def test_bad_input_is_refused_in_korean(tmp_path):
    home = tmp_path / "ws"
    assert run(["init", "--home", str(home)], "en").exit_code == 0
    result = run(["log", "zz", "--home", str(home)], "ko")
    assert result.exit_code == 2
    assert "16진수 8자 이상의 앞부분도 아닙니다" in result.stderr
    result = run(["verify", "--expect-head", "nonsense", "--home", str(home)], "ko")
    assert result.exit_code == 2 and "SEQ:HASH 형식으로 입력하세요" in result.stderr
    # Click's own refusals too (the error panel), and Typer's panel title
    result = run(["verify", "--bogus", "--home", str(home)], "ko")
    assert result.exit_code == 2 and "없는 옵션입니다: --bogus" in result.output and "오류" in result.output
    result = run(["log", "--limit", "many", "--home", str(home)], "ko")
    assert result.exit_code == 2 and "'--limit'의 값이 올바르지 않습니다: 정수를 입력해야 합니다" in result.output
    assert "No such option: --bogus" in run(["verify", "--bogus"], "en").output
    # refusals raised below the CLI (cases, banks) are matched against errors.ko.po's templates
    result = run(["cases", "show", "IG-2026-9999", "--home", str(home)], "ko")
    assert result.exit_code == 2 and "사건 'IG-2026-9999'이(가) 없습니다" in result.stderr
    result = run(["bank", "show", "nope", "--home", str(home)], "ko")
    assert result.exit_code == 2 and "'nope'(이)라는 뱅크가 없습니다" in result.stderr
    assert "no case 'IG-2026-9999'" in run(["cases", "show", "IG-2026-9999", "--home", str(home)], "en").stderr


def test_init_verify_and_help_in_korean(tmp_path):
    home = tmp_path / "ws"
    result = run(["init", "--home", str(home)], "ko")
    assert result.exit_code == 0, result.output
    assert "작업 공간이 준비되었습니다" in result.stdout
    result = run(["verify", "--home", str(home)], "ko")
    assert result.exit_code == 0, result.output
    assert "이상 없음: 객체" in result.stdout and "원장 항목" in result.stdout
    assert "objects re-hashed" not in result.stdout
    result = run(["log", "--home", str(home)], "ko")
    assert result.exit_code == 0 and "순번" in result.stdout and "수행자" in result.stdout
    helped = run(["--lang", "ko", "--help"], "en")
    assert helped.exit_code == 0 and "작업 공간과 증거" in helped.stdout and "이 도움말을 보여 주고" in helped.stdout
    assert "Workspace and evidence" in run(["--help"], "en").stdout
    verify_help = run(["--lang", "ko", "verify", "--help"], "en").stdout
    assert "보관소의 모든 객체 해시를 다시 계산" in verify_help and "원장만 확인합니다" in verify_help
    assert "Re-hash every vault object" in run(["verify", "--help"], "en").stdout


def test_verify_findings_in_korean(tmp_path):
    """A coded verify finding is said from the shared catalog (``locales/verify.ko.po``) with its values, a word it
    lists ("item") in Korean too; English stays the message ``--json`` and the English CLI print."""
    from idolguard.workspace import Workspace

    home = tmp_path / "ws"
    assert run(["init", "--home", str(home)], "en").exit_code == 0
    data = jpeg_bytes(3)
    (tmp_path / "a.jpg").write_bytes(data)
    assert run(["scan", str(tmp_path / "a.jpg"), "--home", str(home)], "en").exit_code == 0
    ws = Workspace.open(home)
    ws.vault.path_for(hashlib.sha256(data).hexdigest()).unlink()  # the item's original
    ws.close()
    korean = run(["verify", "--home", str(home)], "ko")
    assert korean.exit_code != 0
    assert "자료이(가) 증거 보관소에 없습니다(삭제되었을 수 있음)" in korean.stdout, korean.stdout
    assert "missing from the vault" not in korean.stdout
    english = run(["verify", "--home", str(home)], "en")
    assert "item missing from the vault (deleted?)" in english.stdout and not re.search("[가-힣]", english.stdout)


def test_json_output_is_the_same_in_both_languages(tmp_path):
    home = tmp_path / "ws"
    assert run(["init", "--home", str(home)], "en").exit_code == 0
    media = tmp_path / "media"
    media.mkdir()
    (media / "empty.jpg").write_bytes(b"")
    (media / "noise.bin").write_bytes(bytes(range(256)) * 8)
    outputs = {}
    for lang in ("en", "ko"):
        ingest = run(["ingest", str(media), "--json", "--home", str(home)], lang)
        assert ingest.exit_code == 1  # the empty file is refused (in the JSON line, in English either way)
        stages = run(["stages", "--json"], lang)
        outputs[lang] = [ingest.stdout, stages.stdout]
    assert outputs["en"][1] == outputs["ko"][1]
    # The second ingest finds the stored file again: compare after the first run so both see the same state.
    again = {lang: run(["ingest", str(media), "--json", "--home", str(home)], lang).stdout for lang in ("en", "ko")}
    assert again["en"] == again["ko"]
    assert json.loads(again["ko"].splitlines()[0])  # still JSON lines
    log = {lang: run(["log", "--json", "--home", str(home)], lang).stdout for lang in ("en", "ko")}
    assert log["en"] == log["ko"] and log["en"]


def test_click_words_follow_the_language(monkeypatch):
    """Click's own words around our texts: ``Usage:`` (help and refusals), and with plain help
    (``TYPER_USE_RICH=0``) the ``Options:``/``Commands:`` headings, the ``Try ... for help.`` hint and ``Error:``."""
    import typer.core

    korean = run(["--lang", "ko", "takedowns", "--help"], "en").stdout
    assert "사용법: idolguard takedowns" in korean and "Usage:" not in korean
    refused = run(["verify", "--bogus"], "ko").output
    assert "사용법: idolguard verify" in refused and "Usage:" not in refused
    english = run(["takedowns", "--help"], "en").stdout
    assert "Usage: idolguard takedowns" in english and "사용법" not in english
    monkeypatch.setattr(typer.core, "HAS_RICH", False)  # plain Click output
    plain = run(["takedowns", "--help"], "ko").stdout
    assert "사용법: idolguard takedowns" in plain and "\n옵션:\n" in plain and "\n명령:\n" in plain
    assert "Options:" not in plain and "Commands:" not in plain
    refused = run(["verify", "--bogus"], "ko").output
    assert "도움말은 'idolguard verify --help'을(를) 실행해 보세요." in refused
    assert "오류: 없는 옵션입니다: --bogus" in refused and "Try '" not in refused and "Error:" not in refused
    refused = run(["--lang", "en", "verify", "--bogus"], "ko").output
    assert "Usage: idolguard verify" in refused and "Try 'idolguard verify --help' for help." in refused
    assert "Error: No such option: --bogus" in refused
    plain = run(["takedowns", "--help"], "en").stdout
    assert "\nOptions:\n" in plain and "\nCommands:\n" in plain
