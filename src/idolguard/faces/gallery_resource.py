"""The ``gallery`` resource: the workspace's gallery index for the faces stage's embedder.

Loaded by the runner (never by a stage) and handed to ``faces`` as ``ctx.resources["gallery"]``; a
``GalleryIndex`` is plain arrays, so it pickles to process-pool workers unchanged.
"""

from __future__ import annotations

from typing import Any

from idolguard.gallery.matching import GalleryIndex


def load_gallery(ws: Any) -> GalleryIndex:
    from idolguard.faces.models import SFACE
    from idolguard.gallery.store import cached_index

    return cached_index(ws, SFACE.name)
