"""Liveness rechecks, the capture block of the HTML report, and the SSRF-safe yt-dlp integration."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard.capture.errors import CaptureRefused
from idolguard.capture.fetch import Budget, SafeFetcher
from idolguard.capture.models import CaptureCheck
from idolguard.capture.netpolicy import NetPolicy
from idolguard.capture.recheck import classify
from idolguard.capture.service import capture_urls
from idolguard.capture.settings import CaptureSettings
from idolguard.db.models import LedgerEntry
from idolguard.workspace import Workspace
from tests.capture.server import Site
from tests.conftest import png_bytes


def capture_once(ws: Workspace, url: str) -> int:
    [out] = capture_urls(ws, [url], CaptureSettings.from_workspace(ws, browser=False), analyze_media=False)
    assert out.capture_id is not None and out.status == 200
    return out.capture_id


def test_recheck_states_over_a_posts_life(cli, workspace: Workspace, site: Site, allow_local: str) -> None:  # type: ignore[no-untyped-def]
    path = "/post/lifecycle"
    capture_id = capture_once(workspace, f"{site.base}{path}")

    [live] = cli.json_lines("recheck", str(capture_id), "--json")
    assert live["state"] == "live" and live["http_status"] == 200
    assert {m["state"] for m in live["media"]} == {"same"}

    original = site.media["/media/extra.png"]
    site.media["/media/extra.png"] = png_bytes(99, (160, 120))
    try:
        [changed] = cli.json_lines("recheck", str(capture_id), "--json")
    finally:
        site.media["/media/extra.png"] = original
    assert changed["state"] == "changed"
    assert [m["url"].rsplit("/", 1)[1] for m in changed["media"] if m["state"] == "changed"] == ["extra.png"]

    site.deleted.add(path)
    try:
        [removed] = cli.json_lines("recheck", str(capture_id), "--json")
    finally:
        site.deleted.discard(path)
    assert removed["state"] == "removed" and removed["http_status"] == 404

    site.overrides[path] = (200, b"<html><body>This post was deleted by its author.</body></html>")
    try:
        [soft_removed] = cli.json_lines("recheck", str(capture_id), "--json")
        site.overrides[path] = (403, b"<html><body>This content is withheld in your country.</body></html>")
        [blocked] = cli.json_lines("recheck", str(capture_id), "--json")
    finally:
        site.overrides.pop(path, None)
    assert soft_removed["state"] == "removed" and soft_removed["http_status"] == 200
    assert blocked["state"] == "blocked"

    with workspace.sessions() as session:
        states = (
            session.execute(
                select(CaptureCheck.state).where(CaptureCheck.capture_id == capture_id).order_by(CaptureCheck.id)
            )
            .scalars()
            .all()
        )
        events = session.execute(select(LedgerEntry).where(LedgerEntry.action == "capture.recheck")).scalars().all()
    assert states == ["live", "changed", "removed", "removed", "blocked"]
    assert [e.details["state"] for e in events] == states
    # The original capture is untouched: its media still point at the first bytes.
    assert site.count(path) >= 6


def test_recheck_due_only_picks_stale_captures(
    cli, home: Path, workspace: Workspace, site: Site, allow_local: str
) -> None:  # type: ignore[no-untyped-def]
    capture_id = capture_once(workspace, f"{site.base}/post/due")
    cli("recheck", str(capture_id))
    assert cli.json_lines("recheck", "--due", "--json") == []  # checked moments ago
    config = home / "config.toml"
    config.write_text(config.read_text().replace("recheck_hours = 24.0", "recheck_hours = 0"))
    assert [r["capture_id"] for r in cli.json_lines("recheck", "--due", "--json")] == [capture_id]


def test_recheck_of_a_url_now_pointing_inside_is_an_error(
    workspace: Workspace, site: Site, allow_local: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    capture_id = capture_once(workspace, f"{site.base}/post/later-refused")
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "")  # the allowlist was withdrawn meanwhile
    from idolguard.capture.recheck import recheck_captures

    [result] = recheck_captures(workspace, CaptureSettings.from_workspace(workspace), ids=[capture_id])
    assert result.state == "error" and "refused" in (result.error or "")


@pytest.mark.parametrize(
    ("status", "text", "state"),
    [
        (404, "", "removed"),
        (410, "", "removed"),
        (451, "", "blocked"),
        (200, "Sorry, this page isn't available.", "removed"),
        (200, "Video unavailable", "removed"),
        (403, "This account has been withheld in your country", "blocked"),
        (200, "<h1>a normal post</h1>", None),
    ],
)
def test_classify(status: int, text: str, state: str | None) -> None:
    assert classify(status, text) == state


def test_report_shows_the_capture(cli, home: Path, site: Site, allow_local: str) -> None:  # type: ignore[no-untyped-def]
    report = home / "capture-report.html"
    [out] = cli.json_lines(
        "capture", f"{site.base}/post/report", "--json", "--no-screenshot", "--no-analyze", "--report", str(report)
    )
    text = report.read_text()
    assert f"Web capture #{out['capture_id']}" in text
    assert out["manifest_sha256"] in text and out["wacz_sha256"] in text
    assert "@idol_fan" in text and f"{site.base}/post/report" in text
    assert "No RFC 3161 timestamp" in text
    # Each media item's own section links back to the capture it came from.
    assert text.count(f"Web capture #{out['capture_id']}") == 1 + len(out["media"])
    # In Korean (--lang ko) the capture block is Korean too, with the same facts.
    korean = home / "capture-report-ko.html"
    [again] = cli.json_lines(
        "--lang",
        "ko",
        "capture",
        f"{site.base}/post/report",
        "--json",
        "--no-screenshot",
        "--no-analyze",
        "--report",
        str(korean),
    )
    text = korean.read_text()
    assert f"웹 게시물 수집 #{again['capture_id']}" in text and "Web capture #" not in text
    assert "요청 URL" in text and "보존한 각 파일의 SHA-256 해시값" in text and "RFC 3161 타임스탬프 없음" in text
    assert again["manifest_sha256"] in text and "@idol_fan" in text
    assert "Requested URL" not in text and "Liveness checks" not in text


def test_report_embeds_screenshot_thumbnail(workspace: Workspace, site: Site, allow_local: str, pool) -> None:  # type: ignore[no-untyped-def]
    from idolguard.capture.report import capture_section
    from idolguard.pipeline.scan import item_object

    [out] = capture_urls(
        workspace,
        [f"{site.base}/post/thumb"],
        CaptureSettings.from_workspace(workspace),
        pool=pool,
        analyze_media=False,
    )
    fragment = capture_section(workspace, item_object(workspace, out.manifest_sha256))  # type: ignore[arg-type]
    assert '<img src="data:image/jpeg;base64,' in fragment
    assert out.screenshot_sha256 in fragment  # type: ignore[operator]


# -- yt-dlp ----------------------------------------------------------------------------------------------------


def test_ytdlp_only_for_dedicated_extractors(site: Site) -> None:
    from idolguard.capture.ytdlp import extractor_for

    assert extractor_for("https://www.youtube.com/watch?v=dQw4w9WgXcQ") == "Youtube"
    assert extractor_for(f"{site.base}/post/1") is None  # never the generic extractor
    assert extractor_for("https://example.com/some/page") is None


def test_ytdlp_network_goes_through_the_ssrf_guard(site: Site) -> None:
    from yt_dlp.networking.exceptions import TransportError

    from idolguard.capture.ytdlp import safe_youtube_dl

    seen = []
    fetcher = SafeFetcher(NetPolicy(["127.0.0.1/32"]), Budget(1 << 24, 30))
    fetcher.observers.append(seen.append)
    before = site.count("internal:")
    with safe_youtube_dl(fetcher) as ydl:
        with ydl.urlopen(f"{site.base}/r/1") as response:  # an allowed URL, redirects followed by our fetcher
            assert b"og:image" in response.read()
        with pytest.raises(TransportError) as refused:
            ydl.urlopen(f"{site.internal}/metadata")
        with pytest.raises(TransportError):
            ydl.urlopen(f"{site.base}/to-internal")  # a redirect into the internal network
    assert isinstance(refused.value.__cause__, CaptureRefused) or "refused" in str(refused.value)
    assert site.count("internal:") == before
    assert [e.url.rsplit("/", 2)[-2:] for e in seen[:3]] == [["r", "1"], ["r", "2"], ["post", "1"]]


def _chirper_extractor(base: str) -> type:
    """A yt-dlp extractor for the fixture platform, registered the way an agency would add one."""
    import re

    from yt_dlp.extractor.common import InfoExtractor

    class ChirperIE(InfoExtractor):
        _VALID_URL = re.escape(base) + r"/chirper/(?P<id>\d+)"
        IE_NAME = "chirper"

        def _real_extract(self, url: str) -> dict:  # type: ignore[type-arg]
            post_id = self._match_id(url)
            data = self._download_json(f"{base}/api/chirper/{post_id}", post_id)
            return {
                "id": post_id,
                "title": data["title"],
                "uploader_id": data["author"],
                "timestamp": data["ts"],
                "description": "chirp caption",
                "formats": [
                    {
                        "url": data["video"],
                        "ext": "mp4",
                        "vcodec": "h264",
                        "acodec": "aac",
                        "protocol": "http",
                        "format_id": "progressive",
                        "http_headers": {"Referer": url},
                    },
                    {
                        "url": f"{base}/stream/{post_id}.m3u8",
                        "ext": "mp4",
                        "protocol": "m3u8_native",
                        "format_id": "hls",
                        "vcodec": "h264",
                        "acodec": "aac",
                    },
                ],
            }

    return ChirperIE


def test_ytdlp_extractor_media_are_captured_through_the_guard(
    workspace: Workspace, site: Site, allow_local: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from idolguard.capture import ytdlp

    monkeypatch.setattr(ytdlp, "EXTRA_EXTRACTORS", [_chirper_extractor(site.base)])
    assert ytdlp.extractor_for(f"{site.base}/chirper/42") == "Chirper"
    settings = CaptureSettings.from_workspace(workspace, browser=False)

    [out] = capture_urls(workspace, [f"{site.base}/chirper/42"], settings, analyze_media=False)
    assert out.status == 404  # the post page itself is not served: the media came from the API via yt-dlp
    [video] = [m for m in out.media if m.via == "yt-dlp"]
    assert video.sha256 == hashlib.sha256(site.media["/media/clip.mp4"]).hexdigest()
    assert video.media_type == "video"
    assert out.context["author_handle"] == "@idol_fan" and out.context["post_time"].startswith("2025-11-20")
    assert out.context["platform"] == "chirper"

    # An API answer pointing into the internal network is refused when the file is fetched.
    before = site.count("internal:")
    [bad] = capture_urls(workspace, [f"{site.base}/chirper/666"], settings, analyze_media=False)
    [refused] = [m for m in bad.media if m.via == "yt-dlp"]
    assert refused.sha256 is None and "refused" in (refused.error or "")
    assert site.count("internal:") == before
