"""The triage queue: one ``web_reviews`` row per item (analysis projected for ranking and filters, plus the
team's decision), risk ranking, scoped queries, and decisions with optimistic locking.

Risk = artist evidence x manipulation evidence x spread: an item showing a matched artist, scored as
manipulated and seen in many places comes first. The weights are documented, not learned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update

from idolguard.db.models import Item, Sighting
from idolguard.db.session import in_chunks
from idolguard.detect.scoring import RENAMED_VERDICTS, verdict_name
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.signals.models import Bank, BankEntry
from idolguard.web.custody import custody
from idolguard.web.models import STATUSES, Review, ReviewArtist
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace

ARTIST_WEIGHT = {"match": 1.0, "possible": 0.6}
NO_ARTIST_WEIGHT = 0.25
OPEN_STATUSES = ("new", "in_review")
FAN_PLATFORMS = ("portal", "fan-report")


class Conflict(IdolGuardError):
    """Someone else changed the item since it was loaded (optimistic locking): nothing was overwritten."""

    code = ErrorCode.TRIAGE_CONFLICT


def risk(decision: str | None, manipulation: float | None, matches: int, sightings: int) -> float:
    artist = ARTIST_WEIGHT.get(decision or "", NO_ARTIST_WEIGHT)
    manip = 0.2 + 0.8 * (manipulation if manipulation is not None else 0.5)
    spread = 1.0 + math.log1p(matches + max(sightings - 1, 0))
    return round(artist * manip * spread, 6)


def _projection(obj: dict[str, Any]) -> dict[str, Any]:
    faces = [f for f in (obj.get("faces") or []) if f.get("artist") and f.get("decision") in ARTIST_WEIGHT]
    best = _best_face(obj)
    return {
        "artists": sorted({f["artist"] for f in faces}),
        "artist": best["artist"] if best else None,
        "artist_decision": best["decision"] if best else None,
        "similarity": best.get("similarity") if best else None,
        "manipulation": obj.get("manipulation_score"),
        "verdict": verdict_name(obj.get("verdict")),
        "matches": len(obj.get("matches") or []),
        "media_type": obj.get("media_type") or "other",
    }


def _best_face(obj: dict[str, Any]) -> dict[str, Any] | None:
    faces = [f for f in (obj.get("faces") or []) if f.get("artist") and f.get("decision") in ARTIST_WEIGHT]
    return max(faces, key=lambda f: (ARTIST_WEIGHT[f["decision"]], f.get("similarity") or 0), default=None)


def review_reasons(ws: Workspace, rows: list[Any]) -> dict[str, str]:
    """Why the shown ``possible`` rows are only possible (the best face's ``review_reason`` code), by item.

    Read at render time for the rows of one page, not stored in the row: the reason follows the gallery (it
    goes away once ``artists reembed`` has run), and the stored face results are re-matched when read. A row
    whose current best face is another artist or decision than the row shows gets nothing (its row is behind)."""
    from idolguard.pipeline.scan import item_objects

    wanted = {r.item_sha256: r for r in rows if r.artist_decision == "possible" and r.artist}
    if not wanted:
        return {}
    out = {}
    for obj in item_objects(ws, [(sha, None, False) for sha in wanted]):
        best, row = _best_face(obj), wanted.get(obj["sha256"])
        same = best is not None and row is not None and (best["artist"], best["decision"]) == (row.artist, "possible")
        if best is not None and same and best.get("review_reason"):
            out[obj["sha256"]] = str(best["review_reason"])
    return out


def sync_reviews(ws: Workspace, shas: list[str]) -> int:
    """Create or refresh the triage rows of these items from their stored analysis (decisions are kept).

    Only current results are projected. An item whose analysis is outdated (a stage's current version has
    not run on it yet: ``idolguard analyze --stale``) keeps the projection its row got while that analysis
    was current (artist, verdict, risk): re-projecting it now would silently drop its artist, and projecting
    its older results would silently feed them to triage. Its sightings and fan reports are refreshed."""
    from idolguard.pipeline.scan import item_objects
    from idolguard.pipeline.stale import find_stale

    shas = list(dict.fromkeys(shas))
    for chunk in in_chunks(shas, 500):
        outdated = {item.sha256 for item in find_stale(ws, shas=chunk).items}  # stored rows only: one light query
        objects = item_objects(ws, [(sha, None, False) for sha in chunk])
        with ws.sessions() as session, session.begin():
            seen = dict(
                session.execute(
                    select(Sighting.item_sha256, func.count())
                    .where(Sighting.item_sha256.in_(chunk))
                    .group_by(Sighting.item_sha256)
                ).all()
            )
            platforms: dict[str, str] = {}
            fans: set[str] = set()
            for sha, platform in session.execute(
                select(Sighting.item_sha256, Sighting.platform)
                .where(Sighting.item_sha256.in_(chunk))
                .order_by(Sighting.id)
            ):
                if platform:
                    platforms.setdefault(sha, platform)
                    if platform in FAN_PLATFORMS:
                        fans.add(sha)
            firsts = dict(session.execute(select(Item.sha256, Item.first_seen_at).where(Item.sha256.in_(chunk))).all())
            existing = {r.item_sha256: r for r in session.scalars(select(Review).where(Review.item_sha256.in_(chunk)))}
            kept = outdated & set(existing)  # their projection (and per-artist rows) stays as it was
            session.execute(
                delete(ReviewArtist).where(ReviewArtist.item_sha256.in_([s for s in chunk if s not in kept]))
            )
            for obj in objects:
                sha = obj["sha256"]
                values = _projection(obj)
                artists = values.pop("artists")
                row = existing.get(sha) or Review(item_sha256=sha, status="new", version=1)
                if sha in kept:
                    artists, values = [], {"media_type": values["media_type"]}
                for key, value in values.items():
                    setattr(row, key, value)
                row.sightings = int(seen.get(sha, 1))
                row.platform = platforms.get(sha)
                row.fan_reported = sha in fans or bool(row.fan_reports)  # portal reports count too
                row.first_seen_at = firsts.get(sha) or datetime.now(UTC)
                row.risk = risk(row.artist_decision, row.manipulation, row.matches, row.sightings)
                if sha not in existing:
                    row.updated_at = datetime.now(UTC)
                    session.add(row)
                if sha in kept:  # its per-artist rows stay; they carry the item's risk
                    session.execute(update(ReviewArtist).where(ReviewArtist.item_sha256 == sha).values(risk=row.risk))
                for artist in artists:
                    session.add(ReviewArtist(item_sha256=sha, artist=artist, risk=row.risk))
    return len(shas)


def record_fan_reports(ws: Workspace, counts: dict[str, tuple[int, dict[str, int]]]) -> int:
    """Set the public-portal report count and categories of these items' triage rows (the front-door
    composition computes them from the portal; the web app only shows and filters them). Returns rows set."""
    changed = 0
    with ws.sessions() as session, session.begin():
        for sha, (reports, categories) in counts.items():
            changed += session.execute(
                update(Review)
                .where(Review.item_sha256 == sha)
                .values(
                    fan_reports=reports,
                    fan_categories=categories,
                    fan_reported=True if reports > 0 else Review.fan_reported,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
    return changed


def sync_missing(ws: Workspace, limit: int = 100_000) -> int:
    """Items stored by the command line (scan, capture) that have no triage row yet."""
    with ws.sessions() as session:
        missing = list(
            session.scalars(
                select(Item.sha256)
                .where(~select(Review.item_sha256).where(Review.item_sha256 == Item.sha256).exists())
                .limit(limit)
            )
        )
    return sync_reviews(ws, missing) if missing else 0


def scoped(query: Select[Any], who: Principal) -> Select[Any]:
    """Restrict a query over ``Review`` to what the user may see (per-artist scope, unattributed items)."""
    if who.unscoped:
        return query if who.sees_unattributed else query.where(Review.artist.is_not(None))
    in_scope = Review.item_sha256.in_(select(ReviewArtist.item_sha256).where(ReviewArtist.artist.in_(who.artists)))
    if who.sees_unattributed:
        return query.where(or_(in_scope, Review.artist.is_(None)))
    return query.where(in_scope)


def is_reference_material() -> Any:
    """True for an item that is itself in a ``negative`` bank: an artist's official photo (``artists official
    add``) or other reference media, which is never a suspect, so triage never lists it. Decided when the queue
    is read, so items triaged before they became reference material leave the queue too, with no row changed
    (remove the photo from the collection and it is listed again)."""
    return (
        select(BankEntry.id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.source_item == Review.item_sha256, Bank.kind == "negative")
        .exists()
    )


@dataclass
class Filters:
    status: str = "open"  # open|all|one of STATUSES
    artist: str = ""
    decision: str = ""
    verdict: str = ""
    platform: str = ""
    since: datetime | None = None
    until: datetime | None = None
    fan: bool = False
    assignee: str = ""

    def apply(self, query: Select[Any], *, with_artist: bool = True) -> Select[Any]:
        query = query.where(~is_reference_material())
        if self.status == "open":
            query = query.where(Review.status.in_(OPEN_STATUSES))
        elif self.status in STATUSES:
            query = query.where(Review.status == self.status)
        if self.artist and with_artist:
            query = query.where(
                Review.item_sha256.in_(select(ReviewArtist.item_sha256).where(ReviewArtist.artist == self.artist))
            )
        if self.decision == "none":
            query = query.where(Review.artist_decision.is_(None))
        elif self.decision:
            query = query.where(Review.artist_decision == self.decision)
        if self.verdict:
            # Rows projected before the rename may still hold the old name (``no_evidence``): match both.
            names = {self.verdict} | {old for old, new in RENAMED_VERDICTS.items() if new == self.verdict}
            query = query.where(Review.verdict.in_(sorted(names)))
        if self.platform:  # platforms are names people type: "X" and "x" are the same platform
            query = query.where(func.lower(Review.platform) == self.platform.strip().lower())
        if self.since:
            query = query.where(Review.first_seen_at >= self.since)
        if self.until:
            query = query.where(Review.first_seen_at < self.until)
        if self.fan:
            query = query.where(Review.fan_reported.is_(True))
        if self.assignee:
            query = query.where(Review.assignee == self.assignee)
        return query


Cursor = tuple[float, str]  # (risk, item_sha256) of the last row of the previous page


def parse_cursor(text: str) -> Cursor | None:
    """``RISK:SHA256`` as the page links carry it; None for anything else (then the first page)."""
    risk_text, _, sha = text.partition(":")
    try:
        value = float(risk_text)
    except ValueError:
        return None
    if not math.isfinite(value) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        return None
    return value, sha


def cursor_text(row: Review) -> str:
    return f"{row.risk!r}:{row.item_sha256}"


def _streams(who: Principal, filters: Filters) -> list[tuple[Select[Any], Any, Any]]:
    """The queue as ordered streams (query, risk column, sha column), each walked by an index in risk order.

    Unscoped without an artist filter: ``web_reviews`` by ``ix_web_reviews_rank``. Per-artist scopes and the
    artist filter: one stream per artist over ``web_review_artists`` by ``ix_web_review_artists_rank``
    (artist, risk, item; the risk is copied there by ``sync_reviews``), joined to the item's row for the other
    filters; plus, for roles that see them, the unattributed items (partial index
    ``ix_web_reviews_unattributed``). No stream sorts: each stops after one page.
    """
    if filters.artist:
        artists: list[str] | None = [filters.artist] if who.sees_artist(filters.artist) else []
    else:
        artists = None if who.unscoped else list(who.artists)
    if artists is None:
        query = filters.apply(select(Review.item_sha256, Review.risk), with_artist=False)
        if not who.sees_unattributed:
            query = query.where(Review.artist.is_not(None))
        return [(query, Review.risk, Review.item_sha256)]
    streams = []
    for artist in artists:
        query = select(ReviewArtist.item_sha256, ReviewArtist.risk).join(
            Review, Review.item_sha256 == ReviewArtist.item_sha256
        )
        query = filters.apply(query.where(ReviewArtist.artist == artist), with_artist=False)
        streams.append((query, ReviewArtist.risk, ReviewArtist.item_sha256))
    if not filters.artist and who.sees_unattributed:
        query = filters.apply(select(Review.item_sha256, Review.risk).where(Review.artist.is_(None)), with_artist=False)
        streams.append((query, Review.risk, Review.item_sha256))
    return streams


def queue(
    ws: Workspace,
    who: Principal,
    filters: Filters,
    *,
    offset: int = 0,
    limit: int = 50,
    after: Cursor | None = None,
) -> tuple[list[Review], bool]:
    """One page of the queue, highest risk first; the bool says whether there is a next page.

    Keyset pagination: ``after`` is the (risk, sha) of the previous page's last row, so page 40 costs what
    page 1 costs. Each stream (see ``_streams``) yields at most ``limit + 1`` keys after the cursor from its
    index; the streams are merged (an item shown for two artists once), then the page's rows are fetched by
    key. ``offset`` (the API's older paging) skips rows of the merged order and costs what it skips."""
    if filters.artist:  # an alias or another spelling means the enrolled artist (as on the command line)
        from idolguard.web.artist_names import canonical_artist

        filters = replace(filters, artist=canonical_artist(ws, filters.artist, who.artists))
    want = offset + limit + 1
    keys: dict[str, float] = {}
    with ws.sessions() as session:
        for query, risk_col, sha_col in _streams(who, filters):
            if after is not None:
                query = query.where(risk_col <= after[0], or_(risk_col < after[0], sha_col < after[1]))
            for sha, value in session.execute(query.order_by(risk_col.desc(), sha_col.desc()).limit(want)):
                keys[sha] = value
        ranked = sorted(keys, key=lambda sha: (keys[sha], sha), reverse=True)[offset:want]
        page = ranked[:limit]
        rows = {r.item_sha256: r for r in session.scalars(select(Review).where(Review.item_sha256.in_(page)))}
    return [rows[sha] for sha in page if sha in rows], len(ranked) > limit


def visible_review(ws: Workspace, who: Principal, sha: str) -> Review | None:
    """The item's triage row if the user may see it (None: absent or out of scope, shown as 404)."""
    with ws.sessions() as session:
        return session.scalar(scoped(select(Review).where(Review.item_sha256 == sha), who))


# The shortest hash prefix an item page accepts: the command line's (``cli_support.MIN_PREFIX``), so a prefix
# copied from a table (the queue shows 12 characters) or from the CLI works in both.
MIN_PREFIX = 8


def visible_by_prefix(ws: Workspace, who: Principal, prefix: str, limit: int = 6) -> list[str]:
    """Full hashes of the items starting with ``prefix`` that the user may see (at most ``limit``, sorted).

    Only visible items count: for a scoped user an item outside their artists is neither a candidate nor a
    cause of ambiguity, so a prefix tells them nothing about it (absent and out of scope answer the same).
    Items stored by the command line without a triage row yet get one first, as the item page does."""
    text = prefix.strip().lower()
    if not MIN_PREFIX <= len(text) <= 64 or any(c not in "0123456789abcdef" for c in text):
        return []
    with ws.sessions() as session:
        stored = list(session.scalars(select(Item.sha256).where(Item.sha256.startswith(text)).limit(50)))
        have = set(session.scalars(select(Review.item_sha256).where(Review.item_sha256.in_(stored))))
    missing = [sha for sha in stored if sha not in have]
    if missing:
        sync_reviews(ws, missing)
    with ws.sessions() as session:
        query = scoped(select(Review.item_sha256).where(Review.item_sha256.startswith(text)), who)
        return sorted(session.scalars(query.order_by(Review.item_sha256).limit(limit)))


def item_artists(ws: Workspace, sha: str) -> list[str]:
    with ws.sessions() as session:
        return list(session.scalars(select(ReviewArtist.artist).where(ReviewArtist.item_sha256 == sha)))


def decide(ws: Workspace, who: Principal, sha: str, status: str, version: int, *, note: str = "") -> Review:
    """Set the status if nobody changed the item since ``version`` (else Conflict); one custody event."""
    if status not in STATUSES:
        raise IdolGuardError(f"unknown status {status!r}", code=ErrorCode.TRIAGE_STATUS, status=status[:40])
    with custody(ws, who.name) as (session, ledger):
        row = session.get(Review, sha)
        if row is None:
            raise IdolGuardError("no such item", code=ErrorCode.RECORD_UNKNOWN, ref=sha[:16])
        previous = row.status
        changed = session.execute(
            update(Review)
            .where(Review.item_sha256 == sha, Review.version == version)
            .values(status=status, version=Review.version + 1, updated_at=datetime.now(UTC), updated_by=who.name)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict("someone else changed this item meanwhile; reload to see their decision")
        ledger.append(
            "web.decision",
            item=sha,
            details={"user": who.name, "from": previous, "to": status, "version": version + 1, "note": note[:2000]},
        )
    with ws.sessions() as session:
        fresh = session.get(Review, sha)
        assert fresh is not None
        return fresh


def assign(ws: Workspace, who: Principal, sha: str, assignee: str | None, version: int) -> None:
    with custody(ws, who.name) as (session, ledger):
        changed = session.execute(
            update(Review)
            .where(Review.item_sha256 == sha, Review.version == version)
            .values(
                assignee=assignee or None, version=Review.version + 1, updated_at=datetime.now(UTC), updated_by=who.name
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict("someone else changed this item meanwhile; reload to see their decision")
        ledger.append("web.assign", item=sha, details={"user": who.name, "assignee": assignee or None})


MAX_COMMENT = 5000


def comment(ws: Workspace, who: Principal, sha: str, text: str) -> None:
    """A comment on an item (a custody event). Refused when empty or longer than ``MAX_COMMENT`` characters:
    cut silently, the part a reader never sees could be the part that mattered."""
    text = text.strip()
    if not text:
        raise IdolGuardError("empty comment", code=ErrorCode.COMMENT_EMPTY)
    if len(text) > MAX_COMMENT:
        raise IdolGuardError(
            f"comments have at most {MAX_COMMENT} characters (this one has {len(text)})",
            code=ErrorCode.COMMENT_TOO_LONG,
            max=MAX_COMMENT,
            length=len(text),
        )
    with custody(ws, who.name) as (_session, ledger):
        ledger.append("web.comment", item=sha, details={"user": who.name, "text": text})


def add_to_known_abuse(ws: Workspace, sha: str, bank: str = "known_abuse") -> str:
    """Confirmed abuse goes into the ``known_abuse`` bank (created on first use) so re-uploads match, and into
    an incident right away (the one it is in, else a new one with it as first member; later copies join it:
    ``incidents.sync.open_for_confirmed``): the form promises "the bank and its incident"."""
    from idolguard.incidents.sync import open_for_confirmed, sync
    from idolguard.signals.banks import add_entries, ensure_bank
    from idolguard.signals.entries import entries_for_item

    # Checked and made under the write lock: two analysts confirming at once get one bank (checked outside it,
    # the second request's creation failed with "already exists").
    ensure_bank(ws, bank, "known_abuse", description="confirmed in the web triage")
    entries, _notes = entries_for_item(ws, sha)
    # The kind is checked again in the adding transaction: a rename and a ``bank create`` between the two could
    # otherwise put confirmed abuse into a negative bank. Stored matches are counted before the bank change drops
    # them (``invalidate_matches`` folds them), and ``sync`` counts what is left.
    add_entries(ws, bank, entries, event_details={"item": sha, "via": "web"}, expect_kind="known_abuse")
    sync(ws)
    open_for_confirmed(ws, sha, bank)
    return bank
