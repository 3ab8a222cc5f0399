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
  +-``profile_window`` nm, plateau compositions (``plateau_min``..``plateau_max`` nm from the
  interface on each side), interface width (10-90 %) and shift (50 % crossing) of an error
  function fitted to the partitioning element.

The vocabulary lives in ``synthapt.scoring.metrics``, the label scores in
``synthapt.scoring.labels``, the mesh scores in ``synthapt.scoring.mesh`` and the profile scores in
``synthapt.scoring.profile``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.data import APTDataset, Profile
from synthapt.errors import SynthaptError
from synthapt.scoring.labels import check_labels, label_scores
from synthapt.scoring.mesh import DatasetBoundary, interface_coverage, interface_distance
from synthapt.scoring.metrics import ScoreParams
from synthapt.scoring.profile import profile_scores as profile_metric_scores
from synthapt.spatial.profiles import proxigram
from synthapt.structures.truth import profile_from_distance



def truth_profile_of_dataset(dataset: APTDataset, bin_width: float = 0.2) -> Profile:
    """Ground-truth profile of the detected ions: their TRUE species at their TRUE positions vs
    the exact geometry (background ions excluded). Needs ``dataset.truth`` with a geometry."""
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
    """All profile metrics of ``recovered`` against ``truth``; see ``synthapt.scoring.profile``."""
    return profile_metric_scores(recovered, truth, params or ScoreParams())


def score(result: Any, dataset: APTDataset, truth_profile: Profile | None = None,
          params: ScoreParams = ScoreParams(), recovered_profile: Profile | None = None,
          ) -> dict[str, Any]:
    """Score a segmentation ``result`` (``.labels`` (M,), optional ``.mesh``) against the
    ground truth of ``dataset``; returns a flat dict of named numbers (see ``METRICS``).

    The recovered proxigram is ``recovered_profile`` or, with a mesh, computed with
    ``synthapt.spatial.profiles.proxigram``; the true profile is ``truth_profile`` or computed from the
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
        recovered_profile = proxigram(dataset, mesh, bin_width=params.bin_width)
    if recovered_profile is not None and (truth_profile is not None or truth.geometry is not None):
        if truth_profile is None:
            truth_profile = truth_profile_of_dataset(dataset, params.bin_width)
        out.update(profile_scores(recovered_profile, truth_profile, params))
    return out
