"""The spine end to end: scan a folder, get one JSON object per file, verify the evidence."""

from __future__ import annotations


def test_scan_json_has_the_interface_fields(cli, media_dir):
    objects = cli.json_lines("scan", media_dir, "--json")
    assert len(objects) == 4
    by_name = {o["path"].rsplit("/", 1)[-1]: o for o in objects}
    image = by_name["a.jpg"]
    assert image["media_type"] == "image" and (image["width"], image["height"]) == (320, 240)
    assert len(image["sha256"]) == 64 and image["error"] is None
    assert image["stages"]["probe"] == "2"
    clip = by_name["clip.mp4"]
    assert clip["media_type"] == "video" and 0.8 < clip["duration_s"] < 1.3
    assert cli("verify").exit_code == 0
