"""A small real workspace for web tests: one enrolled artist (the public-domain astronaut portrait as the
"official" photo), a suspect copy of it that the real pipeline attributes to her, and faceless shapes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from idolguard.workspace import Workspace


@dataclass
class Seed:
    artist: str
    suspect: str  # sha256 of the item attributed to the artist
    shapes: str  # sha256 of a faceless item (no artist)
    folder: Path


def seed(ws: Workspace, folder: Path, artist: str = "Eileen") -> Seed:
    from skimage import data

    from idolguard.demo import shapes_image
    from idolguard.gallery.store import enrol_artist
    from idolguard.pipeline.scan import scan_paths
    from idolguard.web.triage import sync_reviews

    folder.mkdir(parents=True, exist_ok=True)
    portrait = Image.fromarray(np.asarray(data.astronaut()))
    portrait.save(folder / "official.png")
    portrait.resize((400, 400)).save(folder / "suspect.jpg", quality=85)
    shapes_image(1, (320, 240)).save(folder / "shapes.jpg", quality=90)
    from idolguard.faces.analysis import FaceAnalyzer

    enrol_artist(ws, artist, [folder / "official.png"], "consent-2026-01", analyzer=FaceAnalyzer())
    objects = scan_paths(ws, [folder / "suspect.jpg", folder / "shapes.jpg"])
    by_name = {Path(o["path"]).name: o["sha256"] for o in objects}
    sync_reviews(ws, list(by_name.values()))
    return Seed(artist, by_name["suspect.jpg"], by_name["shapes.jpg"], folder)
