"""Real East Asian / idol-style photos, split once and for all into train, calibration and held-out test.

The detector has to be trustworthy on exactly the photos an agency owns: retouched press portraits, heavy
make-up, beauty filters, stage lighting. Those photos go into three disjoint parts, decided by a hash of
the *person* (so the same idol never sits on both sides of a split) and never by a random draw that could
change between runs:

- ``train`` (50%): added to the real pool that self-blending learns from;
- ``calibration`` (20%): fitted on (Platt scaling) and used to choose the operating points;
- ``test`` (30%): never trained on, never calibrated on; the false-positive rates we publish, and the rate
  every score carries (``fpr.py``), are measured here only.

Sources (read-only, research licences; see their SOURCE files in ``../shared/data``):

- ``idol-style-real``: 1,506 Korean actor profile crops (agency/press portraits); no identity labels, each
  file is roughly a different person, so each file is its own group.
- ``eastasian-dev``: the K-pop sets (TWICE, IZ*ONE, Red Velvet, ...; the same idols appear under two
  spellings in two sets, unified below so a person cannot leak across splits) and CASIA-FaceV5 (ordinary
  Chinese volunteers, controlled capture; East Asian but not idol-style: trained and calibrated on, reported
  apart, not counted as "idol photos").
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "calibration", "test")
#: Upper bounds of the hash buckets (fraction of groups) for train and calibration; the rest is test.
TRAIN_FRACTION = 0.5
CALIBRATION_FRACTION = 0.2
#: Photos counted as "real idol photos" for the published false-positive rates.
IDOL_KINDS = ("idol-style-real", "kpop")
#: The same person under two spellings across the K-pop sets.
ALIASES = {"chaeyoung": "chaeyong", "jungyeon": "jeongyeon"}


@dataclass(frozen=True)
class DomainPhoto:
    path: Path
    kind: str  # idol-style-real | kpop | casia
    group: str  # the person (or the file, where no identity is known)
    split: str  # train | calibration | test


def split_of(group: str) -> str:
    """The split a person belongs to: a fixed function of the group name (seedless on purpose)."""
    bucket = int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:8], "big") / 2**64
    if bucket < TRAIN_FRACTION:
        return "train"
    if bucket < TRAIN_FRACTION + CALIBRATION_FRACTION:
        return "calibration"
    return "test"


def _person(identity: str) -> str:
    """``kpop-twice-izone-mrmagicpickle/twice_sana`` and ``kpop-idols-tapankarnik/sana`` are one person."""
    name = identity.rsplit("/", 1)[-1]
    name = name.split("_", 1)[-1] if "_" in name else name
    return "kpop:" + ALIASES.get(name, name)


def _rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def domain_photos(data_root: Path) -> list[DomainPhoto]:
    """Every real domain photo found under ``data_root`` (``../shared/data``), with its split; [] if absent."""
    photos: list[DomainPhoto] = []
    idol = data_root / "idol-style-real"
    if (idol / "manifest.csv").is_file():
        for row in _rows(idol / "manifest.csv"):
            if row.get("label", "real") == "real":
                group = "idol-style-real:" + row["path"]
                photos.append(DomainPhoto(idol / row["path"], "idol-style-real", group, split_of(group)))
    east = data_root / "eastasian-dev"
    if (east / "manifest.csv").is_file():
        for row in _rows(east / "manifest.csv"):
            source = row.get("set", "")
            if source.startswith("kpop"):
                kind, group = "kpop", _person(row["identity"])
            elif source.startswith("casia"):
                kind, group = "casia", "casia:" + row["identity"]
            else:
                continue
            photos.append(DomainPhoto(east / row["path"], kind, group, split_of(group)))
    return [p for p in photos if p.path.is_file()]


def select(photos: list[DomainPhoto], split: str, kinds: tuple[str, ...] | None = None) -> list[DomainPhoto]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    return [p for p in photos if p.split == split and (kinds is None or p.kind in kinds)]
