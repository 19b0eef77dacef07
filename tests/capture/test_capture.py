"""End-to-end captures of the local fixture site: record, media as items, WACZ, screenshot, TSA, custody."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard.capture.models import Capture, CaptureMedia
from idolguard.capture.service import capture_urls
from idolguard.capture.settings import CaptureSettings
from idolguard.db.models import DerivedObject, Item, LedgerEntry, Sighting, StageResult
from idolguard.workspace import Workspace
from tests.capture.server import Site

pytestmark = pytest.mark.slow  # browser / subprocess / training: `make test-fast` skips these


def settings_for(ws: Workspace, **overrides: object) -> CaptureSettings:
    return CaptureSettings.from_workspace(ws, **overrides)


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    wacz = shutil.which("wacz") or str(Path(sys.executable).with_name("wacz"))
    return subprocess.run([wacz, "validate", "-f", str(path)], capture_output=True, text=True, timeout=120)


def set_tsa(home: Path, url: str) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text().replace("tsa_urls = []", f'tsa_urls = ["{url}"]'))


def test_cli_capture_of_a_post(cli, home: Path, site: Site, allow_local: str, local_tsa) -> None:  # type: ignore[no-untyped-def]
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.settings import CHROMIUM_PATH

    if reason := BrowserPool(CHROMIUM_PATH).unavailable_reason():
        pytest.skip(reason)
    set_tsa(home, f"{site.base}/tsa")
    url = f"{site.base}/r/1"  # redirects twice to /post/1
    [out] = cli.json_lines("capture", url, "--json", "--note", "reported by fan")
    assert out["url"] == url and out["final_url"] == f"{site.base}/post/1"
    assert out["status"] == 200 and out["state"] == "ok" and out["error"] is None, out["errors"]
    assert [hop["status"] for hop in out["redirect_chain"]] == [302, 301, 200]
    assert out["captured_at"].endswith("+00:00")
    assert out["context"]["author_handle"] == "@idol_fan"
    assert out["context"]["post_time"] == "2026-11-20T08:15:00Z"
    assert "benign test post" in out["context"]["caption"] and "#아이돌" in out["context"]["caption"]
    assert out["title"] == "Post by @idol_fan"

    ws = Workspace.open(home)
    try:
        # Media: each an ingested item with a sighting pointing at its URL, analysed like `scan`.
        by_url = {m["url"].rsplit("/", 1)[1]: m for m in out["media"]}
        assert set(by_url) == {"photo.jpg", "extra.png", "clip.mp4"}
        assert by_url["clip.mp4"]["media_type"] == "video" and by_url["photo.jpg"]["media_type"] == "image"
        with ws.sessions() as session:
            for media in out["media"]:
                assert (
                    media["sha256"]
                    == __import__("hashlib").sha256(site.media["/media/" + media["url"].rsplit("/", 1)[1]]).hexdigest()
                )
                assert session.get(Item, media["sha256"]) is not None
                sighting = session.execute(
                    select(Sighting).where(
                        Sighting.item_sha256 == media["sha256"], Sighting.source_url == out["final_url"]
                    )
                ).scalar_one()
                assert sighting.account == "@idol_fan" and "reported by fan" in (sighting.note or "")
                stages = (
                    session.execute(select(StageResult.stage).where(StageResult.item_sha256 == media["sha256"]))
                    .scalars()
                    .all()
                )
                assert "probe" in stages
            links = session.execute(select(CaptureMedia).where(CaptureMedia.capture_id == out["capture_id"])).scalars()
            assert {link.item_sha256 for link in links} == {m["sha256"] for m in out["media"]}
            record = session.get(Capture, out["capture_id"])
            assert record is not None and record.state == "ok" and record.note == "reported by fan"
            assert ("Content-Type", "text/html; charset=utf-8") in [tuple(h) for h in record.response_headers]
            kinds = set(
                session.execute(
                    select(DerivedObject.kind).where(DerivedObject.parent_sha256 == out["manifest_sha256"])
                ).scalars()
            )
            assert {"capture_page", "capture_screenshot", "capture_pdf", "capture_warc", "capture_wacz"} <= kinds
            assert "capture_tsa_token" in kinds
            actions = session.execute(select(LedgerEntry.action)).scalars().all()
        for action in (
            "capture_start",
            "capture_fetch",
            "capture_media",
            "capture_render",
            "capture_archive",
            "capture_manifest",
            "capture_timestamp",
            "capture_done",
        ):
            assert action in actions

        # Screenshot and PDF are real renderings.
        assert ws.vault.read_bytes(out["screenshot_sha256"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert ws.vault.read_bytes(out["pdf_sha256"])[:4] == b"%PDF"

        # The manifest hashes everything and is itself the timestamped item.
        manifest = json.loads(ws.vault.read_bytes(out["manifest_sha256"]))
        assert manifest["artifacts"]["screenshot"]["sha256"] == out["screenshot_sha256"]
        assert manifest["http"]["server_ip"] == "127.0.0.1"
        assert [m["sha256"] for m in manifest["media"]] == [m["sha256"] for m in out["media"]]

        # The WACZ opens and validates.
        wacz = Path(out["wacz_path"])
        assert wacz.is_file() and __import__("hashlib").sha256(wacz.read_bytes()).hexdigest() == out["wacz_sha256"]
        result = wacz_validate(wacz)
        assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout + result.stderr
        # ...and holds every exchange, the renderings and the capture context.
        import zipfile

        from warcio.archiveiterator import ArchiveIterator

        with zipfile.ZipFile(wacz) as bundle:
            [warc_name] = [n for n in bundle.namelist() if n.endswith(".warc.gz")]
            records = list(
                (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                for r in ArchiveIterator(bundle.open(warc_name))
            )
        targets = {uri for kind, uri in records if kind == "response"}
        assert {
            f"{site.base}/r/1",
            f"{site.base}/r/2",
            f"{site.base}/post/1",
            f"{site.base}/static/site.css",
        } <= targets
        assert {f"{site.base}/media/{name}" for name in ("photo.jpg", "extra.png", "clip.mp4")} <= targets
        assert ("resource", f"urn:screenshot:{site.base}/post/1") in records
        assert ("metadata", f"urn:idolguard:capture:{out['capture_id']}") in records

        # RFC 3161: the stored token verifies against the TSA's CA with openssl.
        [stamp] = out["timestamps"]
        assert stamp["ok"] and stamp["error"] is None and stamp["gen_time"] and stamp["signature_valid"]
        token = home / "token.tst"
        token.write_bytes(ws.vault.read_bytes(stamp["token_sha256"]))
        data = home / "manifest.json"
        data.write_bytes(ws.vault.read_bytes(out["manifest_sha256"]))
        verify = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-data",
                str(data),
                "-in",
                str(token),
                "-token_in",
                "-CAfile",
                str(local_tsa.ca_pem),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verify.returncode == 0 and "Verification: OK" in verify.stdout, verify.stdout + verify.stderr
        # ...and not for different bytes.
        data.write_bytes(b"tampered" + data.read_bytes())
        tampered = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-data",
                str(data),
                "-in",
                str(token),
                "-token_in",
                "-CAfile",
                str(local_tsa.ca_pem),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert tampered.returncode != 0
    finally:
        ws.close()

    # Custody: the capture shows in `log`, and `verify` re-hashes every artifact without warnings.
    log = cli("log", out["manifest_sha256"][:16])
    assert "capture_done" in log.output and "capture_timestamp" in log.output
    verified = cli.json_lines("verify", "--json")[0]
    assert verified["ok"] and not verified.get("warnings"), verified


def test_cli_refuses_local_address_without_allowlist(cli, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("IDOLGUARD_CAPTURE_ALLOW", raising=False)
    before = site.count("/post/refused")
    result = cli("capture", f"{site.base}/post/refused", "--no-screenshot", ok=False)
    assert result.exit_code == 1
    assert "refused" in result.output and "loopback" in result.output and "IDOLGUARD_CAPTURE_ALLOW" in result.output
    assert site.count("/post/refused") == before
    ftp = cli("capture", "ftp://example.com/x", "--no-screenshot", "--json", ok=False)
    assert ftp.exit_code == 2 and "only http and https" in ftp.output  # refused before any record


def test_allowlist_from_workspace_config(cli, home: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("IDOLGUARD_CAPTURE_ALLOW", raising=False)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("allow = []", 'allow = ["127.0.0.1"]'))
    [out] = cli.json_lines("capture", f"{site.base}/post/config", "--json", "--no-screenshot", "--no-analyze")
    assert out["status"] == 200 and out["state"] == "ok"


def test_self_signed_https_is_recorded_untrusted(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(
        workspace, [f"{site.https_base}/post/tls"], settings_for(workspace, browser=False), analyze_media=False
    )
    assert out.status == 200 and out.state == "partial"
    assert out.public()["tls_trusted"] is False
    assert any("not trusted" in e for e in out.errors)
    with workspace.sessions() as session:
        record = session.get(Capture, out.capture_id)
        assert record is not None and record.tls is not None
        chain = record.tls["chain"]
        assert chain[0]["pem"].startswith("-----BEGIN CERTIFICATE-----") and len(chain[0]["sha256"]) == 64
    assert len([m for m in out.media if m.sha256]) == 3  # media were still preserved over the same TLS


def test_hostile_page_cannot_reach_internal_network(workspace: Workspace, site: Site, allow_local: str, pool) -> None:  # type: ignore[no-untyped-def]
    before = site.count("internal:")
    [out] = capture_urls(workspace, [f"{site.base}/hostile"], settings_for(workspace), pool=pool, analyze_media=False)
    assert site.count("internal:") == before, "the browser reached the internal server"
    assert out.screenshot_sha256 is not None
    blocked = " ".join(b["url"] for b in out.blocked_requests)
    for path in ("/img.png", "/fetch", "/frame"):
        assert f"{site.internal}{path}" in blocked
    assert all("refused" in b["reason"] or "WebSocket" in b["reason"] for b in out.blocked_requests)
    assert any(b["url"].startswith(site.internal.replace("http", "ws")) for b in out.blocked_requests)
    assert out.browser["popups_closed"] >= 1 and out.browser["downloads_refused"] >= 1


def test_slow_loris_page_hits_the_per_url_time_limit(workspace: Workspace, site: Site, allow_local: str) -> None:
    started = time.monotonic()
    settings = settings_for(workspace, browser=False, timeout_s=4.0)
    [out] = capture_urls(workspace, [f"{site.base}/slow"], settings, analyze_media=False)
    assert time.monotonic() - started < 30  # the server would drip for a minute
    assert out.status == 200 and out.state == "partial", out.errors
    assert any("time limit" in e for e in out.errors), out.errors
    assert workspace.vault.read_bytes(out.page_sha256).startswith(b"<p>.")  # type: ignore[arg-type]


def test_page_that_never_finishes_loading_is_still_rendered(
    workspace: Workspace,
    site: Site,
    allow_local: str,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    started = time.monotonic()
    [out] = capture_urls(
        workspace,
        [f"{site.base}/never"],
        settings_for(workspace, browser_timeout_s=3.0, media=False),
        pool=pool,
        analyze_media=False,
    )
    assert time.monotonic() - started < 60  # the stalled image would hold the load event for two minutes
    assert out.screenshot_sha256 is not None and out.status == 200
    assert out.state == "partial" and out.errors


def test_media_count_limit_keeps_what_came_first(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(
        workspace, [f"{site.base}/post/limit"], settings_for(workspace, browser=False, max_media=1), analyze_media=False
    )
    assert [m.url.rsplit("/", 1)[1] for m in out.media] == ["clip.mp4"]
    assert out.media[0].sha256 is not None
    assert any("media limit of 1" in e for e in out.errors) and out.state == "partial"


def test_total_bytes_limit_is_a_clear_error(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = settings_for(workspace, browser=False, max_total_bytes=4000)
    [out] = capture_urls(workspace, [f"{site.base}/post/bytes"], settings, analyze_media=False)
    assert out.status == 200 and out.page_sha256 is not None  # the page came first and is kept
    assert any("total download limit of 4000 bytes" in e for e in out.errors)
    assert out.manifest_sha256 is not None and out.wacz_sha256 is not None


def test_huge_page_is_kept_truncated(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = settings_for(workspace, browser=False, max_html_bytes=256 * 1024)
    [out] = capture_urls(workspace, [f"{site.base}/huge"], settings, analyze_media=False)
    assert out.state == "partial" and any("per-file limit" in e for e in out.errors)
    assert len(workspace.vault.read_bytes(out.page_sha256)) == 256 * 1024  # type: ignore[arg-type]


def test_gzip_bomb_page_is_refused_not_inflated(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(workspace, [f"{site.base}/bomb"], settings_for(workspace, browser=False), analyze_media=False)
    assert any("compression bomb" in e for e in out.errors)
    assert out.manifest_sha256 is not None  # the compressed bytes as served are still archived


def test_redirect_loop_is_archived_with_error(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(workspace, [f"{site.base}/loop/a"], settings_for(workspace, browser=False))
    assert out.state == "error" and "redirect loop" in (out.error or "")
    assert [h["status"] for h in out.redirect_chain] == [302, 302]
    assert out.wacz_path and wacz_validate(Path(out.wacz_path)).returncode == 0


def test_direct_media_url_becomes_an_item(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(
        workspace, [f"{site.base}/media/photo.jpg"], settings_for(workspace, browser=False), analyze_media=False
    )
    assert out.state == "ok" and [m.media_type for m in out.media] == ["image"]
    assert out.media[0].sha256 == out.page_sha256


def test_unreachable_tsa_is_recorded_not_fatal(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = settings_for(workspace, browser=False, tsa_urls=[f"{site.base}/no-tsa-here", "http://10.0.0.1/tsa"])
    [out] = capture_urls(workspace, [f"{site.base}/post/tsa-fail"], settings, analyze_media=False)
    assert out.manifest_sha256 is not None and out.status == 200
    assert [t["ok"] for t in out.timestamps] == [False, False]
    assert "refused" in out.timestamps[1]["error"]


def test_script_that_never_yields_cannot_hang_the_capture(
    workspace: Workspace,
    site: Site,
    allow_local: str,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    started = time.monotonic()
    settings = settings_for(workspace, browser_timeout_s=3.0, media=False)
    [out] = capture_urls(workspace, [f"{site.base}/busy"], settings, pool=pool, analyze_media=False)
    assert time.monotonic() - started < 45  # a stuck renderer would otherwise hold the capture forever
    assert out.status == 200 and out.page_sha256 is not None and out.manifest_sha256 is not None
    assert any("did not finish loading" in e for e in out.errors)


def test_per_file_limit_skips_only_the_large_file(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = settings_for(workspace, browser=False, max_file_bytes=5000)
    [out] = capture_urls(workspace, [f"{site.base}/post/per-file"], settings, analyze_media=False)
    by_name = {m.url.rsplit("/", 1)[1]: m for m in out.media}
    assert by_name["clip.mp4"].sha256 is not None  # 3 KB: kept
    assert by_name["photo.jpg"].sha256 is None and "per-file limit of 5000" in (by_name["photo.jpg"].error or "")
    assert any("per-file limit of 5000" in e for e in out.errors)


def test_direct_media_larger_than_the_page_cap_is_fetched_whole(
    workspace: Workspace, site: Site, allow_local: str
) -> None:
    settings = settings_for(workspace, browser=False, max_html_bytes=1000)
    [out] = capture_urls(workspace, [f"{site.base}/media/photo.jpg"], settings, analyze_media=False)
    import hashlib

    assert out.media[0].sha256 == hashlib.sha256(site.media["/media/photo.jpg"]).hexdigest()


def test_a_crashing_step_fails_one_url_not_the_batch(
    workspace: Workspace, site: Site, allow_local: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: an unexpected exception in one capture is recorded and the next URL still runs."""
    from idolguard.capture import archive

    real = archive.build_wacz
    calls = []

    def crash_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(archive, "build_wacz", crash_once)
    first, second = capture_urls(
        workspace,
        [f"{site.base}/post/crash-1", f"{site.base}/post/crash-2"],
        settings_for(workspace, browser=False),
        analyze_media=False,
    )
    assert first.state == "error" and "internal error" in (first.error or "") and "disk on fire" in first.error
    assert second.state == "ok" and second.wacz_sha256 is not None
    with workspace.sessions() as session:
        assert session.get(Capture, first.capture_id).state == "error"  # type: ignore[union-attr]


