"""Codes the pages printed as they are, now said in the reader's language: a bank's kind (a Korean reader read
``negative`` and ``partner``; the Korean is the command line's) and an API token's scope."""

from __future__ import annotations

import html

from .conftest import STRONG, make_user, sign_in


def test_bank_kinds_are_said_in_korean(app_ws, new_client):  # type: ignore[no-untyped-def]
    from idolguard.signals.banks import create_bank

    for name, kind in (("ours", "known_abuse"), ("official-media", "negative"), ("ngo", "partner")):
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


def test_a_hash_import_says_what_it_did_in_korean(app_ws, new_client, tmp_path):  # type: ignore[no-untyped-def]
    """The import printed the added entries' ids ("가져온 항목: [1, 2]") on an "Error 200" page, and an empty list
    when bad lines stopped it; it now says how many were added, or which lines stopped it, on the banks page."""
    from idolguard.signals.banks import create_bank

    create_bank(app_ws, "ours", "known_abuse")
    admin = make_user(app_ws, "boss", "admin", password=STRONG)
    client = sign_in(new_client(), admin, lang="ko")
    good = "signal_type,signal\n" + "".join(f"pdq,{format(n, '064x')}\n" for n in (0x1234 << 200, 0x5678 << 180))

    def upload(text: str):  # type: ignore[no-untyped-def]
        page = client.get("/banks").text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        return client.post(
            "/banks/ours/import", data={"csrf": csrf, "format": "csv"}, files={"file": ("h.csv", text.encode())}
        )

    done = upload(good)
    assert done.status_code == 200, done.text[:300]
    said = html.unescape(done.text.split('id="import-result" role="status">', 1)[1].split("</p>", 1)[0])
    assert said == "해시 뱅크에 해시 2개를 추가했습니다. 0개는 이미 있습니다.", said
    assert "오류 200" not in done.text and "[" not in said
    refused = upload(good + "pdq,not-a-hash\n")
    assert refused.status_code == 422
    said = html.unescape(refused.text.split('id="import-result" role="status">', 1)[1].split("</p>", 1)[0])
    assert said == "아무것도 가져오지 않았습니다. 올바른 해시가 아닌 줄이 1개 있습니다(줄 4).", said
    # A file the import cannot read at all: the refusal's own words, in Korean (a generic sentence before).
    headless = upload("pdq\n")
    assert headless.status_code == 400
    assert "CSV 파일에는 'signal'(또는 'hash'나 'value') 열이 있는 머리글 줄이 필요합니다." in html.unescape(
        headless.text
    )
    assert "요청을 처리하지 못했습니다" not in html.unescape(headless.text)
