"""Typed error codes: every code has a Korean and an English message, Korean pages never show the English error
text of a known code, unknown errors get a generic translated message and are logged without paths."""

from __future__ import annotations

import logging
import re

import pytest

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.web.errors import ADMIN_MESSAGES, MESSAGES, message, shown_error
from idolguard.web.i18n import catalog, translator

from .conftest import STRONG, csrf_of, make_user, sign_in

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Sample values for every field a message names (a URL, a host, numbers...).
SAMPLE = {
    "url": "https://example.org/p/1",
    "host": "example.org",
    "status": 404,
    "fields": "kind,ref",
    "id": 7,
    "name": "mina",
    "names": "Nobody",
    "days": 365,
    "text": "abc",
    "failed": 1,
    "total": 2,
}


def test_every_code_has_a_korean_and_an_english_message() -> None:
    ko, en = catalog("ko"), catalog("en")
    assert set(MESSAGES) == set(ErrorCode), set(ErrorCode) ^ set(MESSAGES)
    for code in ErrorCode:
        for template in filter(None, (MESSAGES[code], ADMIN_MESSAGES.get(code))):
            assert HANGUL.search(ko.get(template, "")), f"{code}: no Korean for {template!r}"
            assert not HANGUL.search(en.get(template, template)), f"{code}: English message is not English"
            # Both languages name the same values.
            assert set(re.findall(r"{(\w+)}", ko[template])) == set(re.findall(r"{(\w+)}", template)), code


@pytest.mark.parametrize("code", [c for c in ErrorCode if c is not ErrorCode.GENERIC])
def test_a_korean_reader_never_sees_the_english_text_of_a_known_code(code: ErrorCode) -> None:
    english_text = "refused https://example.org/p/1: some English reason (see --again, capture.allow)"
    error = IdolGuardError(english_text, code=code, **SAMPLE)
    for admin in (False, True):
        ko = shown_error(translator("ko"), error, admin=admin)
        assert HANGUL.search(ko) and "English reason" not in ko and "--again" not in ko, (code, ko)
        en = shown_error(translator("en"), error, admin=admin, english=True)
        assert en == message(translator("en"), code, SAMPLE, admin=admin) and "English reason" not in en
    # A stored record (a job's result, a reported link) is explained from its code the same way.
    stored = {"error": english_text, "error_code": str(code), "error_params": SAMPLE}
    assert shown_error(translator("ko"), stored) == shown_error(translator("ko"), error)


def test_filing_fields_are_the_forms_names() -> None:
    error = IdolGuardError("status filed needs --kind, --ref", code=ErrorCode.CASE_FILED_NEEDS, fields="kind,ref")
    assert shown_error(translator("ko"), error) == "사건을 '접수'로 바꾸려면 다음 항목을 입력하세요: 종류, 접수번호."
    assert shown_error(translator("en"), error) == "To mark the case as filed, fill in: Kind, Reference."


def test_unknown_errors_are_generic_translated_and_logged_without_paths(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="idolguard.web.errors")
    secret = "/srv/idolguard/vault/ab/cdef0123.bin"
    ours = IdolGuardError(f"case is on hold: cannot read {secret}")
    ko = shown_error(translator("ko"), ours)
    assert ko == "요청을 처리하지 못했습니다."
    en = shown_error(translator("en"), ours, english=True)
    assert en.startswith("The request could not be completed.") and "case is on hold" in en and secret not in en
    foreign = KeyError("internal detail")
    assert shown_error(translator("en"), foreign, english=True) == "The request could not be completed."
    assert "internal detail" in shown_error(translator("en"), foreign, admin=True, english=True)
    stored = {"error": f"[Errno 2] No such file or directory: '{secret}'"}  # a record from before codes
    assert shown_error(translator("ko"), stored) == "요청을 처리하지 못했습니다."
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "generic" in logged and secret not in logged and "/srv/" not in logged and "Errno" not in logged


def test_korean_pages_say_known_refusals_in_korean(app_ws, client) -> None:  # type: ignore[no-untyped-def]
    """Through real pages: account refusals reach the admin pages as codes, said in Korean."""
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = csrf_of(admin.get("/admin/users").text)
    page = admin.post("/admin/tokens", data={"csrf": csrf, "name": "root", "scope": "admin", "expires": "30d"}).text
    assert "읽기 또는 쓰기 권한을 선택하세요." in page and "scope is read or write" not in page
    page = admin.post("/admin/tokens", data={"csrf": csrf, "name": "root", "scope": "read", "expires": "999d"}).text
    assert "토큰" in page and "tokens expire within" not in page
    page = admin.post("/admin/users", data={"csrf": csrf, "name": "bad name!", "role": "viewer"}).text
    assert "사용자 이름은 1~64자" in page and "user names are" not in page
