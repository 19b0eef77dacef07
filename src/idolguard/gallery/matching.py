"""Open-set matching of face embeddings against the gallery, with calibrated decisions.

Per artist the score is the mean of the two best reference similarities (one lucky reference is not enough;
with a single reference it is that reference). The best artist is reported with its cosine similarity and the
margin to the runner-up artist, and a decision:

- ``match``: score >= the artist's match threshold *and* margin >= ``min_margin`` *and* quality good enough;
- ``possible``: score >= the artist's match threshold minus the calibrated gap (a human should look);
- ``no_match``: otherwise, including when the gallery is empty. The face is still reported.

The artist's match threshold is *gallery-aware* and *quality-aware* (both calibrated by cross-validation on
people and sources the thresholds were not fitted on, ``gallery/calibration.py``):

- per artist, the ``artist_quantile`` of the scores that faces known *not* to be that artist reach against
  its references (the gallery's cohort faces and every other artist's references), plus ``artist_margin``,
  and never below the global ``match_threshold``: an artist whose references lie close to look-alikes gets a
  stricter threshold, computed from the gallery itself, with no per-artist data needed;
- per probe, ``quality_slope`` x (``quality_pivot`` - quality) is added for faces below the pivot quality
  (small, blurred, profile faces need more evidence).

An explicit per-artist threshold (``artists threshold``) replaces the derived one.

Optionally (``norm = "snorm"``) the score is symmetrically normalised against a cohort of faces that are not
the candidate artist (the gallery's cohort faces plus the other artists' references): each side's top-k
cohort similarities give a mean and spread, and the score becomes the average of the two z-scores. Whether
that helps is a measured question; see docs/BENCHMARKS.md for the numbers behind the shipped defaults.

Everything is vectorised over references, so 1,000 artists x 20 references is one 20,000 x 128 product.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

MATCH = "match"
POSSIBLE = "possible"
NO_MATCH = "no_match"
# How a reference vector was embedded (stored per reference in its ``face`` record as ``reference_embedding``;
# the faces area makes them, ``faces/analysis.py``). References stored without the field, and calibrations
# without it, are the crop + mirror kind used before multi-scale references.
LEGACY_REFERENCE_EMBEDDING = "crop+mirror"
# ``review_reason`` of a face whose best artist has references of another embedding than the calibration was
# fitted for (``artists reembed`` fixes it): decided at most ``possible``, never ``match``, because the
# thresholds were not fitted for those vectors and a wrong ``match`` names the wrong artist on a sexual image.
REFERENCE_MISMATCH = "reference_embedding_mismatch"


def reference_kind(face: dict[str, Any] | None) -> str:
    """The embedding kind of a stored reference, from its ``face`` record."""
    return str((face or {}).get("reference_embedding") or LEGACY_REFERENCE_EMBEDDING)


# The narrower mirror band's fields (``MatchParams.mirror_band``), and the settings that leave it valid: they
# move faces only between ``match`` and ``possible`` (or concern one-to-one checks), never across ``possible``.
# A local ``[faces.matching]`` setting anything else (``mirror_delta``, thresholds, quality penalty, per-artist
# or S-norm rules, cohort) drops the shipped band unless it sets all three band fields itself (review A, 9).
BAND_FIELDS = ("mirror_band", "mirror_band_from", "mirror_band_upto")
BAND_NEUTRAL = frozenset({"verify_threshold", "min_margin", "min_quality"})
# Settings that do not touch how scores are decided: a local block setting only these is not a calibration, so
# it keeps the shipped ``reference_embedding``; any other field without ``reference_embedding`` means crop + mirror.
ADVISORY_FIELDS = frozenset({"min_references", "verify_threshold"})


@dataclass(frozen=True)
class MatchParams:
    """Decision parameters; the shipped values come from ``calibration.json`` (a recorded calibration run)."""

    verify_threshold: float = 0.45  # one-to-one photo comparison (``eval faces``)
    match_threshold: float = 0.50
    possible_threshold: float = 0.40
    min_margin: float = 0.0
    min_quality: float = 0.15  # below this a face can be at most ``possible``
    norm: str = "none"  # "none" | "snorm"
    cohort_top_k: int = 100
    min_cohort: int = 50  # with fewer cohort faces normalisation is unreliable: fall back to raw scores
    # A ``match`` also needs the S-norm z-score of the best artist (see ``GalleryIndex.snorm``) at or above
    # this (None: not used). Chosen by ``calibrate faces --data`` when it transfers better across sources.
    norm_threshold: float | None = None
    # The raw threshold used instead of ``match_threshold`` when the S-norm gate cannot run (fewer than
    # ``min_cohort`` cohort faces + references): the calibrated global rule, so a small gallery is not laxer.
    fallback_match_threshold: float | None = None
    artist_margin: float | None = None  # gallery-aware per-artist thresholds (None: off)
    artist_quantile: float = 0.99
    quality_pivot: float = 0.5
    quality_slope: float = 0.0
    min_references: int = 3  # enrolment warns below this many references (see ``gallery/advice.py``)
    # Lazy probe mirroring: a scanned face is embedded from its crop alone, and its mirror view is embedded
    # and fused only when some artist's crop-only score lies at or above that artist's ``possible`` threshold
    # minus this delta and the face is not a certain ``match`` (``GalleryIndex.mirror_needed``). The delta is
    # a high quantile of how far fusing the mirror moves a score towards another decision (any artist's rise,
    # the best artist's fall), measured by ``calibrate faces`` (``gallery/calibration.py``).
    # None: every scanned face is embedded as crop + mirror.
    mirror_delta: float | None = None
    # The band's width below ``possible`` for artists whose ``possible`` threshold (quality penalty included)
    # lies in [``mirror_band_from``, ``mirror_band_upto``]: a high quantile of the rise of artists whose
    # crop-only score lies just below their ``possible`` threshold, measured by ``calibrate faces`` at exactly
    # those thresholds. Such scores rise less than the largest rise of any artist (``mirror_delta``, usually
    # a genuine probe's best artist far above every threshold), so the band is narrower; it is never wider.
    # Outside that range (an explicit per-artist threshold, a local calibration) the rise was not measured, and
    # it depends on the threshold (lower thresholds have more artists close below them, so a larger largest
    # rise): ``mirror_delta`` applies. None: the band is ``mirror_delta`` wide (the rule before 2026-12-03).
    mirror_band: float | None = None
    mirror_band_from: float | None = None
    mirror_band_upto: float | None = None
    # The reference embedding these thresholds were fitted for (``faces/analysis.py`` ``REFERENCE_EMBEDDING``):
    # references of another kind are matched but never decided ``match`` (``REFERENCE_MISMATCH``).
    reference_embedding: str = LEGACY_REFERENCE_EMBEDDING
    source: dict[str, Any] = field(default_factory=dict)  # provenance of the calibration
    expected: dict[str, Any] = field(default_factory=dict)  # held-out figures of the calibration run

    @classmethod
    def shipped(cls) -> MatchParams:
        text = resources.files("idolguard.gallery").joinpath("calibration.json").read_text(encoding="utf-8")
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @classmethod
    def for_settings(cls, settings: dict[str, Any] | None) -> MatchParams:
        """Shipped calibration, overridden by ``[faces.matching]`` in the workspace config (a local calibration).

        The shipped ``mirror_band`` holds only for the shipped rule: see ``BAND_FIELDS``."""
        shipped = cls.shipped()
        faces = (settings or {}).get("faces", {})
        local = faces.get("matching", {}) if isinstance(faces, dict) else {}
        if not isinstance(local, dict) or not local:
            return shipped
        known = {k: v for k, v in local.items() if k in cls.__dataclass_fields__ and k not in ("source", "expected")}
        merged = {**shipped.as_dict(), **known, "source": {"workspace_config": sorted(known)}, "expected": {}}
        if "reference_embedding" not in known and set(known) - ADVISORY_FIELDS:
            # A block from before the field (``calibrate faces`` wrote none) was fitted for crop + mirror
            # references: assuming the shipped kind could let thresholds fitted for other vectors decide ``match``.
            merged["reference_embedding"] = LEGACY_REFERENCE_EMBEDDING
            merged["source"]["reference_embedding_assumed"] = LEGACY_REFERENCE_EMBEDDING
        if set(known) - BAND_NEUTRAL - set(BAND_FIELDS) and not set(BAND_FIELDS) <= set(known):
            # The shipped band was measured with the shipped scores, thresholds and ``mirror_delta``: a local
            # block changing any of them without measuring its own band gets the ``mirror_delta``-wide band.
            merged.update(dict.fromkeys(BAND_FIELDS))
        return cls(**merged)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def possible_gap(self) -> float:
        """How far below an artist's match threshold a face is still sent to a human (``possible``)."""
        return max(0.0, self.match_threshold - self.possible_threshold)

    def quality_penalty(self, quality: np.ndarray | float) -> np.ndarray:
        """Extra score a face of this quality must reach (0 at or above the pivot quality)."""
        q = np.asarray(quality, dtype=np.float64)
        return self.quality_slope * np.clip(self.quality_pivot - q, 0.0, None)


