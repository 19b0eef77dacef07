"""Typed settings: config.toml validated against every area's settings class, with key and line in errors;
`config show` with sources; `init` writes every section; the values that change an output are recorded."""

from __future__ import annotations

import json
import tomllib

import pytest

from idolguard.config import load_config
from idolguard.errors import WorkspaceError
from idolguard.settings import all_settings_classes, default_config_text, effective, validate


def test_every_area_declares_its_settings_and_init_writes_them_all(home):
    sections = {cls.section for cls in all_settings_classes()}
    assert {"workspace", "vault", "limits", "capture", "detect", "faces", "faces.matching", "signals"} <= sections
    text = (home / "config.toml").read_text(encoding="utf-8")
    for section in sections:
        assert f"[{section}]" in text
    assert "# Sample one video frame every N seconds." in text  # help becomes a comment
    assert validate(tomllib.loads(text), text) == []
    assert text == default_config_text()


def _write(home, text):
    (home / "config.toml").write_text(text, encoding="utf-8")


def test_an_unknown_key_is_an_error_naming_key_and_line(home):
    _write(home, "[workspace]\nactor = 'a'\n\n[faces]\nevry_s = 2.0\n")
    with pytest.raises(WorkspaceError) as caught:
        load_config(home)
    message = str(caught.value)
    assert "config.toml:5" in message and "'evry_s'" in message and "did you mean 'every_s'" in message


def test_a_wrong_type_is_an_error_naming_key_and_line(home):
    _write(home, '[limits]\nmax_file_bytes = "big"\n[detect]\nlikely_threshold = true\n')
    with pytest.raises(WorkspaceError) as caught:
        load_config(home)
    message = str(caught.value)
    assert "config.toml:2: [limits] max_file_bytes must be integer, not 'big'" in message
    assert "config.toml:4: [detect] likely_threshold must be number, not True" in message


def test_an_unknown_section_is_an_error(home):
    _write(home, "[captrue]\nallow = []\n")
    with pytest.raises(WorkspaceError, match=r"config.toml:1: unknown section \[captrue\]"):
        load_config(home)


def test_subsection_keys_are_checked_too(home):
    _write(home, "[faces]\nevery_s = 0.5\n\n[faces.matching]\nmatch_threshold = 0.6\nmatch_treshold = 0.6\n")
    with pytest.raises(WorkspaceError, match=r"config.toml:6: unknown key 'match_treshold' in \[faces.matching\]"):
        load_config(home)


def test_config_show_prints_values_with_their_source(cli, home, monkeypatch):
    _write(home, "[faces]\nevery_s = 0.5\n")
    monkeypatch.setenv("IDOLGUARD_ACTOR", "analyst@agency")
    rows = cli.json_lines("config", "show", "--json")
    by_name = {f"{r['section']}.{r['key']}": r for r in rows}
    assert by_name["faces.every_s"] == {"section": "faces", "key": "every_s", "value": 0.5, "source": "file"}
    assert by_name["faces.max_frames"]["source"] == "default" and by_name["faces.max_frames"]["value"] == 300
    assert by_name["workspace.actor"]["value"] == "analyst@agency"
    assert by_name["workspace.actor"]["source"] == "environment"
    text = cli("config", "show").output
    assert "faces.every_s" in text and "0.5  (file)" in text


def test_environment_lists_add_to_the_file(home, monkeypatch):
    _write(home, "[capture]\nallow = ['10.0.0.1']\n")
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1, example.test")
    values = {(v.section, v.key): v for v in effective(load_config(home).raw)}
    assert values[("capture", "allow")].value == ["10.0.0.1", "127.0.0.1", "example.test"]
    assert values[("capture", "allow")].source == "environment"


def test_a_bad_config_is_a_workspace_error_exit_4(cli, home):
    _write(home, "[faces]\nmax_frames = 'many'\n")
    result = cli("config", "show", ok=False)
    assert result.exit_code == 4
    assert "max_frames must be integer" in result.output


def test_faces_output_records_the_video_sampling_that_detect_reads(workspace, tmp_path):
    """The sampling parameters the faces stage used are in its output; detect decodes with those, not with
    whatever the config says later."""
    from idolguard.detect.scoring import _frames
    from idolguard.faces.settings import FacesSettings
    from idolguard.pipeline.runner import analyze_files
    from tests.conftest import astronaut

    video = tmp_path / "clip.mp4"
    _tiny_video(video, astronaut())
    settings = {**workspace.config.raw, "faces": {"every_s": 0.5, "max_frames": 3}}
    [result] = analyze_files(workspace, [video], ["faces"], settings=settings)
    if "faces" not in result.outputs:
        pytest.skip(f"faces stage unavailable: {result.errors}")
    sampling = result.outputs["faces"]["sampling"]
    assert sampling == {**FacesSettings().sampling(), "every_s": 0.5, "max_frames": 3}
    later_config = {"faces": {"every_s": 2.0}}  # the config changed after the scan
    wanted = set(range(100))
    recorded = [
        i for i, _ in _frames(video, "video", "video/mp4", workspace.config.limits, later_config, wanted, sampling)
    ]
    legacy = [i for i, _ in _frames(video, "video", "video/mp4", workspace.config.limits, later_config, wanted, None)]
    assert len(recorded) == 3, "every 0.5 s, at most 3 frames: what the faces stage sampled"
    assert legacy != recorded, "without the record, the (changed) config would pick other frames"
    json.dumps(sampling)


def _tiny_video(path, image):
    import av
    import numpy as np

    frame_rgb = np.asarray(image.resize((256, 256)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=4)
        stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
        for _ in range(8):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
