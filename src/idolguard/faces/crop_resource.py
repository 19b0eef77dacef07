"""The ``face_crops`` resource: the aligned face crops a scan stored in the vault (derived ``face_crop`` PNGs).

Why: scanned faces are embedded lazily (the mirror view only where it can change a decision, see
``faces/analysis.py``). When the gallery changes, ``FacesStage.contribute`` re-matches the stored vectors
without the media; a crop-only vector that the new gallery puts in the mirror band needs its mirror view,
and the lossless PNG crop in the vault is exactly the pixels it was embedded from. The refresh reads it
through this resource (the stage itself never opens a workspace), embeds the mirror and fuses it, giving
the very vector a scan with that gallery would have stored. Mirror vectors are cached per process.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from idolguard.pipeline.resources import WorkspaceHandle

CACHE_SIZE = 4096  # mirror vectors kept per process (512 bytes each)


@dataclass
class FaceCrops:
    """Reads stored face crops (by their SHA-256) and embeds their mirror view."""

    workspace: WorkspaceHandle
    _mirrors: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"workspace": self.workspace}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.workspace = state["workspace"]
        self._mirrors = OrderedDict()
        self._lock = threading.Lock()

    def crop(self, sha256: str) -> np.ndarray | None:
        """The aligned RGB crop, or None when it is not in the vault (scanned without ``persist``) or unreadable."""
        from PIL import Image

        ws = self.workspace.open()
        try:
            if not ws.vault.has(sha256):
                return None
            data = ws.vault.read_verified(sha256)
            with Image.open(io.BytesIO(data)) as image:
                return np.asarray(image.convert("RGB"))
        except Exception:  # noqa: BLE001 - a damaged crop only means this face cannot be refreshed exactly
            return None

    def mirror_vector(self, sha256: str) -> np.ndarray | None:
        """The SFace vector of the stored crop's mirror image (None when the crop cannot be read)."""
        with self._lock:
            if sha256 in self._mirrors:
                self._mirrors.move_to_end(sha256)
                return self._mirrors[sha256]
        crop = self.crop(sha256)
        if crop is None:
            return None
        from idolguard.faces.embedder import get_embedder

        vector = get_embedder().embed([np.ascontiguousarray(crop[:, ::-1])])[0]
        with self._lock:
            self._mirrors[sha256] = vector
            while len(self._mirrors) > CACHE_SIZE:
                self._mirrors.popitem(last=False)
        return vector


def load_face_crops(ws: Any) -> FaceCrops:
    return FaceCrops(WorkspaceHandle.of(ws))
