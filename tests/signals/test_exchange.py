from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.signals.helpers import photo, save_jpeg

GOOD = "2d6f1af3a856c529e79ca3d2526fa834d4196c81c6dd04de0a26f855fc99b724"
GOOD2 = "f87af059fd236fc332c9017c023a029c814cc62b9b88ae745f7352ffa9cc1d8e"


def test_threatexchange_library_reads_our_export_and_matches(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file
    from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2
    from threatexchange.signal_type.pdq.signal import PdqSignal

    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original)
    export = tmp_path / "export.te"
    result = cli.json_lines(
        "hashes", "export", "--bank", "abuse", "--format", "threatexchange", "--out", export, "--json"
    )
    counts = result[0]["counts"]
    assert counts["pdq"] == 1 and counts["skipped_sha256"] == 1 and counts["skipped_md5"] == 1
    assert "pdq_face" not in counts  # face-anchored hashes never leave (counted only as skipped)
    assert "original" not in export.read_text()  # no file names leave

    collab = FileCollaborationConfig(name="idolguard", filename=str(export))
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    deltas = list(api.fetch_iter([PdqSignal], None))
    signals = [signal for (signal_type, signal) in deltas[0].updates if signal_type == PdqSignal.get_name()]
    assert len(signals) == 1
    index = PDQIndex2(entries=[(s, "entry") for s in signals])
    edited = save_jpeg(photo().resize((300, 225)), tmp_path / "edited.jpg", quality=40)
    their_hash, _quality = pdq_from_file(edited)
    matches = index.query(their_hash)
    assert matches and matches[0].metadata == "entry"
    # the export is a custody event naming the exact bytes
    log = [e for e in cli.json_lines("log", "--json") if e["action"] == "hashes.export"]
    import hashlib

    assert log and log[0]["details"]["export_sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()


def test_round_trip_formats(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "src", "--kind", "known_abuse")
    source = tmp_path / "in.txt"
    source.write_text(f"pdq {GOOD}\n{GOOD2}\n")
    cli("hashes", "import", source, "--bank", "src", "--format", "threatexchange")
    for fmt in ("threatexchange", "stopncii-json", "csv"):
        out = tmp_path / f"out.{fmt}"
        cli("hashes", "export", "--bank", "src", "--format", fmt, "--out", out)
        cli("bank", "create", f"copy-{fmt}", "--kind", "partner")
        summary = cli.json_lines("hashes", "import", out, "--bank", f"copy-{fmt}", "--format", fmt, "--json")[0]
        assert summary["imported"] and summary["added"] == 2, fmt
    data = json.loads((tmp_path / "out.stopncii-json").read_text())
    assert data["count"] == 2 and {r["signalType"] for r in data["hashRecords"]} == {"ImagePDQ"}


def test_malformed_lines_rejected_line_by_line_and_nothing_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "p", "--kind", "partner")
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "\n".join(
            [
                f"pdq {GOOD}",
                "pdq 1234",  # too short
                f"pdq {GOOD[:-1]}g",  # not hex
                f"pdq {GOOD}",  # duplicate
                f"tmk {GOOD}",  # unknown type
                "pdq " + "0" * 64,  # blank image
            ]
        )
        + "\n"
    )
    summary = cli.json_lines("hashes", "import", bad, "--bank", "p", "--json", ok=False)[0]
    assert not summary["imported"] and summary["valid"] == 1
    assert [r["line"] for r in summary["rejections"]] == [2, 3, 4, 5, 6]
    assert "64 hex characters" in summary["rejections"][0]["reason"]
    assert "duplicate" in summary["rejections"][2]["reason"]
    assert cli.json_lines("bank", "list", "--json")[0]["entries"] == 0
    summary = cli.json_lines("hashes", "import", bad, "--bank", "p", "--skip-invalid", "--json")[0]
    assert summary["imported"] and summary["added"] == 1


def test_malformed_stopncii_and_csv(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "p", "--kind", "partner")
    records = [
        {"signalType": "ImagePDQ", "hashValue": GOOD},
        {"signalType": "VideoTMK", "hashValue": "abc"},
        {"signalType": "ImagePDQ", "hashValue": "xyz"},
        "not an object",
    ]
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"count": 4, "hashRecords": records}))
    summary = cli.json_lines("hashes", "import", path, "--bank", "p", "--format", "stopncii-json", "--json", ok=False)[
        0
    ]
    assert [r["line"] for r in summary["rejections"]] == [2, 3, 4]
    truncated = tmp_path / "t.json"
    truncated.write_text(json.dumps({"hashRecords": records[:1]})[:-5])
    result = cli("hashes", "import", truncated, "--bank", "p", "--format", "stopncii-json", ok=False)
    assert result.exit_code != 0 and "JSON" in result.output
    csv_path = tmp_path / "h.csv"
    csv_path.write_text(f"signal_type,signal\npdq,{GOOD}\npdq,{GOOD2},extra\nmd5,abc\n")
    summary = cli.json_lines("hashes", "import", csv_path, "--bank", "p", "--format", "csv", "--json", ok=False)[0]
    assert [r["line"] for r in summary["rejections"]] == [3, 4]


@pytest.mark.slow
def test_streaming_import_of_many_hashes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import random

    cli("bank", "create", "big", "--kind", "partner")
    rng = random.Random(3)
    path = tmp_path / "many.txt"
    with open(path, "w") as handle:
        for _ in range(20_000):
            handle.write(f"pdq {rng.getrandbits(256):064x}\n")
    summary = cli.json_lines("hashes", "import", path, "--bank", "big", "--json")[0]
    assert summary["added"] == 20_000
    first = path.read_text().splitlines()[0].split()[1]
    query = tmp_path / "q.txt"
    query.write_text(f"pdq {first}\n")
    cli("bank", "create", "again", "--kind", "partner")
    again = cli.json_lines("hashes", "import", path, "--bank", "big", "--json")[0]
    assert again["added"] == 0 and again["duplicates"] == 20_000
