"""The protected-artist gallery: enrolled reference faces, a cohort of non-enrolled faces, and open-set matching.

Almost every face a monitoring team scans belongs to nobody in the gallery, so matching is designed for the
open-set regime: scores are normalised against a cohort of faces that are *not* the candidate artist, and a
match also needs a margin over the runner-up artist (see ``matching.py`` and docs/BENCHMARKS.md).
"""
