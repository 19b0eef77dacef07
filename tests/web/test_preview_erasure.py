"""No blurred preview outlives its object's destruction, whatever the vault's format:

- a preview made while the object is erased (the decode takes seconds for a video) is not cached afterwards,
  in a plaintext vault too (stored under the vault lock, only while the object is still there);
- a cached preview whose object is gone is deleted instead of served, and ``verify`` warns about it;
- the hidden temporary file of a preview write (``.{sha}...tmp``) is deleted with the object's previews by an
  erasure and a rekey's drop, and a stale one (a process killed mid-write) by the sweep ``serve`` runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.cases.helpers import ingest_images, set_config_table


def _verify(cli) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("verify", "--json", ok=False)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plaintext_preview_made_during_an_erasure_is_not_cached(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idolguard.cases.retention import erase_files
    from idolguard.web import previews
    from idolguard.workspace import Workspace

    [sha] = ingest_images(cli, tmp_path / "m", 1)
    ws = Workspace.open(home)
    assert not ws.vault.encrypted
    real_blur = previews.blur_image

    def blur_then_erase(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_blur(*args, **kwargs)
        erase_files(ws, [sha], [])  # `cases destroy` erases the object and clears its previews meanwhile
        return out

    monkeypatch.setattr(previews, "blur_image", blur_then_erase)
    previews.preview_png(ws, sha, "image")
    assert not ws.vault.has(sha)
    assert ws.cached_previews(sha) == []
    ws.close()


def test_cached_preview_of_a_gone_object_is_not_served_and_verify_warns(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.web import previews
    from idolguard.workspace import Workspace

    [sha] = ingest_images(cli, tmp_path / "m", 1)
    ws = Workspace.open(home)
    shown = previews.preview_png(ws, sha, "image")
    [cached] = ws.cached_previews(sha)
    assert previews.preview_png(ws, sha, "image") == shown  # served from the cache while the object is there
    assert not [w for w in _verify(cli)["warnings"] if "cached preview" in w["message"]]
    ws.vault.erase(sha)  # the object goes, its preview stays (as a preview written after a cleanup would)
    report = _verify(cli)
    [warning] = [w for w in report["warnings"] if "cached preview" in w["message"]]
    assert warning["ref"] == sha and cached.name in warning["message"]
    again = previews.preview_png(ws, sha, "image")
    assert again != shown  # the grey placeholder, not the blurred derivative of the erased object
    assert ws.cached_previews(sha) == []
    assert not [w for w in _verify(cli)["warnings"] if "cached preview" in w["message"]]
    ws.close()


def _temp_preview(ws, sha: str, age_s: float) -> Path:  # type: ignore[no-untyped-def]
    """A hidden temporary preview file as a write killed ``age_s`` seconds ago leaves it."""
    from idolguard.web import previews

    target = previews._cache_path(ws, sha, "image")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.4242.99.tmp")
    tmp.write_bytes(b"half a png")
    then = time.time() - age_s
    os.utime(tmp, (then, then))
    return tmp


def test_erasure_and_rekey_drop_temporary_preview_files(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idolguard.cases.retention import erase_files
    from idolguard.core.rekey import _drop_previews
    from idolguard.workspace import Workspace

    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    first, second, kept = ingest_images(cli, tmp_path / "m", 3)
    ws = Workspace.open(home)
    left = {sha: _temp_preview(ws, sha, 0) for sha in (first, second, kept)}
    erase_files(ws, [first], [])
    assert not left[first].exists()
    _drop_previews(ws, second)
    assert not left[second].exists()
    assert left[kept].exists()  # another object's file is not touched
    ws.close()


def test_stale_temporary_previews_are_swept_at_worker_start(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.server.queues import Worker
    from idolguard.workspace import Workspace

    old, fresh = ingest_images(cli, tmp_path / "m", 2)
    ws = Workspace.open(home)
    stale, in_progress = _temp_preview(ws, old, 3600), _temp_preview(ws, fresh, 0)
    worker = Worker(ws)
    worker.start()
    worker.stop()
    assert not stale.exists()
    assert in_progress.exists()  # may be a write in progress in another process: left alone
    ws.close()
