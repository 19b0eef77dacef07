"""Codes the pages printed as they are, now said in the reader's language: a bank's kind (a Korean reader read
``negative`` and ``partner``; the Korean is the command line's) and an API token's scope."""

from __future__ import annotations

import html

from .conftest import STRONG, make_user, sign_in


def test_bank_kinds_are_said_in_korean(app_ws, new_client):  # type: ignore[no-untyped-def]
    from idolguard.signals.banks import create_bank

    for name, kind in (("ours", "known_abuse"), ("official.x", "negative"), ("ngo", "partner")):
        create_bank(app_ws, name, kind)
    viewer = make_user(app_ws, "ana", "analyst", password=STRONG)
    table = html.unescape(sign_in(new_client(), viewer, lang="ko").get("/banks").text.split('id="banks"', 1)[1])
    table = table.split("</table>", 1)[0]
    for korean in ("<td>확인된 악용물</td>", "<td>제외 목록</td>", "<td>협력 기관</td>"):
        assert korean in table, korean
    for code in ("known_abuse", "negative", "partner"):
        assert f"<td>{code}</td>" not in table
    english = sign_in(new_client(), viewer, lang="en").get("/banks").text
    assert "<td>negative</td>" in english and "<td>partner</td>" in english


def test_token_scopes_are_said_in_korean(app_ws, new_client):  # type: ignore[no-untyped-def]
    """The admin users page listed an API token's scope as its code (``read``/``write``) to a Korean admin."""
    from idolguard.web.accounts import create_token

    admin = make_user(app_ws, "boss", "admin", password=STRONG)
    make_user(app_ws, "ana", "analyst", password=STRONG)
    create_token(app_ws, "ana", "read", "30d", by="test")
    create_token(app_ws, "ana", "write", "30d", by="test")
    page = html.unescape(sign_in(new_client(), admin, lang="ko").get("/admin/users").text)
    assert "<td>읽기 전용</td>" in page and "<td>읽기 및 쓰기</td>" in page
    assert "<td>read</td>" not in page and "<td>write</td>" not in page
