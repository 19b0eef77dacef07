"""Faces: detection, alignment, identity embeddings, quality, video face tracks and the ``faces`` stage.

Models sit behind small interfaces (``FaceDetector``, ``FaceEmbedder``) so another detector or embedder can be
plugged in without touching the stage, the gallery or the evaluation commands.
"""
