"""The hash banks page names each bank's kind in the reader's language (it printed the kind's code: a Korean
reader read ``negative`` and ``partner``), with the Korean the command line uses."""

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