@dataclass
class Match:
    artist: str | None
    similarity: float | None  # aggregated cosine similarity to the best artist
    margin: float | None  # best minus runner-up aggregated similarity (None with one artist)
    score: float | None  # the value compared with the thresholds (normalised when norm is on)
    decision: str
    runner_up: str | None = None
    threshold: float | None = None
    z: float | None = None  # S-norm z-score against the cohort (only when ``norm_threshold`` is in use)
    review_reason: str | None = None  # why a ``match`` was capped at ``possible`` (``REFERENCE_MISMATCH``)

    def as_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 4)

        return {
            "artist": self.artist,
            "similarity": r(self.similarity),
            "margin": r(self.margin),
            "score": r(self.score),
            "decision": self.decision,
            "runner_up": self.runner_up,
            "threshold": r(self.threshold),
            **({"z": r(self.z)} if self.z is not None else {}),
            **({"review_reason": self.review_reason} if self.review_reason else {}),
        }


NO_GALLERY = Match(None, None, None, None, NO_MATCH)


class GalleryIndex:
    """In-memory gallery: a reference matrix grouped by artist, optional cohort, per-artist thresholds."""

    def __init__(
        self,
        names: list[str],
        references: np.ndarray,
        reference_artist: np.ndarray,
        cohort: np.ndarray | None = None,
        thresholds: dict[str, float] | None = None,
        params: MatchParams | None = None,
        revision: str = "",
        reference_kinds: list[str] | None = None,
    ) -> None:
        """``reference_kinds``: the embedding kind of each reference (None: all of the calibration's kind)."""
        self.names = list(names)
        self.params = params or MatchParams()
        self.revision = revision
        order = np.argsort(reference_artist, kind="stable")
        self.refs = np.ascontiguousarray(np.asarray(references, dtype=np.float32)[order]).reshape(-1, 128)
        self.ref_artist = np.asarray(reference_artist, dtype=np.int64)[order]
        self.cohort = (
            np.zeros((0, self.refs.shape[1]), np.float32) if cohort is None else np.asarray(cohort, np.float32)
        )
        counts = np.bincount(self.ref_artist, minlength=len(self.names))
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.counts = counts
        width = max(1, int(counts.max()) if len(counts) else 1)
        offsets = np.arange(width)
        self._pad_mask = offsets[None, :] < counts[:, None]  # (A, K): which slots hold a real reference
        self._pad_index = np.where(self._pad_mask, self.starts[:, None] + offsets[None, :], 0)
        base = self.params.match_threshold
        if self.params.norm_threshold is not None and not self.z_gated:
            base = max(base, self.params.fallback_match_threshold or base)
        self.explicit = np.array([(thresholds or {}).get(n, np.nan) for n in self.names], dtype=np.float64)
        self.impostor_tail = self._impostor_tails() if self.params.artist_margin is not None else None
        derived = np.full(len(self.names), base, dtype=np.float64)
        if self.impostor_tail is not None:
            derived = np.maximum(base, self.impostor_tail + float(self.params.artist_margin or 0.0))
        self.thresholds = np.where(np.isnan(self.explicit), derived, self.explicit)
        # Artists holding a reference of another embedding than the thresholds were fitted for.
        self.mismatched = np.zeros(len(self.names), dtype=bool)
        if reference_kinds is not None:
            other = np.array([k != self.params.reference_embedding for k in reference_kinds], dtype=bool)
            if other.any():
                owners = np.asarray(reference_artist, dtype=np.int64)[other]
                self.mismatched[np.unique(owners)] = True
        self._artist_stats: dict[int, tuple[float, float]] = {}
        self._artist_z: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def empty(self) -> bool:
        return len(self.names) == 0 or len(self.refs) == 0

    @property
    def normalising(self) -> bool:
        cohort_size = len(self.cohort) + len(self.refs)
        return self.params.norm == "snorm" and cohort_size >= self.params.min_cohort

    def artist_scores(self, probes: np.ndarray) -> np.ndarray:
        """(N, A) aggregated similarity of each probe to each artist: mean of the two best references."""
        sims = np.asarray(probes, np.float32) @ self.refs.T  # (N, R)
        padded = np.where(self._pad_mask, sims[:, self._pad_index], -np.inf)  # (N, A, K)
        if padded.shape[2] == 1:
            return padded[:, :, 0]
        top2 = -np.partition(-padded, 1, axis=2)[:, :, :2]
        return np.where(np.isfinite(top2[:, :, 1]), top2.mean(axis=2), top2[:, :, 0])

    @property
    def z_gated(self) -> bool:
        """Whether ``match`` also needs the S-norm z-score (``norm_threshold`` set and a big enough cohort)."""
        return self.params.norm_threshold is not None and len(self.cohort) + len(self.refs) >= self.params.min_cohort

    def _cohort_faces(self) -> tuple[np.ndarray, np.ndarray]:
        """Every face known not to be a given artist, with its owner (-1 cohort, else the artist index)."""
        faces = np.concatenate([self.cohort, self.refs]) if len(self.cohort) else self.refs
        owner = np.concatenate([np.full(len(self.cohort), -1), self.ref_artist]).astype(np.int64)
        return faces, owner

    def _top_k(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise mean and spread of the ``cohort_top_k`` largest finite values (masked entries are -inf)."""
        width = values.shape[1]
        k = max(1, min(self.params.cohort_top_k, width - int(self.counts.max(initial=0))))
        top = -np.partition(-values, k - 1, axis=1)[:, :k]
        return top.mean(axis=1), top.std(axis=1) + 1e-6

    def artist_norm_stats(self, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Per artist, mean and spread of the top cohort scores its references reach (each cohort face
        scored by its best reference of the artist; the artist's own references left out)."""
        if self._artist_z is None:
            faces, owner = self._cohort_faces()
            means, spreads = [], []
            for start in range(0, len(self.names), chunk):
                artists = np.arange(start, min(start + chunk, len(self.names)))
                rows = self._pad_index[artists]  # (a, K)
                sims = self.refs[rows.reshape(-1)] @ faces.T  # (a*K, F)
                sims = sims.reshape(len(artists), rows.shape[1], -1)
                sims = np.where(self._pad_mask[artists][:, :, None], sims, -np.inf).max(axis=1)  # (a, F)
                sims = np.where(owner[None, :] == artists[:, None], -np.inf, sims)
                mean, spread = self._top_k(sims)
                means.append(mean)
                spreads.append(spread)
            self._artist_z = (np.concatenate(means), np.concatenate(spreads))
        return self._artist_z

    def snorm(self, probes: np.ndarray, artists: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Symmetric z-score of each probe's raw score against ``artists`` (vectorised ``_normalise``): the
        mean of the probe-side z (the probe against every face that is not that artist) and the artist-side
        z (that artist's references against the same faces). A crowd of similar-looking people (one idol
        group, one photo studio) raises both cohorts, so the z-score moves less than the raw score does when
        the people and sources change."""
        faces, owner = self._cohort_faces()
        artists = np.asarray(artists, dtype=np.int64)
        sims = np.asarray(probes, np.float32) @ faces.T  # (N, F)
        sims = np.where(owner[None, :] == artists[:, None], -np.inf, sims)
        mu_p, sd_p = self._top_k(sims)
        mu_a, sd_a = self.artist_norm_stats()
        raw = np.asarray(raw, np.float64)
        return 0.5 * ((raw - mu_p) / sd_p + (raw - mu_a[artists]) / sd_a[artists])

    def _impostor_tails(self, chunk: int = 512) -> np.ndarray | None:
        """Per artist, the ``artist_quantile`` of scores reached by faces that are not that artist.

        Those faces are the cohort plus every other artist's references, scored exactly like a probe (mean of
        the two best references), so the figure is an estimate of how high a look-alike gets for this artist.
        Returns None for an empty gallery or when no artist has any such face to compare with.
        """
        if self.empty:
            return None
        faces = np.concatenate([self.cohort, self.refs]) if len(self.cohort) else self.refs
        owner = np.concatenate([np.full(len(self.cohort), -1), self.ref_artist])
        columns: list[np.ndarray] = []
        for start in range(0, len(faces), chunk):
            block = self.artist_scores(faces[start : start + chunk])
            own = owner[start : start + chunk][:, None] == np.arange(len(self.names))[None, :]
            columns.append(np.where(own, np.nan, block))
        scores = np.concatenate(columns)
        if np.all(np.isnan(scores)):
            return None
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                tails = np.nanquantile(scores, self.params.artist_quantile, axis=0)
        return np.where(np.isnan(tails), -np.inf, tails)

    def mirror_needed(
        self,
        probes: np.ndarray,
        qualities: list[float] | None = None,
        delta: float | None = None,
        skip_certain: bool = True,
        narrow: bool = True,
    ) -> np.ndarray:
        """Which crop-only probe vectors need their mirror view before a decision (lazy probe mirroring).

        ``delta`` (``params.mirror_delta`` when not given) bounds how far fusing the mirror moves a score
        towards another decision: it raises no artist's score, and lowers the crop-only best artist's score,
        by more than ``delta`` (a high quantile measured by ``calibrate faces``). Under that bound two kinds
        of face keep their decision whichever vector decides, and are left crop-only:

        - *below the band*: a face is ``no_match`` exactly when its best artist's score is below that
          artist's ``possible`` threshold (match threshold + quality penalty - gap; the S-norm gate, the
          margin and the minimum quality only move faces between ``match`` and ``possible``), so a face whose
          every artist score is more than the band's width below that artist's ``possible`` threshold stays
          ``no_match``. The width is ``delta``, or the narrower ``mirror_band`` for artists whose threshold
          is one it was measured at (``band_widths``): what matters there is how far an artist's score just
          below its threshold rises, less than the largest rise of any artist;
        - *a certain match* (``skip_certain``, ``certain_match``): the crop-only best artist stays best and
          at or above its match threshold, so the decision (``match``, or ``possible`` for a face under the
          minimum quality) and its artist stay the same; only the reported similarity, margin and runner-up
          are then the crop's.

        Every other face needs the mirror (the thresholds were calibrated on crop + mirror vectors). With
        S-norm scores (``norm = "snorm"``) the raw-score bound does not carry over, so every face is
        mirrored; so too with no delta. An empty gallery needs no mirror at all. ``skip_certain=False`` is
        the earlier rule (benchmarks compare the two), and the faces stage's rule for a video track of several
        frames, whose mirror a later refresh could not make. ``narrow=False`` ignores ``mirror_band`` (the band
        is ``delta`` wide everywhere): the faces stage's rule for those tracks too, as their decision must stay
        right under any later threshold, where the narrower band was not measured (and the band's rises were
        measured on single pictures only).
        """
        probes = np.asarray(probes, np.float32).reshape(-1, self.refs.shape[1] if len(self.refs) else 128)
        if self.empty or len(probes) == 0:
            return np.zeros(len(probes), bool)
        delta = self.params.mirror_delta if delta is None else delta
        if delta is None or self.normalising:
            return np.ones(len(probes), bool)
        scores = self.artist_scores(probes)  # (N, A)
        q = np.array([1.0 if v is None else v for v in qualities] if qualities is not None else [1.0] * len(probes))
        penalty = self.params.quality_penalty(q)
        possible = self.thresholds[None, :] + penalty[:, None] - self.params.possible_gap
        widths = self.band_widths(possible, float(delta)) if narrow else np.full(np.shape(possible), float(delta))
        near = (scores - possible + widths).max(axis=1) >= 0
        if skip_certain:
            near &= ~self.certain_match(scores, penalty, float(delta))
        return np.asarray(near, bool)

    def band_widths(self, possible: np.ndarray, delta: float) -> np.ndarray:
        """How far below each ``possible`` threshold the mirror band reaches: ``mirror_band`` where the
        threshold lies in [``mirror_band_from``, ``mirror_band_upto``] (the thresholds its rises were measured
        at), else ``delta``; never wider than ``delta``."""
        band, low, high = self.params.mirror_band, self.params.mirror_band_from, self.params.mirror_band_upto
        if band is None or low is None or high is None:
            return np.full(np.shape(possible), delta)
        measured = (possible >= low - 1e-9) & (possible <= high + 1e-9)
        return np.where(measured, min(float(band), delta), delta)

    def certain_match(self, scores: np.ndarray, penalty: np.ndarray, delta: float) -> np.ndarray:
        """Per row of crop-only artist ``scores``: whether fusing the mirror cannot change its decision from
        the best artist's ``match`` when no artist's score rises, and the best artist's does not fall, by more
        than ``delta``.

        ``match`` looks at the best artist alone (its threshold, the margin to whichever artist is second,
        the quality), so it is enough that (1) the best artist stays best by more than ``min_margin``: best -
        runner-up > 2 x ``delta`` (and >= 2 x ``delta`` + ``min_margin``), and (2) it stays at or above its
        own match threshold: best - ``delta`` >= threshold + quality penalty. Other artists' thresholds do
        not enter the decision. With the S-norm gate in use (``norm_threshold``) a ``match`` also needs a
        z-score of the probe vector against the cohort, which the raw bound says nothing about: never
        certain then."""
        n = len(scores)
        if self.z_gated or n == 0:
            return np.zeros(n, bool)
        rows = np.arange(n)
        best = scores.argmax(axis=1)
        top = scores[rows, best].astype(np.float64)
        certain = top - delta >= self.thresholds[best] + penalty
        if scores.shape[1] > 1:
            others = np.array(scores, np.float64)
            others[rows, best] = -np.inf
            lead = top - others.max(axis=1) - 2 * delta
            certain &= (lead > 0) & (lead >= self.params.min_margin)
        return np.asarray(certain, bool)

    def artist_threshold(self, artist: int, quality: float = 1.0) -> float:
        """The score a face of this quality needs for ``match`` with this artist."""
        return float(self.thresholds[artist] + self.params.quality_penalty(quality))

    def match(self, probes: np.ndarray, qualities: list[float] | None = None) -> list[Match]:
        probes = np.asarray(probes, np.float32).reshape(-1, self.refs.shape[1] if len(self.refs) else 128)
        if self.empty or len(probes) == 0:
            return [NO_GALLERY for _ in range(len(probes))]
        scores = self.artist_scores(probes)
        best_all = scores.argmax(axis=1)
        zs = (
            self.snorm(probes, best_all, scores[np.arange(len(probes)), best_all])
            if self.z_gated
            else np.full(len(probes), np.nan)
        )
        results = []
        for i, row in enumerate(scores):
            order = np.argsort(-row)
            best = int(order[0])
            similarity = float(row[best])
            runner = int(order[1]) if len(order) > 1 else None
            margin = similarity - float(row[runner]) if runner is not None else None
            score = self._normalise(probes[i], best, similarity) if self.normalising else similarity
            quality = qualities[i] if qualities is not None and qualities[i] is not None else 1.0
            threshold = self.artist_threshold(best, quality)
            decision = NO_MATCH
            z = float(zs[i]) if self.z_gated else None
            z_ok = z is None or z >= float(self.params.norm_threshold or 0.0)
            if score >= threshold and z_ok and (margin is None or margin >= self.params.min_margin):
                decision = MATCH if quality >= self.params.min_quality else POSSIBLE
            elif score >= threshold - self.params.possible_gap:
                decision = POSSIBLE
            review = None
            if decision == MATCH and self.mismatched[best]:
                decision, review = POSSIBLE, REFERENCE_MISMATCH
            results.append(
                Match(
                    self.names[best],
                    similarity,
                    margin,
                    score,
                    decision,
                    self.names[runner] if runner is not None else None,
                    threshold,
                    z,
                    review,
                )
            )
        return results

    # --- cohort normalisation -------------------------------------------------------------------------------
    def _top_stats(self, values: np.ndarray) -> tuple[float, float]:
        k = min(self.params.cohort_top_k, len(values))
        if k == 0:
            return 0.0, 1.0
        top = np.partition(values, len(values) - k)[len(values) - k :]
        return float(top.mean()), float(top.std()) + 1e-6

    def _others(self, artist: int) -> np.ndarray:
        start, count = self.starts[artist], self.counts[artist]
        return np.concatenate([self.cohort, self.refs[:start], self.refs[start + count :]])

    def _normalise(self, probe: np.ndarray, artist: int, raw: float) -> float:
        others = self._others(artist)
        mu_p, sd_p = self._top_stats(others @ probe)
        if artist not in self._artist_stats:
            start, count = self.starts[artist], self.counts[artist]
            own = self.refs[start : start + count]
            self._artist_stats[artist] = self._top_stats((own @ others.T).max(axis=0))
        mu_a, sd_a = self._artist_stats[artist]
        return 0.5 * ((raw - mu_p) / sd_p + (raw - mu_a) / sd_a)
