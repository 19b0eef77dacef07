"""Admin findings of the 2026-12-03 new-user tryout: the "add a user" form preselected the most powerful role
(administrator), and ``users list`` in Korean pushed the scope column out of line (padding by characters, while
a Hangul syllable takes two terminal cells)."""

from __future__ import annotations

import re

from rich.cells import cell_len

from .conftest import STRONG, make_user, sign_in


def test_the_add_user_form_preselects_the_least_privileged_role(client, app_ws):
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG))
    page = client.get("/admin/users").text
    form = page[page.index('<form method="post" action="/admin/users">') :]
    select = form[: form.index("</select>")]
    assert re.findall(r'<option value="(\w+)" selected>', select) == ["viewer"]
    # Each user's role and scope fields say what they are to screen readers (they have no visible label).
    assert 'aria-label="역할"' in page or 'aria-label="Role"' in page


def test_users_list_columns_line_up_in_korean(cli, app_ws, monkeypatch):
    make_user(app_ws, "admin", "admin")
    make_user(app_ws, "kim", "counsel")
    make_user(app_ws, "mina", "analyst", ["Artist A"])
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    lines = [line for line in cli("users", "list").output.splitlines() if line.strip()]
    assert len(lines) == 3 and "법률 대리인" in "".join(lines)
    starts = set()
    for line in lines:
        scope = "Artist A" if "Artist A" in line else "모든 아티스트"
        starts.add(cell_len(line[: line.index(scope)]))  # the terminal column where the scope begins
    assert len(starts) == 1, lines
