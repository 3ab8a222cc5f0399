"""The metric vocabulary (every score's name, unit and direction), the validation targets, the
scoring parameters, and threshold checks (``worse_than``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthapt.data import MATRIX, PRECIPITATE
from synthapt.errors import ConfigError, SynthaptError
from synthapt.spatial.profiles import DEFAULT_PLATEAU, check_plateau

ALLOWED_LABELS = (MATRIX, PRECIPITATE)


@dataclass(frozen=True)
class Metric:
    unit: str
    better: str  # "higher" or "lower" (signed metrics compare by absolute value)
    description: str
    signed: bool = False


METRICS: dict[str, Metric] = {
    "accuracy": Metric("", "higher", "fraction of ions (true phase >= 0) with the true phase"),
    "dice": Metric("", "higher", "precipitate Dice coefficient 2|A&B|/(|A|+|B|) over ions"),
    "iou": Metric("", "higher", "precipitate intersection over union over ions"),
    "precision": Metric("", "higher", "labelled-precipitate ions that are truly precipitate"),
    "recall": Metric("", "higher", "truly-precipitate ions labelled precipitate"),
    "mcc": Metric("", "higher", "Matthews correlation of the labels (0 for 'everything matrix')"),
    "excess_error": Metric("", "lower", "(1 - accuracy) / (1 - accuracy of the Bayes rule); 1 is the ceiling"),
    "excess_error_dice": Metric("", "lower", "(1 - Dice) / (1 - Dice of the Bayes rule); 1 is the ceiling"),
    "bayes_accuracy": Metric("", "higher", "accuracy of the Bayes rule on this dataset (the ceiling)"),
    "interface_distance_mean": Metric("nm", "lower", "area-weighted mean |d| of mesh to true interface"),
    "interface_distance_p95": Metric("nm", "lower", "area-weighted 95th percentile of |d|"),
    "interface_distance_max": Metric("nm", "lower", "maximum |d| over the scored mesh"),
    "interface_area_scored": Metric("nm2", "higher", "mesh area scored (boundary caps excluded)"),
    "interface_area_excluded_fraction": Metric("", "lower", "mesh area fraction on the dataset boundary"),
    "true_interface_distance_mean": Metric("nm", "lower", "area-weighted mean distance of the true interface to the mesh"),
    "interface_coverage": Metric("", "higher", "true-interface area fraction within coverage_tolerance of the mesh"),
    "profile_rmse": Metric("at.%", "lower", "largest per-element RMSE of the profile within the window"),
    "profile_rmse_<El>": Metric("at.%", "lower", "RMSE of element El's profile within the window"),
    "plateau_error": Metric("at.%", "lower", "largest |recovered - true| plateau concentration"),
    "plateau_error_<phase>_<El>": Metric("at.%", "lower", "|recovered - true| plateau of El in phase"),
    "interface_width": Metric("nm", "lower", "10-90 % width of the recovered profile (erf fit)"),
    "interface_width_truth": Metric("nm", "lower", "10-90 % width of the true profile (erf fit)"),
    "interface_width_error": Metric("nm", "lower", "|recovered - true| 10-90 % width"),
    "instrument_profile_rmse": Metric("at.%", "lower", "the instrument's own broadening: RMSE of the "
                                      "true-interface proxigram of the observed ions vs the true-position profile"),
    "interface_shift": Metric("nm", "lower", "recovered - true 50 % crossing; > 0: precipitate too large",
                              signed=True),
}


def metric_order(name: str) -> tuple[int, str]:
    """Sort key: the order of ``METRICS`` (patterns by prefix), then the name; others last."""
    keys = list(METRICS)
    for i, key in enumerate(keys):
        if name == key or ("<" in key and name.startswith(key.split("<")[0])):
            return i, name
    return len(keys), name


def metric_info(name: str) -> Metric | None:
    """The ``Metric`` entry of a score name, matching the ``<El>``/``<phase>`` patterns."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith("profile_rmse_"):
        return METRICS["profile_rmse_<El>"]
    if name.startswith("plateau_error_"):
        return METRICS["plateau_error_<phase>_<El>"]
    return None


