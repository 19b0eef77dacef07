"""A preview requested while ``vault rekey`` gives its object an item key is never left cached under the old
(vault) key: the preview is keyed and written under the vault lock, so it lands either before the swap (and is
dropped with the swap's previews) or after it (under the key derived from the new item key).

The interleaving is forced, not hoped for: the preview's encryption step waits until a real ``rekey_vault``
has had the chance to swap the object and drop its previews (it cannot while the preview holds the lock)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from idolguard.errors import IntegrityError
from idolguard.evidence import crypto
from tests.cases.helpers import ingest_images, set_config_table
from tests.evidence.test_rekey import _make_legacy


def _opens_with(path: Path, key: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            b"".join(crypto.decrypt_stream(key, handle, path.name))
    except IntegrityError:
        return False
    return True


def test_preview_requested_during_rekey_is_not_left_under_the_vault_key(
    cli, home: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from idolguard.core.rekey import rekey_vault
    from idolguard.web import previews
    from idolguard.workspace import Workspace

    master = os.urandom(32)
    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", master.hex())
    [sha] = ingest_images(cli, tmp_path / "m", 1)
    ws = Workspace.open(home)
    _make_legacy(ws.vault, sha, master)  # an object from before per-item keys: its preview key is the vault key
    assert ws.vault.cache_key(sha, "preview") == master

    in_window, go = threading.Event(), threading.Event()
    real_encrypt = crypto.encrypt_stream

    def encrypt_stream(key, chunks, out):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "preview":
            in_window.set()  # the key is chosen, the file not written yet
            go.wait(timeout=60)
        return real_encrypt(key, chunks, out)

    monkeypatch.setattr(crypto, "encrypt_stream", encrypt_stream)
    failures: list[BaseException] = []

    def run(target):  # type: ignore[no-untyped-def]
        def body() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                failures.append(exc)

        return body

    preview = threading.Thread(target=run(lambda: previews.preview_png(ws, sha, "image")), name="preview")
    rekey = threading.Thread(target=run(lambda: rekey_vault(ws)), name="rekey")
    preview.start()
    assert in_window.wait(timeout=60)
    rekey.start()
    rekey.join(timeout=3)  # time for the rekey to swap and drop previews, unless the preview's lock holds it
    go.set()
    preview.join(timeout=60)
    rekey.join(timeout=60)
    assert not preview.is_alive() and not rekey.is_alive()
    assert not failures, failures
    assert ws.vault.source_format(sha) == "item"  # the rekey did happen
    item_preview_key = ws.vault.cache_key(sha, "preview")
    assert item_preview_key is not None and item_preview_key != master
    cached = list((ws.home / "cache" / "previews").glob(f"*/{sha}*"))
    stale = [p.name for p in cached if _opens_with(p, master)]
    assert stale == [], "a preview is left encrypted under the vault key after the rekey"
    assert all(_opens_with(p, item_preview_key) for p in cached)
    # Shown again: made (or read) under the item-derived key, the same blurred image.
    shown = previews.preview_png(ws, sha, "image")
    [made] = list((ws.home / "cache" / "previews").glob(f"*/{sha}*"))
    assert _opens_with(made, item_preview_key) and not _opens_with(made, master)
    assert previews.preview_png(ws, sha, "image") == shown
    ws.close()


def test_preview_of_an_object_erased_meanwhile_is_not_cached(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A preview made from an object that is destroyed before the preview is stored is not cached at all (its
    item key is gone, and the vault key must not stand in for it)."""
    from idolguard.web import previews
    from idolguard.workspace import Workspace

    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    [sha] = ingest_images(cli, tmp_path / "m", 1)
    ws = Workspace.open(home)
    real_blur = previews.blur_image

    def blur_then_erase(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_blur(*args, **kwargs)
        ws.vault.erase(sha)  # a destruction lands while the preview is being made
        return out

    monkeypatch.setattr(previews, "blur_image", blur_then_erase)
    previews.preview_png(ws, sha, "image")
    assert not ws.vault.has(sha)
    assert list((ws.home / "cache" / "previews").glob(f"*/{sha}*")) == []
    ws.close()
