"""Video face tracks through ``scan``, and the evaluation commands on tiny generated data sets."""

from __future__ import annotations

import csv

from tests.conftest import astronaut, jpeg_bytes
from tests.faces.helpers import save, write_face_clip


def test_video_face_becomes_one_track_with_its_frames(cli, tmp_path, workspace):
    clip = write_face_clip(tmp_path / "clip.mp4", seconds=3.0)
    obj = cli.json_lines("scan", clip, "--json")[0]
    assert obj["error"] is None and obj["stages"]["faces"]
    assert len(obj["faces"]) == 1, obj["faces"]
    face = obj["faces"][0]
    assert face["track_id"] == 0 and face["frame_t"] is not None and 0.0 <= face["frame_t"] <= 3.0
    track = obj["face_tracks"][0]
    assert track["track_id"] == 0 and len(track["frames"]) >= 3
    times = [f["t"] for f in track["frames"]]
    assert times == sorted(times)
    xs = [f["bbox"][0] for f in track["frames"]]
    assert xs[-1] > xs[0] + 100, "the head drifts right; the track follows it"
    assert workspace.vault.has(face["crop_sha256"])


def test_video_track_matches_enrolled_artist_and_damaged_video_still_analysed(cli, tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    save(astronaut(), refs / "a.jpg")
    cli("artists", "add", "Eileen", "--photos", refs)
    clip = write_face_clip(tmp_path / "clip.mp4", seconds=3.0)
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 600] = bytes(600)  # zero a stretch of packets in the middle
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    results = {r["path"].rsplit("/", 1)[-1]: r for r in cli.json_lines("identify", clip, damaged, "--json")}
    assert results["clip.mp4"]["faces"][0]["artist"] == "Eileen"
    assert results["clip.mp4"]["faces"][0]["decision"] in ("match", "possible")
    assert results["damaged.mp4"]["error"] is None and len(results["damaged.mp4"]["faces"]) >= 1


def _write(path, header, rows):  # type: ignore[no-untyped-def]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_eval_faces_and_gallery_report_per_item_and_summary(cli, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    save(astronaut(), root / "a1.jpg")
    save(astronaut().resize((300, 300)), root / "a2.jpg", quality=50)
    save(astronaut().transpose(0), root / "a3.jpg")  # mirrored
    (root / "shapes.jpg").write_bytes(jpeg_bytes(3, (320, 240)))
    pairs = _write(
        tmp_path / "pairs.csv",
        ("a", "b", "same"),
        [("a1.jpg", "a2.jpg", 1), ("a1.jpg", "a3.jpg", 1), ("a2.jpg", "shapes.jpg", 0)],
    )
    lines = cli.json_lines("eval", "faces", "--pairs", pairs, "--root", root, "--json")
    per_pair, summary = lines[:-1], lines[-1]
    assert [p["decision"] for p in per_pair] == ["same", "same", "no_face"]
    assert per_pair[0]["similarity"] > 0.7
    assert summary["pairs"] == 3 and summary["pairs_without_face"] == 1
    assert abs(summary["accuracy"] - 2 / 3) < 1e-9

    gallery = _write(tmp_path / "gallery.csv", ("path", "identity"), [("a1.jpg", "eileen")])
    probes = _write(
        tmp_path / "probes.csv",
        ("path", "identity"),
        [("a2.jpg", "eileen"), ("a3.jpg", "eileen"), ("shapes.jpg", "someone")],
    )
    lines = cli.json_lines("eval", "gallery", "--gallery", gallery, "--probes", probes, "--root", root, "--json")
    rows, summary = lines[:-1], lines[-1]
    assert [r["artist"] for r in rows[:2]] == ["eileen", "eileen"]
    assert rows[2]["decision"] == "no_face" and rows[2]["enrolled"] is False
    assert summary["artists"] == 1 and summary["genuine_probes"] == 2 and summary["impostor_probes"] == 1
    assert summary["rank1_identification_rate"] == 1.0 and summary["false_accept_rate"] == 0.0
    low, high = summary["rank1_identification_rate_95ci"]
    assert 0.0 < low < 1.0 == high, "two probes: a wide interval"
    assert summary["false_accept_rate_95ci"][0] == 0.0 and summary["false_accept_rate_95ci"][1] > 0.5

    bad = _write(tmp_path / "bad.csv", ("x", "y"), [("a", "b")])
    result = cli("eval", "faces", "--pairs", bad, "--root", root, ok=False)
    assert result.exit_code == 2 and "missing column" in result.output


def test_calibrate_faces_puts_the_threshold_above_the_impostors(cli, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    save(astronaut(), root / "ref.jpg")
    save(astronaut().resize((320, 320)), root / "probe.jpg", quality=70)
    save(astronaut().rotate(8), root / "lookalike.jpg")  # labelled as someone else: an impostor for this test
    gallery = _write(tmp_path / "g.csv", ("path", "identity"), [("ref.jpg", "eileen")])
    probes = _write(tmp_path / "p.csv", ("path", "identity"), [("probe.jpg", "eileen"), ("lookalike.jpg", "other")])
    result = cli.json_lines("calibrate", "faces", "--gallery", gallery, "--probes", probes, "--root", root, "--json")[0]
    rows = cli.json_lines("eval", "gallery", "--gallery", gallery, "--probes", probes, "--root", root, "--json")
    impostor_score = next(r["score"] for r in rows if r.get("identity") == "other")
    assert result["match_threshold"] > impostor_score
    assert result["impostor_probes"] == 1 and "[faces.matching]" in result["toml"]


def test_audio_only_file_is_a_clear_per_file_error(cli, tmp_path):
    import av
    import numpy as np

    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = (np.sin(np.arange(16000) / 10) * 3000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    result = cli.json_lines("identify", path, "--json", ok=False)[0]
    assert result["error"] and result["faces"] == []
