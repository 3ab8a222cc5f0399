"""Scores of a segmentation against the ground truth.

Pure functions on arrays, bundled by ``score`` into one flat dict of named numbers (see
``METRICS`` for every name, its unit and whether higher or lower is better):

- per-ion phase labels: accuracy, precipitate Dice / IoU / precision / recall (ions whose true
  phase is -1, i.e. background ions that come from no atom, are excluded);
- interface distance: the exact signed distance of the true geometry evaluated on points spread
  evenly over the recovered mesh (area-weighted mean |d|, 95th percentile, maximum; nm). Mesh
  faces within ``boundary_margin`` nm of the dataset's convex hull are caps where the box clips
  a precipitate, not interface, and are ignored; the reverse direction (true interface to
  mesh) gives the interface coverage, which drops when a precipitate is missed;
- composition profiles: recovered proxigram vs ground-truth profile, both in at.%: RMSE within
  +-``profile_window`` nm, plateau compositions (``plateau`` = MIN..MAX nm from the
  interface on each side), interface width (10-90 %) and shift (50 % crossing) of an error
  function fitted to the partitioning element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthapt.data import MATRIX, NO_PHASE, PRECIPITATE, APTDataset, Profile
from synthapt.errors import ConfigError, SynthaptError
from synthapt.mesh_metrics import (  # noqa: F401  (re-exported)
    DatasetBoundary, face_sample_points, hull_distance, interface_coverage, interface_distance,
    mesh_arrays, weighted_quantile)
from synthapt.profile_metrics import (  # noqa: F401  (re-exported)
    WIDTH_PER_SIGMA, common_elements, fit_interface, partitioning_element, plateau_composition,
    profile_rmse)
from synthapt.profiles import DEFAULT_PLATEAU, check_plateau

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
        (``synthapt.profiles.plateau_composition``, as ``synthapt proxigram --plateau``).
    fit_window: the erf fit for width/shift uses bins within +-fit_window.
    min_bin_ions: profile bins with fewer ions are ignored (too noisy).
    boundary_margin: mesh faces whose centre lies within this distance of the dataset's convex
        hull are boundary caps and are not scored.
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
    boundary_margin: float = 1.0
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


# ----------------------------------------------------------------------------- labels


def check_labels(labels: np.ndarray, n_ions: int, where: str = "labels") -> np.ndarray:
    """Validate per-ion labels: length ``n_ions``, values 0 (matrix) / 1 (precipitate) only."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise SynthaptError(f"{where}: expected one label per ion (1-D), got shape {arr.shape}")
    if len(arr) != n_ions:
        raise SynthaptError(f"{where}: {len(arr)} labels but the dataset has {n_ions} ions")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
            raise SynthaptError(f"{where}: labels must be integers 0 (matrix) or 1 (precipitate)")
    elif arr.dtype.kind not in "iub":
        raise SynthaptError(f"{where}: labels must be integers, got dtype {arr.dtype}")
    values = np.unique(arr)
    bad = [v for v in values.tolist() if v not in ALLOWED_LABELS]
    if bad:
        raise SynthaptError(
            f"{where}: unknown label values {bad[:5]} (allowed: 0 matrix, 1 precipitate)")
    return arr.astype(np.int8)


def label_scores(labels: np.ndarray, truth_phase: np.ndarray) -> dict[str, float]:
    """Accuracy, Dice, IoU, precision and recall of precipitate labels; (M,) arrays.

    Ions with true phase -1 (background) are excluded. Dice/IoU are 1 when neither the truth nor
    the labels contain any precipitate ion.
    """
    labels = np.asarray(labels)
    truth_phase = np.asarray(truth_phase)
    if labels.shape != truth_phase.shape:
        raise SynthaptError(f"labels: shape {labels.shape} differs from truth {truth_phase.shape}")
    keep = truth_phase != NO_PHASE
    n = int(keep.sum())
    if n == 0:
        raise SynthaptError("labels: no ion has a true phase to score against")
    pred = labels[keep] == PRECIPITATE
    true = truth_phase[keep] == PRECIPITATE
    tp = int(np.count_nonzero(pred & true))
    fp = int(np.count_nonzero(pred & ~true))
    fn = int(np.count_nonzero(~pred & true))
    correct = int(np.count_nonzero(labels[keep] == truth_phase[keep]))
    return {
        "accuracy": correct / n,
        "dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "n_scored_ions": n,
    }


# ----------------------------------------------------------------------------- bundle


def truth_profile_of_dataset(dataset: APTDataset, bin_width: float = 0.2) -> Profile:
    """Ground-truth profile of the detected ions: their TRUE species at their TRUE positions vs
    the exact geometry (background ions excluded). Needs ``dataset.truth`` with a geometry."""
    from synthapt.profiles import profile_from_distance

    truth = require_truth(dataset)
    if truth.geometry is None:
        raise SynthaptError("truth profile: the dataset's ground truth has no geometry")
    atoms = truth.source_atom >= 0
    distance = np.full(dataset.n_ions, np.nan)
    distance[atoms] = truth.geometry.signed_distance(truth.position[atoms])
    species = np.where(atoms, truth.species, -1)
    return profile_from_distance(distance, species, truth.species_names, bin_width)


def require_truth(dataset: APTDataset):
    if dataset.truth is None:
        raise SynthaptError(
            "score: the dataset has no ground truth (real data cannot be scored; "
            "use a synthetic dataset from 'synthapt emulate')")
    return dataset.truth


def profile_scores(recovered: Profile, truth: Profile, params: ScoreParams | None = None):
    """All profile metrics of ``recovered`` against ``truth``; see ``synthapt.profile_metrics``."""
    from synthapt import profile_metrics

    return profile_metrics.profile_scores(recovered, truth, params or ScoreParams())


def score(result: Any, dataset: APTDataset, truth_profile: Profile | None = None,
          params: ScoreParams = ScoreParams(), recovered_profile: Profile | None = None,
          ) -> dict[str, Any]:
    """Score a segmentation ``result`` (``.labels`` (M,), optional ``.mesh``) against the
    ground truth of ``dataset``; returns a flat dict of named numbers (see ``METRICS``).

    The recovered proxigram is ``recovered_profile`` or, with a mesh, computed with
    ``synthapt.profiles.proxigram``; the true profile is ``truth_profile`` or computed from the
    dataset's ground-truth links (``truth_profile_of_dataset``).
    """
    truth = require_truth(dataset)
    labels = check_labels(getattr(result, "labels", result), dataset.n_ions)
    out: dict[str, Any] = {"n_ions": dataset.n_ions}
    out.update(label_scores(labels, truth.phase))
    mesh = getattr(result, "mesh", None)
    if mesh is not None and truth.geometry is not None:
        boundary = DatasetBoundary(dataset.positions)
        out.update(interface_distance(mesh, truth.geometry, boundary,
                                      params.boundary_margin, params.mesh_subdivisions))
        out.update(interface_coverage(mesh, truth.geometry, boundary,
                                      params.boundary_margin, params.coverage_tolerance))
    if recovered_profile is None:
        recovered_profile = getattr(result, "profile", None)
    if recovered_profile is None and mesh is not None and dataset.species is not None:
        from synthapt.profiles import proxigram

        recovered_profile = proxigram(dataset, mesh, bin_width=params.bin_width)
    if recovered_profile is not None and (truth_profile is not None or truth.geometry is not None):
        if truth_profile is None:
            truth_profile = truth_profile_of_dataset(dataset, params.bin_width)
        out.update(profile_scores(recovered_profile, truth_profile, params))
    return out


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
