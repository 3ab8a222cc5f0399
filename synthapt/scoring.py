"""Scoring files: user labels/meshes, segmentation files, thresholds, and the case-result dict.

A *case result* is the JSON-able dict that ``synthapt score --json`` writes, the campaign stores
as ``result.json`` per case, and ``synthapt report`` reads (format in docs/scoring.md)::

    {"name": str, "n_ions": int, "scores": {method: {metric: number}},
     "profiles": {"truth": P, method: P}, "files": {name: sha256},
     "inputs": {"dataset": path, method: path}, "config": {...}, "provenance": {...}}

where ``P`` is ``profile_to_dict(Profile)``. Only ``name`` and ``scores`` are required.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthapt.config import to_dict
from synthapt.data import Profile
from synthapt.errors import ConfigError, FormatError, SynthaptError
from synthapt.metrics import ScoreParams, check_labels, metric_info, score, worse_than

RESULT_FORMAT = "synthapt-case-result/1"


@dataclass(frozen=True, eq=False)
class UserSegmentation:
    """A segmentation from outside synthapt: per-ion labels (M,) int8 (0 matrix, 1 precipitate)
    in the dataset's ion order, and optionally an interface mesh (vertices (V,3) nm, faces (F,3))."""

    labels: np.ndarray
    mesh: Any = None
    method: str = "user"