def test_encrypted_vault_keeps_capture_artifacts_encrypted(
    tmp_path: Path, site: Site, allow_local: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With encryption at rest no plaintext WACZ copy is left outside the vault; everything reads back."""
    import os

    from idolguard.evidence import crypto
    from idolguard.workspace import init_workspace

    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True)
    ws = Workspace.open(home)
    try:
        [out] = capture_urls(ws, [f"{site.base}/post/encrypted"], settings_for(ws, browser=False), analyze_media=False)
        assert out.state == "ok" and out.wacz_sha256 is not None and out.wacz_path is None
        assert not (home / "captures").exists()
        for sha in (out.wacz_sha256, out.manifest_sha256, out.page_sha256):
            assert crypto.is_encrypted_file(ws.vault.path_for(sha))  # type: ignore[arg-type]
        assert json.loads(ws.vault.read_bytes(out.manifest_sha256))["capture_id"] == out.capture_id  # type: ignore[arg-type]
    finally:
        ws.close()


def test_error_status_page_is_preserved_and_flagged(workspace: Workspace, site: Site, allow_local: str) -> None:
    [out] = capture_urls(workspace, [f"{site.base}/gone"], settings_for(workspace, browser=False), analyze_media=False)
    assert out.status == 410 and out.state == "partial" and out.error == "the page answered HTTP 410 Gone"
    assert out.page_sha256 is not None and out.manifest_sha256 is not None


def test_browser_is_restarted_after_it_died(workspace: Workspace, site: Site, allow_local: str, pool) -> None:  # type: ignore[no-untyped-def]
    pool.browser().close()  # to Playwright, a crashed Chromium looks the same: disconnected
    [out] = capture_urls(
        workspace, [f"{site.base}/post/restart"], settings_for(workspace, media=False), pool=pool, analyze_media=False
    )
    assert out.screenshot_sha256 is not None and out.state == "ok"


def test_large_media_are_streamed_through_disk(workspace: Workspace, site: Site, allow_local: str, pool) -> None:  # type: ignore[no-untyped-def]
    """A body over the in-memory threshold is spooled to a file, hashed, archived and served to Chromium."""
    import hashlib
    import zipfile

    from warcio.archiveiterator import ArchiveIterator

    from idolguard.capture.fetch import SPOOL_BYTES
    from idolguard.capture.service import CaptureJob

    big = site.media["/media/big.mp4"]
    assert len(big) > SPOOL_BYTES
    job = CaptureJob(workspace, f"{site.base}/bigpost", settings_for(workspace), pool, None, analyze_media=False)
    out = job.run()
    assert job.cache[f"{site.base}/media/big.mp4"].body_file is not None  # it never sat in memory
    [video] = out.media
    assert video.sha256 == hashlib.sha256(big).hexdigest() and video.media_type == "video"
    assert out.screenshot_sha256 is not None and not [e for e in out.errors if "big.mp4" in e]
    with zipfile.ZipFile(out.wacz_path) as bundle:  # type: ignore[arg-type]
        [warc_name] = [n for n in bundle.namelist() if n.endswith(".warc.gz")]
        sizes = [
            len(r.content_stream().read())
            for r in ArchiveIterator(bundle.open(warc_name))
            if r.rec_type == "response" and r.rec_headers.get_header("WARC-Target-URI").endswith("/big.mp4")
        ]
    assert sizes == [len(big)]  # archived once, whole
