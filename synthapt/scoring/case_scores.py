"""Scoring files: user segmentations, segmentation files, thresholds; ``score_case`` gives the
case-result record (``synthapt.scoring.record.CaseRecord``).

A *case result* is the JSON-able dict (``CaseRecord.to_dict``) that ``synthapt score --json`` writes, the campaign stores
as ``result.json`` per case, and ``synthapt report`` reads (format in docs/scoring.md)::

    {"name": str, "n_ions": int, "scores": {method: {metric: number}},
     "profiles": {"truth": P, method: P}, "files": {name: sha256},
     "inputs": {"dataset": path, method: path}, "config": {...}, "provenance": {...}}

where ``P`` is ``profile_to_dict(Profile)``. Only ``name`` and ``scores`` are required.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthapt.config import from_dict, read_toml
from synthapt.data import Profile
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io.hdf5 import read_dataset
from synthapt.io.labels import read_labels
from synthapt.provenance import provenance
from synthapt.scoring.ceilings import (REFERENCES, available_references, reference_segmentations,
                                       with_excess_error)
from synthapt.scoring.labels import check_labels
from synthapt.scoring.metrics import ScoreParams, metric_info, worse_than
from synthapt.scoring.record import CaseRecord, profile_to_dict
from synthapt.scoring.score import profile_scores, require_truth, score, truth_profile_of_dataset
from synthapt.segmentation.result import read_segmentation, recorded_file
from synthapt.spatial.mesh import read_mesh
from synthapt.spatial.mesh_distance import signed_distance_to_mesh
from synthapt.spatial.profiles import proxigram

@dataclass(frozen=True, eq=False)
class UserSegmentation:
    """A segmentation from outside synthapt: per-ion labels (M,) int8 (0 matrix, 1 precipitate)
    in the dataset's ion order, and optionally an interface mesh (vertices (V,3) nm, faces (F,3))."""

    labels: np.ndarray
    mesh: Any = None
    method: str = "user"


def load_score_params(path: str | Path | None) -> ScoreParams:
    """``ScoreParams`` from a TOML file (keys as the dataclass fields, a ``[score]`` table
    accepted too); defaults without a file."""
    if path is None:
        return ScoreParams()
    data = read_toml(path)
    if set(data) == {"score"}:
        data = data["score"]
    return from_dict(ScoreParams, data, "score")


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """``["accuracy=0.98", ...]`` -> {metric: value}; unknown metrics raise ConfigError."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            threshold = float(value)
        except ValueError:
            threshold = math.nan
        if not sep or not name or not math.isfinite(threshold):
            raise ConfigError(f"--fail-under: expected METRIC=NUMBER, got {item!r}")
        if metric_info(name) is None:
            raise ConfigError(f"--fail-under: {name!r} is not a metric with a direction")
        out[name] = threshold
    return out


def failed_thresholds(scores: dict[str, dict[str, Any]],
                      thresholds: dict[str, float]) -> list[str]:
    """Lines 'method: metric = value (limit L)' for every score worse than its threshold.
    A metric missing from a method's scores counts as failed. The reference methods (ceilings)
    are not checked."""
    failures = []
    for method, values in scores.items():
        if method in REFERENCES:
            continue
        for name, limit in thresholds.items():
            value = values.get(name)
            if value is None or worse_than(name, float(value), limit):
                shown = "missing" if value is None else f"{float(value):.4g}"
                failures.append(f"{method}: {name} = {shown} (limit {limit:g})")
    return failures


def score_case(segmentations: dict[str, Any], dataset, name: str = "case",
               params: ScoreParams = ScoreParams(), truth_profile: Profile | None = None,
               config: dict | None = None, references: tuple[str, ...] = REFERENCES) -> CaseRecord:
    """Score several segmentations (method -> result with ``.labels``, optional ``.mesh``) of one
    dataset, beside the reference methods ``references`` that the dataset supports
    (``synthapt.scoring.ceilings``: oracle, bayes, truth-mesh; scored first); returns the case-result record with scores (each method
    with its excess error over the Bayes rule) and the profiles used (each computed once here).

    Profile metrics compare a recovered proxigram with the ``truth-mesh`` proxigram (the same
    observed ions against the true interface: what a perfect interface gives) when that
    reference is scored, else with the true-position profile. The instrument's own broadening
    (truth-mesh profile vs true-position profile) is ``instrument_profile_rmse`` of
    ``truth-mesh``."""
    truth = require_truth(dataset)
    for method, result in segmentations.items():
        check_labels(getattr(result, "labels", result), dataset.n_ions, where=f"{method} labels")
    if truth_profile is None and truth.geometry is not None:
        truth_profile = truth_profile_of_dataset(dataset, params.bin_width)
    supported = available_references(dataset)
    refs = reference_segmentations(dataset, tuple(r for r in references if r in supported))
    profiles: dict[str, Any] = {}
    if truth_profile is not None:
        profiles["truth"] = profile_to_dict(truth_profile)
    reference_profile = truth_profile
    extra: dict[str, dict[str, Any]] = {}
    perfect = refs.get("truth-mesh")
    if perfect is not None and perfect.mesh is not None and dataset.species is not None:
        reference_profile = proxigram(dataset, perfect.mesh, bin_width=params.bin_width)
        if truth_profile is not None:
            broadening = profile_scores(reference_profile, truth_profile, params)
            extra["truth-mesh"] = {"instrument_profile_rmse": broadening.get("profile_rmse")}
    scores: dict[str, dict[str, Any]] = {}
    for method, result in {**refs, **segmentations}.items():
        recovered = (reference_profile if method == "truth-mesh" and reference_profile is not truth_profile
                     else recovered_profile(result, dataset, params))
        scores[method] = {**score(result, dataset, reference_profile, params, recovered),
                          **extra.get(method, {})}
        if recovered is not None:
            profiles[method] = profile_to_dict(recovered)
    return CaseRecord(name=name, n_ions=int(dataset.n_ions), scores=with_excess_error(scores),
                      profiles=profiles,
                      score_params={k: getattr(params, k) for k in params.__dataclass_fields__},
                      provenance=provenance(), config=config)


def recovered_profile(result: Any, dataset, params: ScoreParams) -> Profile | None:
    """The result's own proxigram, else one computed against its mesh (None without a mesh)."""
    profile = getattr(result, "profile", None)
    mesh = getattr(result, "mesh", None)
    if profile is None and mesh is not None and dataset.species is not None:
        profile = proxigram(dataset, mesh, bin_width=params.bin_width)
    return profile


