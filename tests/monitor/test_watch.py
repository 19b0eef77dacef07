"""``idolguard watch``: every kind against a fixture site on 127.0.0.1, seen-skipping, status, custody."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import Cli, png_bytes
from tests.monitor.fixture_site import FixtureSite, telegram_message, telegram_preview

RUN = ("watch", "run", "--json", "--no-screenshot", "--no-analyze")


def add(cli: Cli, url: str, kind: str, *extra: str) -> int:
    out = cli.json_lines("watch", "add", url, "--kind", kind, "--every", "6h", "--json", *extra)
    return int(out[0]["id"])


def run(cli: Cli, *ids: int, ok: bool = True) -> dict:
    lines = cli.json_lines(*RUN, *map(str, ids), ok=ok)
    assert len(lines) == 1
    return lines[0]


def status(cli: Cli, source_id: int) -> dict:
    return next(s for s in cli.json_lines("watch", "list", "--json") if s["id"] == source_id)


def ledger_actions(workspace) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    from idolguard.db.models import LedgerEntry

    with workspace.sessions() as session:
        rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
        return [(r.action, r.details) for r in rows]


def test_page_with_pagination_captures_links_and_media_then_skips_what_it_has_seen(
    cli: Cli, fsite: FixtureSite, workspace
) -> None:  # type: ignore[no-untyped-def]
    sid = add(cli, f"{fsite.base}/news", "page", "--artist", "Test Artist")
    first = run(cli, sid)
    assert first["status"] == "ok"
    # a1, a2 (page 1), a3 (page 2 via rel=next) and the two images shown on the pages; the offsite link is not
    # followed and the stylesheet is not an entry.
    assert first["new"] == 5, first
    assert len(first["captures"]) == 5
    assert fsite.count("/news?page=2") == 1
    assert not any("elsewhere" in e for e in first["errors"])

    again = run(cli, sid)
    assert again["new"] == 0 and again["skipped_seen_url"] == 5

    # A new post appears; the same image re-posted under a new URL is skipped by its content hash; the link
    # to a2 without its tracking parameter is the same post.
    fsite.html(
        "/news",
        '<html><body><a href="/news/a2">second again</a><a href="/news/a4">fourth</a>'
        '<img src="/media/copy-of-same.png"><img src="/media/same.png"></body></html>',
    )
    third = run(cli, sid)
    assert third["new"] == 1, third
    assert third["skipped_seen_content"] == 1
    assert third["skipped_seen_url"] == 2
    shown = status(cli, sid)
    assert shown["items_found"] == 6 and shown["last_found"] == 1 and shown["runs"] == 3
    assert shown["status"] == "ok" and shown["artist"] == "Test Artist"

    actions = [a for a, _ in ledger_actions(workspace)]
    assert actions.count("monitor.run") == 3
    assert actions.count("monitor.found") == 6
    assert "monitor.add" in actions and actions.count("capture_done") == 6


def test_rss_and_atom_feeds_with_next_pages(cli: Cli, fsite: FixtureSite) -> None:
    rss = add(cli, f"{fsite.base}/feed.xml", "feed")
    out = run(cli, rss)
    assert out["new"] == 3, out  # two items + one enclosure
    atom = add(cli, f"{fsite.base}/atom.xml", "feed")
    out = run(cli, atom)
    assert out["new"] == 2, out  # entry on page 1 and on the rel=next page
    assert fsite.count("/atom2.xml") == 1


def test_feed_that_is_not_xml_is_an_error_not_a_crash(cli: Cli, fsite: FixtureSite) -> None:
    sid = add(cli, f"{fsite.base}/news", "feed")
    result = cli(*RUN, str(sid), ok=False)
    assert result.exit_code == 1
    assert "not a valid RSS/Atom feed" in result.stdout


def test_telegram_channel_preview_checkpoint_and_content_hash(cli: Cli, fsite: FixtureSite) -> None:
    sid = add(cli, f"{fsite.base}/s/idolleaks", "telegram")
    out = run(cli, sid)
    assert out["new"] == 4, out  # messages 3, 4 and, on the older page, 1, 2
    assert status(cli, sid)["checkpoint"]["last_message_id"] == 4
    older_hits = fsite.count("/s/idolleaks?before=3")

    # Message 5 arrives; message 6 repeats message 5's text and photo (a re-post) and is skipped by content.
    messages = [telegram_message("idolleaks", 4, "post 4", "/media/p4.jpg")]
    messages += [telegram_message("idolleaks", 5, "new post", "/media/p5.jpg")]
    fsite.html("/s/idolleaks", telegram_preview("idolleaks", messages, before=4))
    out = run(cli, sid)
    assert out["new"] == 1 and out["listed"] == 1, out
    assert fsite.count("/s/idolleaks?before=3") == older_hits  # stopped at the checkpoint
    messages.append(telegram_message("idolleaks", 6, "new post", "/media/p5.jpg"))
    fsite.html("/s/idolleaks", telegram_preview("idolleaks", messages, before=4))
    out = run(cli, sid)
    assert out["new"] == 0 and out["skipped_seen_content"] == 1, out
    assert status(cli, sid)["checkpoint"]["last_message_id"] == 6


def test_channel_kind_routes_telegram_previews(cli: Cli, fsite: FixtureSite) -> None:
    sid = add(cli, f"{fsite.base}/s/idolleaks", "channel")
    assert run(cli, sid)["new"] == 4


def test_account_page_lists_only_its_posts(cli: Cli, fsite: FixtureSite) -> None:
    sid = add(cli, f"{fsite.base}/users/leaker", "account")
    out = run(cli, sid)
    assert out["new"] == 2, out
    assert fsite.count("/about") == 0 and fsite.count("/users/other") == 0


def test_page_that_disappears_is_deleted_by_source_and_comes_back(cli: Cli, fsite: FixtureSite, workspace) -> None:  # type: ignore[no-untyped-def]
    sid = add(cli, f"{fsite.base}/vanish", "page")
    assert run(cli, sid)["status"] == "ok"
    del fsite.routes["/vanish"]
    out = run(cli, sid)  # "deleted by source" is reported, not a failure (exit 0)
    assert out["status"] == "gone" and out["deleted_by_source"]
    shown = status(cli, sid)
    assert shown["deleted_by_source"] and shown["gone_since"]
    assert "deleted by source" in cli("watch", "list").output
    fsite.html("/vanish", '<html><body><a href="/news/a2">a2</a></body></html>')
    out = run(cli, sid)
    assert out["status"] == "ok" and out["new"] == 1
    assert not status(cli, sid)["deleted_by_source"]
    actions = [a for a, _ in ledger_actions(workspace)]
    assert actions.count("monitor.gone") == 1 and actions.count("monitor.back") == 1


def test_channel_listed_by_a_yt_dlp_extractor_through_the_ssrf_guard(
    cli: Cli, fsite: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yt_dlp.extractor.common import InfoExtractor

    from idolguard.capture import ytdlp

    class FanCamChannelIE(InfoExtractor):
        IE_NAME = "FanCamChannel"
        _VALID_URL = r"http://127\.0\.0\.1:\d+/channel/(?P<id>[a-z]+)$"

        def _real_extract(self, url: str) -> dict:
            name = self._match_id(url)
            data = self._download_json(url.replace(f"/channel/{name}", f"/api/channel/{name}"), name)
            entries = [self.url_result(v["url"], video_id=v["id"]) for v in data["videos"]]
            return self.playlist_result(entries, name, name)

    monkeypatch.setattr(ytdlp, "EXTRA_EXTRACTORS", [FanCamChannelIE])
    sid = add(cli, f"{fsite.base}/channel/fancams", "channel")
    out = run(cli, sid)
    assert out["new"] == 2, out
    assert fsite.count("/api/channel/fancams") == 1


def test_ssrf_policy_applies_to_watched_sources(cli: Cli, fsite: FixtureSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_CAPTURE_ALLOW")
    refused = cli("watch", "add", f"{fsite.base}/news", "--kind", "page", ok=False)
    assert refused.exit_code == 2 and "loopback" in refused.output
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    sid = add(cli, f"{fsite.base}/news", "page")
    monkeypatch.delenv("IDOLGUARD_CAPTURE_ALLOW")  # allow-list withdrawn: the run is refused, nothing fetched
    hits = len(fsite.hits)
    result = cli(*RUN, str(sid), ok=False)
    assert result.exit_code == 1 and "refused" in result.stdout
    assert len(fsite.hits) == hits


def test_pause_resume_remove_due_and_usage_errors(cli: Cli, fsite: FixtureSite, workspace) -> None:  # type: ignore[no-untyped-def]
    sid = add(cli, f"{fsite.base}/users/leaker", "account")
    other = add(cli, f"{fsite.base}/vanish", "page")
    cli("watch", "pause", str(other))
    due = cli.json_lines("watch", "run", "--due", "--json", "--no-screenshot", "--no-analyze")
    assert [d["source_id"] for d in due] == [sid]
    assert cli.json_lines("watch", "run", "--due", "--json", "--no-screenshot", "--no-analyze") == []  # not due
    cli("watch", "resume", str(other))
    assert [d["source_id"] for d in cli.json_lines(*RUN[:2], "--due", "--json", "--no-screenshot", "--no-analyze")] == [
        other
    ]
    cli("watch", "remove", str(sid))
    assert [s["id"] for s in cli.json_lines("watch", "list", "--json")] == [other]
    assert cli("watch", "pause", str(sid), ok=False).exit_code == 1
    assert cli("watch", "add", fsite.base + "/x", "--kind", "forum", ok=False).exit_code == 2
    assert cli("watch", "add", fsite.base + "/x", "--every", "5s", ok=False).exit_code == 2
    assert cli("watch", "add", "javascript:alert(1)", ok=False).exit_code == 2
    assert cli("watch", "add", f"{fsite.base}/vanish", ok=False).exit_code == 2  # already watched
    actions = [a for a, _ in ledger_actions(workspace)]
    for action in ("monitor.add", "monitor.pause", "monitor.resume", "monitor.remove", "monitor.run"):
        assert action in actions
    from idolguard.monitor.models import WatchSeen

    with workspace.sessions() as session:  # removal keeps history
        urls = session.scalars(select(WatchSeen.url).where(WatchSeen.source_id == sid)).all()
    assert len([u for u in urls if u.startswith("http")]) == 2  # the two posts
    assert len([u for u in urls if u.startswith("media:")]) == 2  # and their media, by content hash


def test_new_media_are_scanned(cli: Cli, fsite: FixtureSite, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.db.models import StageResult

    fsite.routes["/media/p6.jpg"] = (200, "image/png", png_bytes(61, (96, 96)))
    sid = add(cli, f"{fsite.base}/users/leaker", "account")
    out = cli.json_lines("watch", "run", str(sid), "--json", "--no-screenshot")[0]
    assert out["new"] == 2
    from idolguard.capture.models import CaptureMedia

    with workspace.sessions() as session:
        media = set(session.scalars(select(CaptureMedia.item_sha256).where(CaptureMedia.item_sha256.is_not(None))))
        scanned = session.execute(select(StageResult.item_sha256, StageResult.stage)).all()
    assert len(media) == 2
    for sha in media:  # each captured image was scanned (faces) and matched against the banks
        stages = {stage for item, stage in scanned if item == sha}
        assert {"faces", "signals", "match"} <= stages, stages
