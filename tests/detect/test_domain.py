"""The real idol-photo splits: fixed by person, disjoint, and the same idol under two spellings stays together."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from idolguard.detect.domain import domain_photos, select, split_of


def _write(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), "grey").save(path)


def test_splits_are_by_person_and_stable(tmp_path: Path) -> None:
    idol = tmp_path / "idol-style-real"
    rows = ["path,label,kind"]
    for i in range(40):
        _write(idol, f"images/seed_{i}.jpg")
        rows.append(f"images/seed_{i}.jpg,real,korean-actor-profile")
    (idol / "manifest.csv").write_text("\n".join(rows) + "\n")
    east = tmp_path / "eastasian-dev"
    rows = ["path,set,identity"]
    for name, source, ident in [
        ("a.jpg", "kpop-idols-tapankarnik", "kpop-idols-tapankarnik/chaeyong"),
        ("b.jpg", "kpop-twice-izone-mrmagicpickle", "kpop-twice-izone-mrmagicpickle/twice_chaeyoung"),
        ("c.jpg", "kpop-twice-izone-mrmagicpickle", "kpop-twice-izone-mrmagicpickle/twice_sana"),
        ("d.png", "casia-facev5-subset40", "casia-facev5-subset40/000"),
        ("e.jpg", "lfw", "lfw/someone"),  # not an East Asian set: ignored
    ]:
        _write(east, f"images/{name}")
        rows.append(f"images/{name},{source},{ident}")
    (east / "manifest.csv").write_text("\n".join(rows) + "\n")
    photos = domain_photos(tmp_path)
    assert len(photos) == 44
    by_name = {p.path.name: p for p in photos}
    assert by_name["a.jpg"].group == by_name["b.jpg"].group == "kpop:chaeyong"
    assert by_name["a.jpg"].split == by_name["b.jpg"].split
    assert by_name["d.png"].kind == "casia" and "e.jpg" not in by_name
    assert photos == domain_photos(tmp_path)  # no randomness
    sizes = {s: len(select(photos, s, ("idol-style-real",))) for s in ("train", "calibration", "test")}
    assert sum(sizes.values()) == 40 and all(sizes.values())
    assert split_of("kpop:sana") == by_name["c.jpg"].split
    assert domain_photos(tmp_path / "absent") == []
