"""Multi-scale references: how enrolment embeds them, and ``artists reembed`` converting an older gallery.

The older gallery is made the way older versions enrolled: each reference's vector is the crop + mirror
embedding of the crop stored in the vault, with no ``reference_embedding`` field.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from idolguard.db.models import LedgerEntry
from idolguard.faces.analysis import REFERENCE_EMBEDDING, FaceAnalyzer, reference_embeddings
from idolguard.gallery.matching import (
    LEGACY_REFERENCE_EMBEDDING,
    MATCH,
    POSSIBLE,
    REFERENCE_MISMATCH,
    GalleryIndex,
    MatchParams,
)
from idolguard.gallery.models import ArtistReference
from idolguard.workspace import Workspace
from tests.conftest import astronaut
from tests.faces.helpers import jpeg, save


def _enrol(cli, tmp_path: Path, name: str = "Eileen Collins") -> dict:  # type: ignore[no-untyped-def]
    refs = tmp_path / f"refs-{name.split()[0]}"
    refs.mkdir()
    # Another artist gets the same pixels in other files (a JPEG comment naming the artist): a look-alike with
    # the very same vectors. The very same file would be refused (one photo cannot be two artists' reference).
    marked = {} if name == "Eileen Collins" else {"comment": f"enrolled as {name}".encode()}
    save(astronaut(), refs / "portrait.jpg", **marked)
    save(astronaut().crop((60, 0, 460, 400)).resize((300, 300)), refs / "closer.jpg", **marked)
    return cli.json_lines("artists", "add", name, "--photos", refs, "--json")[0]  # type: ignore[no-any-return]


def _rows(ws: Workspace) -> list[ArtistReference]:
    with ws.sessions() as session:
        rows = session.execute(select(ArtistReference).order_by(ArtistReference.photo_sha256)).scalars().all()
        for row in rows:
            session.expunge(row)
    return list(rows)


def _make_legacy(ws: Workspace) -> dict[str, np.ndarray]:
    """Turn every stored reference into what an older enrolment stored: crop + mirror of its stored crop."""
    analyzer = FaceAnalyzer()
    assert analyzer.embedder is not None
    old: dict[str, np.ndarray] = {}
    with ws.write() as (session, _ledger):
        for row in session.execute(select(ArtistReference)).scalars():
            crop = np.asarray(Image.open(io.BytesIO(ws.vault.read_bytes(row.crop_sha256))).convert("RGB"))
            vector = reference_embeddings(analyzer.embedder, [crop])[0]
            row.embedding = np.asarray(vector, "<f4").tobytes()
            row.face = {k: v for k, v in dict(row.face).items() if k != "reference_embedding"}
            old[row.photo_sha256] = vector
    return old


def _events(ws: Workspace, action: str) -> list[dict]:  # type: ignore[type-arg]
    with ws.sessions() as session:
        lines = session.execute(select(LedgerEntry.line).where(LedgerEntry.action == action)).scalars().all()
    return [json.loads(line)["details"] for line in lines]


def test_enrolment_stores_multiscale_vectors_and_says_so(cli, tmp_path, workspace):
    result = _enrol(cli, tmp_path)
    assert result["accepted"] == 2
    rows = _rows(workspace)
    assert [r.face["reference_embedding"] for r in rows] == [REFERENCE_EMBEDDING] * 2
    analyzer = FaceAnalyzer()
    assert analyzer.embedder is not None
    for row in rows:
        stored = np.frombuffer(row.embedding, "<f4")
        crop = np.asarray(Image.open(io.BytesIO(workspace.vault.read_bytes(row.crop_sha256))).convert("RGB"))
        two_view = reference_embeddings(analyzer.embedder, [crop])[0]
        # unit vector, close to but not the crop + mirror vector: the extra scales moved it
        assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-4
        assert 0.9 < float(stored @ two_view) < 0.9999
    enrol = _events(workspace, "gallery.enrol")[0]
    assert enrol["reference_embedding"] == [REFERENCE_EMBEDDING]
    shown = cli.json_lines("artists", "show", "Eileen Collins", "--json")[0]
    assert {r["reference_embedding"] for r in shown["references"]} == {REFERENCE_EMBEDDING}
    assert shown["reembed_needed"] == 0
    # nothing to re-embed on a fresh gallery: no event, nothing changed
    again = cli.json_lines("artists", "reembed", "--json")
    assert again == [{**again[0], "artist": "Eileen Collins", "pending": 0, "converted": 0, "already": 2, "kept": []}]
    assert _events(workspace, "gallery.reembed") == []


def test_shipped_calibration_names_its_reference_embedding():
    assert MatchParams.shipped().reference_embedding == REFERENCE_EMBEDDING


def test_mismatched_references_are_never_a_match_but_still_found():
    rng = np.random.default_rng(3)
    refs = rng.normal(size=(4, 128)).astype(np.float32)
    refs /= np.linalg.norm(refs, axis=1, keepdims=True)
    owners = np.array([0, 0, 1, 1])
    params = MatchParams(match_threshold=0.5, possible_threshold=0.4, reference_embedding=REFERENCE_EMBEDDING)
    probe = refs[2] + refs[3]
    probe /= np.linalg.norm(probe)
    fitted = GalleryIndex(["a", "b"], refs, owners, params=params, reference_kinds=[REFERENCE_EMBEDDING] * 4)
    kinds = [REFERENCE_EMBEDDING, REFERENCE_EMBEDDING, LEGACY_REFERENCE_EMBEDDING, REFERENCE_EMBEDDING]
    mixed = GalleryIndex(["a", "b"], refs, owners, params=params, reference_kinds=kinds)
    good, capped = fitted.match(probe[None, :])[0], mixed.match(probe[None, :])[0]
    assert good.decision == MATCH and good.artist == "b" and good.review_reason is None
    assert capped.decision == POSSIBLE and capped.artist == "b" and capped.similarity == good.similarity
    assert capped.as_dict()["review_reason"] == REFERENCE_MISMATCH
    # the other artist's faces are unaffected
    own = refs[0] + refs[1]
    assert mixed.match((own / np.linalg.norm(own))[None, :])[0].decision == MATCH


def test_reembed_converts_an_older_gallery_from_the_vault(cli, tmp_path, workspace, home):
    _enrol(cli, tmp_path)
    _enrol(cli, tmp_path, "Sally Ride")  # the same face: a look-alike, so neither is a certain match
    enrolled = {(r.artist_id, r.photo_sha256): np.frombuffer(r.embedding, "<f4").copy() for r in _rows(workspace)}
    old = _make_legacy(workspace)
    media = tmp_path / "media"
    media.mkdir()
    (media / "repost.jpg").write_bytes(jpeg(astronaut().resize((400, 400)), quality=60))

    listed = cli("artists", "list")
    assert "artists reembed" in listed.output
    rows = cli.json_lines("artists", "list", "--json")
    assert [r["reembed_needed"] for r in rows] == [2, 2]
    before = cli.json_lines("scan", media, "--json")[0]["faces"][0]
    assert before["decision"] != MATCH
    assert before.get("review_reason") == REFERENCE_MISMATCH or before["decision"] == POSSIBLE

    dry = cli.json_lines("artists", "reembed", "--dry-run", "--json")
    assert [(d["artist"], d["pending"], d["dry_run"]) for d in dry] == [
        ("Eileen Collins", 2, True),
        ("Sally Ride", 2, True),
    ]
    assert _events(workspace, "gallery.reembed") == []
    assert {r.photo_sha256: np.frombuffer(r.embedding, "<f4").tolist() for r in _rows(workspace)} == {
        k: v.tolist() for k, v in old.items()
    }, "dry run wrote nothing"

    done = cli.json_lines("artists", "reembed", "Eileen Collins", "--json")
    assert [(d["artist"], d["converted"], d["kept"]) for d in done] == [("Eileen Collins", 2, [])]
    assert all(r["same_crop"] for r in done[0]["references"])
    events = _events(workspace, "gallery.reembed")
    assert len(events) == 1 and events[0]["artist"] == "Eileen Collins"
    assert events[0]["reference_embedding"] == REFERENCE_EMBEDDING and len(events[0]["references"]) == 2
    # resumed: only the other artist is left
    rest = cli.json_lines("artists", "reembed", "--json")
    assert [(d["artist"], d["converted"], d["already"]) for d in rest] == [
        ("Eileen Collins", 0, 2),
        ("Sally Ride", 2, 0),
    ]
    rows_now = _rows(workspace)
    assert len(rows_now) == 4, "never two vectors for one reference"
    for row in rows_now:
        assert row.face["reference_embedding"] == REFERENCE_EMBEDDING
        # re-embedded from the vault like a fresh enrolment of the same photo
        fresh = enrolled[(row.artist_id, row.photo_sha256)]
        assert float(np.frombuffer(row.embedding, "<f4") @ fresh) > 0.9999
    assert len(_events(workspace, "gallery.reembed")) == 2
    # idempotent: nothing more to do, no event
    assert [d["converted"] for d in cli.json_lines("artists", "reembed", "--json")] == [0, 0]
    assert len(_events(workspace, "gallery.reembed")) == 2
    assert "artists reembed" not in cli("artists", "list").output
    # the stored face result is re-matched under the new gallery (its revision changed)
    after = cli.json_lines("scan", media, "--json")[0]["faces"][0]
    assert after.get("review_reason") != REFERENCE_MISMATCH
    assert cli("verify").exit_code == 0


def test_reembed_resumes_after_a_crash_midway(cli, tmp_path, workspace, monkeypatch):
    _enrol(cli, tmp_path)
    _enrol(cli, tmp_path, "Sally Ride")
    _make_legacy(workspace)
    from idolguard.faces import reembed as module

    calls = {"n": 0}
    real = module._embed_from_vault

    def crash_on_third(ws, ref, analyzer):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed while embedding the second artist
        return real(ws, ref, analyzer)

    monkeypatch.setattr(module, "_embed_from_vault", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        module.reembed_references(workspace, FaceAnalyzer())
    kinds = sorted((r.artist_id, r.face.get("reference_embedding")) for r in _rows(workspace))
    assert [k for _a, k in kinds] == [REFERENCE_EMBEDDING, REFERENCE_EMBEDDING, None, None]
    monkeypatch.setattr(module, "_embed_from_vault", real)
    reports = module.reembed_references(workspace, FaceAnalyzer())
    assert [(r.artist, len(r.converted), r.already) for r in reports] == [
        ("Eileen Collins", 0, 2),
        ("Sally Ride", 2, 0),
    ]
    rows = _rows(workspace)
    assert len(rows) == 4 and {r.face["reference_embedding"] for r in rows} == {REFERENCE_EMBEDDING}
    with workspace.sessions() as session:
        per_photo = (
            session.execute(
                select(func.count())
                .select_from(ArtistReference)
                .group_by(ArtistReference.artist_id, ArtistReference.photo_sha256)
            )
            .scalars()
            .all()
        )
    assert set(per_photo) == {1}


def test_reembed_keeps_a_reference_whose_photo_left_the_vault(cli, tmp_path, workspace):
    _enrol(cli, tmp_path)
    old = _make_legacy(workspace)
    gone = sorted(old)[0]
    os.remove(workspace.vault.path_for(gone))
    result = cli("artists", "reembed", "--json", ok=False)
    assert result.exit_code == 1
    report = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")][0]
    assert report["converted"] == 1 and [k["photo"] for k in report["kept"]] == [gone]
    assert report["kept"][0]["code"] == "reembed.vault_missing"
    by_photo = {r.photo_sha256: r for r in _rows(workspace)}
    assert "reference_embedding" not in by_photo[gone].face
    assert np.frombuffer(by_photo[gone].embedding, "<f4").tolist() == old[gone].tolist(), "kept as it was"
    event = _events(workspace, "gallery.reembed")[0]
    assert [k["photo"] for k in event["kept"]] == [gone]
    # the artist still holds an old vector: still flagged
    assert cli.json_lines("artists", "list", "--json")[0]["reembed_needed"] == 1
    korean = cli("--lang", "ko", "artists", "reembed", ok=False)
    assert "보관소" in korean.output


def test_reembed_reads_an_encrypted_vault(cli, tmp_path, home, monkeypatch):
    from tests.cases.helpers import set_config_table

    set_config_table(home, "vault", 'encrypt = true\nkey_file = ""')
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    ws = Workspace.open(home)
    try:
        _enrol(cli, tmp_path)
        photo = _rows(ws)[0].photo_sha256
        assert ws.vault.path_for(photo).read_bytes()[:2] != b"\xff\xd8", "stored encrypted"
        _make_legacy(ws)
        done = cli.json_lines("artists", "reembed", "--json")
        assert done[0]["converted"] == 2 and done[0]["kept"] == []
        assert {r.face["reference_embedding"] for r in _rows(ws)} == {REFERENCE_EMBEDDING}
    finally:
        ws.close()


def test_reembed_of_the_newest_reference_alone_changes_the_gallery_revision(cli, tmp_path, workspace):
    """Review s8 finding 4: converting exactly one reference that is the newest row (e.g. one kept earlier
    because its photo could not be read, re-run after the vault was repaired) replaces it by a row that, on
    SQLite, takes the same id again: count and max id stay the same. The revision must still change (it
    fingerprints the stored vectors), so stored face results are re-matched and a running server reloads."""
    from idolguard.faces.reembed import reembed_references
    from idolguard.gallery.store import cached_index, gallery_revision

    _enrol(cli, tmp_path)
    with workspace.write() as (session, _ledger):
        newest = session.execute(select(ArtistReference).order_by(ArtistReference.id.desc())).scalars().first()
        assert newest is not None
        newest_id, newest_photo = newest.id, newest.photo_sha256
    old = _make_legacy(workspace)
    with workspace.write() as (session, _ledger):  # only the newest reference is of the older kind
        for row in session.execute(select(ArtistReference)).scalars():
            if row.id != newest_id:
                row.face = {**dict(row.face), "reference_embedding": REFERENCE_EMBEDDING}
    before = gallery_revision(workspace)
    embedder = _rows(workspace)[0].embedder
    assert cached_index(workspace, embedder).revision == before and cached_index(workspace, embedder).mismatched.all()
    reports = reembed_references(workspace, FaceAnalyzer())
    assert [len(r.converted) for r in reports] == [1]
    row = next(r for r in _rows(workspace) if r.photo_sha256 == newest_photo)
    assert np.frombuffer(row.embedding, "<f4").tolist() != old[newest_photo].tolist()
    if workspace.config.db_url.startswith("sqlite"):
        assert row.id == newest_id, "SQLite handed the replacement the freed id (the case of the finding)"
    after = gallery_revision(workspace)
    assert after != before
    index = cached_index(workspace, embedder)
    assert index.revision == after and not index.mismatched.any(), "the running server's index is reloaded"
