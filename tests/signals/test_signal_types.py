"""Signal types and exchange formats are classes; every type and format passes the same checks (in the spirit
of python-threatexchange's signal_type_test_helper), so a new one is one file that these tests pick up."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from idolguard.signals import formats, types

SAMPLES = {
    "pdq": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "vpdq": json.dumps(["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,0.000"]),
}


def test_the_known_types_and_formats_are_discovered():
    assert set(types.all_types()) == {"pdq", "pdq_face", "pdq_inner", "md5", "sha256", "vpdq"}
    assert formats.names() == ("threatexchange", "stopncii-json", "csv")
    assert set(types.indexed_kinds()) == {"pdq", "pdq_face", "pdq_inner", "vpdq"}


@pytest.mark.parametrize("name", sorted(types.all_types()))
def test_signal_type_contract(name):
    signal_type = types.get(name)
    assert signal_type.name == name and signal_type.description
    for alias in signal_type.import_names:
        assert types.by_exchange_name(alias) is signal_type, "each import name denotes one type"
    if signal_type.stopncii_name:
        assert types.by_stopncii_name(signal_type.stopncii_name) is signal_type
    if name in SAMPLES:
        entry = signal_type.validate(SAMPLES[name])
        assert entry.signal_type == name
        with pytest.raises(ValueError):
            signal_type.validate("zz" + SAMPLES[name][2:] if name != "vpdq" else "not json")
    if signal_type.bits:
        assert signal_type.distance("00" * 32, "01" + "00" * 31) in (1, None)
    if not signal_type.exportable:
        assert not signal_type.import_names, "a type that never leaves is never imported either"


def _entry(name: str, raw: str, entry_id: int = 1):
    made = types.get(name).validate(raw)
    return SimpleNamespace(
        id=entry_id, signal_type=made.signal_type, value=made.value, frames=made.frames, quality=None
    )


@pytest.mark.parametrize("fmt", formats.names())
def test_every_format_round_trips_what_it_can_carry(fmt):
    exchange = formats.get(fmt)
    entries = [_entry(name, raw, i) for i, (name, raw) in enumerate(SAMPLES.items(), 1)]
    entries.append(SimpleNamespace(id=9, signal_type="pdq_face", value=SAMPLES["pdq"], frames=None, quality=90))
    out = io.StringIO()
    counts = exchange.write(entries, out, is_video_md5=lambda entry: True)
    assert counts.get("skipped_pdq_face") == 1, "face-anchored hashes never leave"
    read_back = [
        (kind, raw) for _n, kind, raw in exchange.read(io.StringIO(out.getvalue())) if not raw.startswith("\0")
    ]
    parsed = {types.by_exchange_name(kind).validate(raw).value for kind, raw in read_back}
    written = {k for k in counts if not k.startswith("skipped_")}
    assert {e.value for e in entries if e.signal_type in written} == parsed
    assert sum(v for k, v in counts.items() if not k.startswith("skipped_")) == len(read_back)


def test_md5_goes_to_hash_lists_only_for_videos():
    entry = _entry("md5", SAMPLES["md5"])
    for fmt in ("threatexchange", "stopncii-json"):
        counts = formats.get(fmt).write([entry], io.StringIO(), is_video_md5=lambda e: False)
        assert counts == {"skipped_md5": 1}