def load_truth_dataset(path: str | Path):
    """The dataset (with per-ion ground truth) stored in an HDF5 file."""
    path = Path(path)
    if not path.is_file():
        raise SynthaptError(f"{path}: dataset file not found")
    dataset = read_dataset(path)
    if dataset.truth is None:
        raise SynthaptError(f"{path}: the dataset has no ground truth to score against "
                            "(real data cannot be scored)")
    return dataset


def score_files(segmentation_files: list[str | Path] = (), truth: str | Path | None = None,
                labels: str | Path | None = None, mesh: str | Path | None = None,
                method: str = "user", params: ScoreParams = ScoreParams(),
                name: str = "", references: tuple[str, ...] = REFERENCES) -> CaseRecord:
    """Score segmentation files (``synthapt segment`` output) and/or a user's own labels (and
    mesh) against the ground truth in ``truth`` (a dataset .h5), beside the ``references`` the
    dataset supports (``available_references``). Without ``truth``: the dataset
    recorded in the first segmentation file, else ``dataset.h5`` beside it. Returns the
    case-result record (with ``inputs``: the files scored)."""
    segmentation_files = [Path(p) for p in segmentation_files]
    if mesh is not None and labels is None:
        raise SynthaptError("score: --mesh needs --labels (the per-ion labels of the same method)")
    if labels is None and not segmentation_files:
        raise SynthaptError("score: nothing to score (give segmentation files or --labels)")
    results: dict[str, Any] = {}
    for path in segmentation_files:
        if not path.is_file():
            raise SynthaptError(f"{path}: segmentation file not found")
        result = read_segmentation(path)
        results[_unique(str(getattr(result, "method", "") or path.stem), results)] = result
    if truth is None:
        truth = _recorded_dataset(segmentation_files, list(results.values()))
    dataset = load_truth_dataset(truth)
    for method_name, result in results.items():
        check_labels(result.labels, dataset.n_ions, where=f"{segmentation_files[0].name} labels"
                     if len(results) == 1 else f"{method_name} labels")
    flipped = False
    if labels is not None:
        user_labels = check_labels(read_labels(labels), dataset.n_ions, where=str(labels))
        user_mesh = None
        if mesh is not None:
            user_mesh, flipped = orient_mesh(read_mesh(mesh), dataset.positions, user_labels)
        results[_unique(method, results)] = UserSegmentation(user_labels, user_mesh, method)
    references = tuple(r for r in references if r in available_references(dataset))
    case = score_case(results, dataset, name=name or Path(truth).stem, params=params,
                      references=references)
    inputs: dict[str, Any] = {"dataset": str(truth), **{m: str(p) for m, p in
                                                        zip(results, segmentation_files)}}
    if labels is not None:
        user_method = list(results)[-1]
        inputs[f"{user_method}.labels"] = str(labels)
        if mesh is not None:
            inputs[f"{user_method}.mesh"] = str(mesh)
            inputs[f"{user_method}.mesh_flipped"] = flipped
    return case.replace(inputs=inputs)


def orient_mesh(mesh, positions: np.ndarray, labels: np.ndarray, sample: int = 20_000):
    """(mesh, flipped): ``mesh`` with its normals pointing out of the precipitate, judged by the
    labels: precipitate-labelled ions must lie at larger signed distance than matrix ones (a
    fixed random subset of ``sample`` ions is used). Many tools wind the other way."""
    if not (labels == 1).any() or not (labels == 0).any():
        return mesh, False
    pick = np.arange(len(labels))
    if len(pick) > sample:
        pick = np.sort(np.random.default_rng(0).choice(len(labels), sample, replace=False))
    d = signed_distance_to_mesh(np.asarray(positions)[pick], mesh)
    inside, outside = d[labels[pick] == 1], d[labels[pick] == 0]
    if inside.size and outside.size and np.median(inside) < np.median(outside):
        return mesh.flipped(), True
    return mesh, False


def _recorded_dataset(files: list[Path], results: list[Any]) -> Path:
    """The ground-truth dataset of segmentation files: the path recorded in the first file
    (relative paths tried as given, then beside the file), else dataset.h5 beside it."""
    if files:
        candidates = []
        if (getattr(results[0], "source", None) or {}).get("dataset_path"):
            recorded = recorded_file(results[0], "dataset_path")
            candidates += [recorded, files[0].parent / recorded.name]
        candidates.append(files[0].parent / "dataset.h5")
        for candidate in candidates:
            if candidate.is_file() and candidate.suffix.lower() in (".h5", ".hdf5"):
                return candidate
    raise SynthaptError("score: no ground truth; pass --truth dataset.h5 "
                        "(a synthetic dataset with per-ion truth)")


def _unique(name: str, taken: dict) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    return out