def read_labels(spec: str | Path) -> np.ndarray:
    """Per-ion labels from ``x.npy``, ``x.csv`` (one column, optional header line) or
    ``file.h5:/path/to/dataset``. Values are checked later against the dataset."""
    text = str(spec)
    match = re.fullmatch(r"(.+\.(?:h5|hdf5)):(.+)", text, flags=re.IGNORECASE)
    if match:
        return _read_h5_labels(Path(match.group(1)), match.group(2))
    path = Path(text)
    if not path.is_file():
        raise SynthaptError(f"{path}: labels file not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
        return arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if suffix in (".csv", ".txt"):
        return _read_csv_labels(path)
    if suffix in (".h5", ".hdf5"):
        raise SynthaptError(f"{path}: name the labels inside the file as {path}:/path/to/dataset")
    raise SynthaptError(f"{path}: unknown labels format {suffix!r} (use .npy, .csv or file.h5:/path)")


def _read_csv_labels(path: Path) -> np.ndarray:
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if lines and not _is_number(lines[0].split(",")[0]):
        lines = lines[1:]  # header
    values = []
    for number, line in enumerate(lines, start=1):
        cells = line.split(",")
        if len(cells) != 1 or not _is_number(cells[0]):
            raise FormatError(f"{path}: line {number} is not a single number: {line[:40]!r}")
        values.append(float(cells[0]))
    if not values:
        raise FormatError(f"{path}: no labels in the file")
    return np.array(values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_h5_labels(path: Path, inner: str) -> np.ndarray:
    import h5py

    if not path.is_file():
        raise SynthaptError(f"{path}: labels file not found")
    try:
        with h5py.File(path, "r") as fh:
            if inner not in fh or not isinstance(fh[inner], h5py.Dataset):
                raise FormatError(f"{path}: no dataset {inner!r} in the file")
            return np.asarray(fh[inner][()])
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None


def read_mesh(path: str | Path):
    """The ``synthapt.mesh.Mesh`` of a triangle mesh file (.ply, .obj, .stl; coordinates nm)."""
    from synthapt.mesh import read_mesh as read_mesh_file

    return read_mesh_file(path)


def load_score_params(path: str | Path | None) -> ScoreParams:
    """``ScoreParams`` from a TOML file (keys as the dataclass fields, a ``[score]`` table
    accepted too); defaults without a file."""
    from synthapt.config import from_dict, read_toml

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
    A metric missing from a method's scores counts as failed."""
    failures = []
    for method, values in scores.items():
        for name, limit in thresholds.items():
            value = values.get(name)
            if value is None or worse_than(name, float(value), limit):
                shown = "missing" if value is None else f"{float(value):.4g}"
                failures.append(f"{method}: {name} = {shown} (limit {limit:g})")
    return failures


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    return {"edges": profile.edges.tolist(), "counts": profile.counts.tolist(),
            "species_names": list(profile.species_names)}


def profile_from_dict(data: dict[str, Any], where: str = "profile") -> Profile:
    try:
        return Profile(np.asarray(data["edges"], dtype=np.float64),
                       np.asarray(data["counts"], dtype=np.int64), tuple(data["species_names"]))
    except (KeyError, TypeError, ValueError, SynthaptError) as exc:
        raise FormatError(f"{where}: not a profile ({exc})") from None


def score_case(segmentations: dict[str, Any], dataset, name: str = "case",
               params: ScoreParams = ScoreParams(), truth_profile: Profile | None = None,
               config: dict | None = None) -> dict[str, Any]:
    """Score several segmentations (method -> result with ``.labels``, optional ``.mesh``) of one
    dataset; returns a case-result dict with scores and the profiles used."""
    from synthapt.metrics import require_truth, truth_profile_of_dataset
    from synthapt.provenance import provenance

    truth = require_truth(dataset)
    for method, result in segmentations.items():
        check_labels(getattr(result, "labels", result), dataset.n_ions, where=f"{method} labels")
    if truth_profile is None and truth.geometry is not None:
        truth_profile = truth_profile_of_dataset(dataset, params.bin_width)
    scores, profiles = {}, {}
    if truth_profile is not None:
        profiles["truth"] = profile_to_dict(truth_profile)
    for method, result in segmentations.items():
        recovered = recovered_profile(result, dataset, params)
        scores[method] = score(result, dataset, truth_profile, params, recovered)
        if recovered is not None:
            profiles[method] = profile_to_dict(recovered)
    out = {"format": RESULT_FORMAT, "name": name, "n_ions": int(dataset.n_ions),
           "scores": scores, "profiles": profiles,
           "score_params": {k: getattr(params, k) for k in params.__dataclass_fields__},
           "provenance": provenance()}
    if config is not None:
        out["config"] = config
    return out


def recovered_profile(result: Any, dataset, params: ScoreParams) -> Profile | None:
    """The result's own proxigram, else one computed against its mesh (None without a mesh)."""
    profile = getattr(result, "profile", None)
    mesh = getattr(result, "mesh", None)
    if profile is None and mesh is not None and dataset.species is not None:
        from synthapt.profiles import proxigram

        profile = proxigram(dataset, mesh, bin_width=params.bin_width)
    return profile


def load_truth_dataset(path: str | Path):
    """The dataset (with per-ion ground truth) stored in an HDF5 file."""
    from synthapt.io.hdf5 import read_dataset

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
                name: str = "") -> dict[str, Any]:
    """Score segmentation files (``synthapt segment`` output) and/or a user's own labels (and
    mesh) against the ground truth in ``truth`` (a dataset .h5). Without ``truth``: the dataset
    recorded in the first segmentation file, else ``dataset.h5`` beside it. Returns a
    case-result dict."""
    segmentation_files = [Path(p) for p in segmentation_files]
    if mesh is not None and labels is None:
        raise SynthaptError("score: --mesh needs --labels (the per-ion labels of the same method)")
    if labels is None and not segmentation_files:
        raise SynthaptError("score: nothing to score (give segmentation files or --labels)")
    results: dict[str, Any] = {}
    for path in segmentation_files:
        if not path.is_file():
            raise SynthaptError(f"{path}: segmentation file not found")
        from synthapt.segment import read_segmentation

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
    case = score_case(results, dataset, name=name or Path(truth).stem, params=params)
    case["inputs"] = {"dataset": str(truth), **{m: str(p) for m, p in
                                                 zip(results, segmentation_files)}}
    if labels is not None:
        user_method = list(results)[-1]
        case["inputs"][f"{user_method}.labels"] = str(labels)
        if mesh is not None:
            case["inputs"][f"{user_method}.mesh"] = str(mesh)
            case["inputs"][f"{user_method}.mesh_flipped"] = flipped
    return case


def orient_mesh(mesh, positions: np.ndarray, labels: np.ndarray, sample: int = 20_000):
    """(mesh, flipped): ``mesh`` with its normals pointing out of the precipitate, judged by the
    labels: precipitate-labelled ions must lie at larger signed distance than matrix ones (a
    fixed random subset of ``sample`` ions is used). Many tools wind the other way."""
    from synthapt.profiles import signed_distance_to_mesh

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
        recorded = (getattr(results[0], "source", None) or {}).get("dataset_path")
        candidates = []
        if recorded:
            candidates += [Path(recorded), files[0].parent / Path(recorded).name]
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


def write_case_json(path: str | Path, case: dict[str, Any]) -> None:
    """Write a case-result dict as deterministic JSON (sorted keys, NaN -> null), atomically."""
    import json

    from synthapt.io.atomic import atomic_output

    text = json.dumps(jsonable(case), indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def jsonable(value: Any) -> Any:
    """Plain JSON data from numpy scalars/arrays, dataclasses, tuples, paths; non-finite
    floats -> None."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(to_dict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
