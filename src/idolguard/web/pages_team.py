"""Team wellbeing: how many originals each person revealed, for managers and admins.

Looking at abusive material wears people down; a manager sees who is revealing a lot (today and over the
last 7 days) to share the load. A manager scoped to some artists counts only reveals of items in their scope
(and of unattributed items, which managers triage); the list shows the people who work on those artists.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from idolguard.web.deps import PageContext, need, render, ws_of
from idolguard.web.models import Reveal, Review, User
from idolguard.web.reveal import day_start
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import SealedRoute
from idolguard.web.triage import scoped
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)


def reveal_counts(ws: Workspace, who: Principal) -> list[dict[str, object]]:
    """Per user: reveals today (in ``who``'s time zone) and over the last 7 days, of items ``who`` may see."""
    today = day_start(who.timezone)
    week = today - timedelta(days=6)
    counted = scoped(
        select(Reveal.user_id.label("uid"), (Reveal.created_at >= today).label("today"))
        .join(Review, Review.item_sha256 == Reveal.item_sha256)
        .where(Reveal.created_at >= week),
        who,
    ).subquery()
    with ws.sessions() as session:
        totals: dict[int, list[int]] = {}
        for user_id, is_today, n in session.execute(
            select(counted.c.uid, counted.c.today, func.count()).group_by(counted.c.uid, counted.c.today)
        ):
            pair = totals.setdefault(int(user_id), [0, 0])
            pair[1] += int(n)
            if is_today:
                pair[0] += int(n)
        users = list(session.scalars(select(User).where(User.disabled.is_(False)).order_by(User.name)))
    rows = []
    for user in users:
        today_n, week_n = totals.get(user.id, [0, 0])
        works_here = who.unscoped or not user.artists or bool(set(user.artists) & set(who.artists))
        if not (works_here or week_n):
            continue
        rows.append({"user": user.name, "role": user.role, "today": today_n, "week": week_n})
    return sorted(rows, key=lambda r: (-int(r["today"]), -int(r["week"]), str(r["user"])))  # type: ignore[call-overload]


@router.get("/team/reveals", response_class=HTMLResponse)
def team_reveals(request: Request, ctx: PageContext = Depends(need("team"))) -> Response:
    return render(ctx, "team_reveals.html.j2", rows=reveal_counts(ws_of(request), ctx.user))
