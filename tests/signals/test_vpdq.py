from __future__ import annotations

from pathlib import Path

import pytest

from idolguard.signals import vpdq
from tests.signals.helpers import other_photo, photo, write_video


def test_features_follow_meta_sampling(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "v.mp4", photo(), seconds=4, fps=10)
    features = vpdq.hash_video(clip)
    assert [f.frame for f in features] == [0, 10, 20, 30]
    assert [f.timestamp for f in features] == [0.0, 1.0, 2.0, 3.0]
    assert all(f.quality >= 50 for f in features)
    text = vpdq.to_threatexchange(features)
    assert [f.hex for f in vpdq.from_threatexchange(text)] == [f.hex for f in features]


def test_luma_plane_hash_is_close_to_rgb_reference(tmp_path: Path) -> None:
    import av
    import numpy as np

    from idolguard.signals.pdq import hamming_hex, hash_array

    clip = write_video(tmp_path / "v.mp4", photo(), seconds=2, fps=10)
    features = vpdq.hash_video(clip)
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert hamming_hex(features[0].hex, hash_array(np.ascontiguousarray(first)).hex) <= 10


@pytest.mark.slow
def test_trimmed_reencoded_clip_matches_with_time_ranges(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = write_video(tmp_path / "full.mp4", photo(), seconds=12, fps=10, size=(320, 240))
    trimmed = write_video(tmp_path / "trim.mp4", photo(), seconds=5, fps=10, size=(240, 180), start=4.0)
    unrelated = write_video(tmp_path / "other.mp4", other_photo(), seconds=5, fps=10)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    added = cli.json_lines("bank", "add", "abuse", full, "--json")[0]
    assert len(added["entries"]) == 3  # sha256, md5, vpdq
    result = cli.json_lines("match", trimmed, unrelated, "--json")
    by_name = {Path(r["path"]).name: r for r in result}
    matches = by_name["trim.mp4"]["matches"]
    assert [m["signal_type"] for m in matches] == ["vpdq"]
    assert matches[0]["query_match_percent"] >= 80
    ((start, end),) = matches[0]["bank_ranges"]
    assert 3.0 <= start <= 5.0 and 7.0 <= end <= 9.0
    assert by_name["other.mp4"]["matches"] == []
    scanned = cli.json_lines("scan", trimmed, "--json")[0]
    assert scanned["vpdq"]["frames_hashed"] == 5 and scanned["matches"][0]["signal_type"] == "vpdq"
