"""Faces settings: ``[faces]`` (video sampling and detection size) and ``[faces.matching]`` (decision
parameters; unset values come from the shipped calibration, ``gallery/calibration.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class FacesSettings:
    """Face search in videos and animations. The values used are recorded in each faces output."""

    section: ClassVar[str] = "faces"
    every_s: float = field(default=1.0, metadata={"help": "Sample one video frame every N seconds."})
    scene_cuts: bool = field(default=True, metadata={"help": "Also sample the first frame after each scene cut."})
    max_frames: int = field(default=300, metadata={"help": "At most this many sampled frames per video."})
    max_side: int = field(default=1280, metadata={"help": "Sampled frames are scaled to this long side (px)."})
    video_detect_side: int = field(
        default=640, metadata={"help": "Faces are searched in video frames at this long side (crops stay full size)."}
    )

    def sampling(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MatchingSettings:
    """Identity decision thresholds; `idolguard calibrate faces` prints a block for this section."""

    section: ClassVar[str] = "faces.matching"
    verify_threshold: float | None = field(default=None, metadata={"help": "One-to-one photo comparison."})
    match_threshold: float | None = field(default=None, metadata={"help": "Similarity for a match."})
    possible_threshold: float | None = field(default=None, metadata={"help": "Similarity for a possible match."})
    min_margin: float | None = field(default=None, metadata={"help": "Required lead over the runner-up artist."})
    min_quality: float | None = field(default=None, metadata={"help": "Below this quality a face is at most possible."})
    norm: str | None = field(default=None, metadata={"help": '"none" or "snorm" (cohort score normalisation).'})
    cohort_top_k: int | None = field(default=None, metadata={"help": "Cohort faces used for normalisation."})
    min_cohort: int | None = field(default=None, metadata={"help": "Fewer cohort faces: raw scores are used."})
    norm_threshold: float | None = field(
        default=None, metadata={"help": "A match also needs this S-norm z-score against the cohort (calibrated)."}
    )
    fallback_match_threshold: float | None = field(
        default=None, metadata={"help": "Match threshold used when the cohort is too small for the S-norm gate."}
    )
    artist_margin: float | None = field(
        default=None, metadata={"help": "Per-artist threshold: look-alike tail of the gallery plus this margin."}
    )
    artist_quantile: float | None = field(
        default=None, metadata={"help": "Quantile of non-artist scores that defines an artist's look-alike tail."}
    )
    quality_pivot: float | None = field(default=None, metadata={"help": "Faces below this quality need more."})
    quality_slope: float | None = field(
        default=None, metadata={"help": "Extra score needed per unit of quality below the pivot."}
    )
    min_references: int | None = field(
        default=None, metadata={"help": "Enrolment warns below this many distinct reference photos."}
    )
    reference_embedding: str | None = field(
        default=None,
        metadata={"help": "Reference embedding these thresholds were fitted for (other references: at most possible)."},
    )