@dataclass(frozen=True)
class ScoreParams:
    """Scoring settings (all distances in nm).

    profile_window: RMSE over bin centres within +-window of the interface.
    profile_smoothing: both profiles are averaged over a moving window of this width before
        the RMSE (about 5.6 {002} planes of Ni3Al at 1 nm); 0 compares bin by bin.
    plateau: (MIN, MAX), plateau compositions from bins with MIN <= |d| <= MAX
        (``synthapt.spatial.profiles.plateau_composition``, as ``synthapt proxigram --plateau``).
    fit_window: the erf fit for width/shift uses bins within +-fit_window.
    min_bin_ions: profile bins with fewer ions are ignored (too noisy).
    boundary_margin: mesh faces whose centre lies outside the dataset's convex hull, or within
        this distance inside it, are boundary caps and are not scored (segmentation meshes are
        clipped to the specimen, so they have none; a user's mesh may).
    coverage_tolerance: true interface within this distance of the mesh counts as found.
    mesh_subdivisions: each triangle is evaluated at n*n evenly spread points.
    bin_width: bin width of profiles computed here.
    element: the partitioning element for width/shift; "" picks the one with the largest
        plateau contrast in the true profile.
    """

    profile_window: float = 3.0
    profile_smoothing: float = 1.0
    plateau: tuple[float, float] = DEFAULT_PLATEAU
    fit_window: float = 4.0
    min_bin_ions: int = 10
    boundary_margin: float = 0.25
    coverage_tolerance: float = 0.5
    mesh_subdivisions: int = 2
    bin_width: float = 0.2
    element: str = ""

    def __post_init__(self) -> None:
        for name in ("profile_window", "fit_window", "bin_width"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"score.{name}: must be > 0 nm, got {getattr(self, name)}")
        try:
            object.__setattr__(self, "plateau", check_plateau(self.plateau, "score.plateau"))
        except SynthaptError as exc:
            raise ConfigError(str(exc)) from None
        if not self.coverage_tolerance > 0:
            raise ConfigError(f"score.coverage_tolerance: must be > 0 nm, got {self.coverage_tolerance}")
        if self.profile_smoothing < 0:
            raise ConfigError(f"score.profile_smoothing: must be >= 0 nm, got {self.profile_smoothing}")
        if self.boundary_margin < 0:
            raise ConfigError(f"score.boundary_margin: must be >= 0 nm, got {self.boundary_margin}")
        if self.min_bin_ions < 1 or self.mesh_subdivisions < 1:
            raise ConfigError("score.min_bin_ions and score.mesh_subdivisions: must be >= 1")


def worse_than(name: str, value: float, threshold: float) -> bool:
    """True if score ``value`` of metric ``name`` is worse than ``threshold`` (NaN is worse).

    Higher-is-better metrics fail below the threshold, lower-is-better ones above it; signed
    metrics (interface_shift) compare their absolute value.
    """
    info = metric_info(name)
    if info is None:
        raise ConfigError(f"--fail-under: {name!r} is not a metric with a direction")
    if value is None or not np.isfinite(value):
        return True
    if info.signed:
        value = abs(value)
    return value < threshold if info.better == "higher" else value > threshold


TARGETS: dict[str, float] = {
    "excess_error": 1.15, "excess_error_dice": 1.15, "interface_distance_mean": 0.3,
    "profile_rmse": 1.5, "plateau_error": 0.5,
}
"""Targets of the validation suites (direction from ``METRICS``). Label targets are relative to
the ceiling of each case (the Bayes rule): absolute accuracy targets above the ceiling would be
targets no method can meet. Profile targets compare with the true-interface proxigram of the same
observed ions (what a perfect interface would give)."""
SUMMARY_METRICS = ("accuracy", "bayes_accuracy", "excess_error", "mcc", "dice", "excess_error_dice",
                   "interface_distance_mean", "interface_distance_p95",
                   "interface_coverage",
                   "profile_rmse", "plateau_error", "interface_width_error", "interface_shift")
"""The metrics of report summary tables, in column order."""
