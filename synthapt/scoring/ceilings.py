"""Reference "methods" that give every score its ceiling, and the scores relative to it.

- ``oracle``: the TRUE geometry at each ion's OBSERVED position (``synthapt.apt.ceilings``).
- ``bayes``: posterior probability of precipitate given the observed position, the true
  geometry and the emulation's resolution model, > 0.5. No labelling of the observed positions
  can have a lower expected error: for curved interfaces it beats the oracle.
- ``truth-mesh``: the true interface itself as a mesh (the oracle's labels), so that every
  distance and profile metric has its floor: its proxigram is what a perfect interface gives on
  these (blurred) ions.

``excess_error`` = (1 - accuracy) / (1 - Bayes accuracy) and ``excess_error_dice`` likewise for
Dice: 1 is the best any method can do on that dataset (NaN where the Bayes rule is perfect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthapt.apt.ceilings import bayes_labels, oracle_labels, resolution_model
from synthapt.data import APTDataset
from synthapt.errors import SynthaptError
from synthapt.spatial.mesh import Mesh, interface_mesh
from synthapt.structures.geometry import signed_distance_grid

REFERENCES = ("oracle", "bayes", "truth-mesh")
"""Names of the reference methods, in report order."""
TRUTH_MESH_SPACING = 0.1
"""Grid spacing (nm) of the marching-cubes mesh of the true interface."""
TRUTH_MESH_MAX_VOXELS = 64_000_000
"""Largest grid for the true-interface mesh (coarser spacing beyond it)."""


@dataclass(frozen=True, eq=False)
class ReferenceSegmentation:
    """A reference labelling: per-ion labels (M,) int8 and, for ``truth-mesh``, the true
    interface mesh (nm) clipped to the analysed specimen."""

    labels: np.ndarray
    mesh: Mesh | None
    method: str
    message: str = ""


def require_geometry(dataset: APTDataset) -> None:
    """SynthaptError unless the dataset carries the ground truth the ceilings need."""
    if dataset.truth is None or dataset.truth.geometry is None:
        raise SynthaptError("ceilings (oracle, bayes, truth-mesh) need the true geometry of a "
                            "synthetic dataset; this dataset has no ground truth (real data): "
                            "score it without references (--no-references)")


def available_references(dataset: APTDataset) -> tuple[str, ...]:
    """The references a dataset supports: all three for an emulated synthetic dataset; oracle and
    truth-mesh when it has a true geometry but no record of the emulation's resolution model
    (hand-made data); none for real data."""
    if dataset.truth is None or dataset.truth.geometry is None:
        return ()
    try:
        resolution_model(dataset)
    except SynthaptError:
        return ("oracle", "truth-mesh")
    return REFERENCES


def _in_specimen(dataset: APTDataset, points: np.ndarray) -> np.ndarray:
    """(K,) bool: points inside the analysed specimen (the emulated needle within the box), or
    inside the ions' bounding box where the dataset records no specimen shape."""
    try:
        return resolution_model(dataset).in_specimen(points)
    except SynthaptError:
        lo, hi = np.min(dataset.positions, axis=0), np.max(dataset.positions, axis=0)
        return np.all((points >= lo) & (points <= hi), axis=1)


def truth_mesh(dataset: APTDataset, spacing: float = TRUTH_MESH_SPACING) -> Mesh | None:
    """The true interface (zero level of the geometry) as a mesh over the ions' bounding box,
    faces outside the analysed specimen (needle within the box) removed; normals point out of
    the precipitate. None if the interface does not cross the analysed volume."""
    require_geometry(dataset)
    lo = np.min(dataset.positions, axis=0).astype(np.float64)
    hi = np.max(dataset.positions, axis=0).astype(np.float64)
    volume = float(np.prod(hi - lo))
    spacing = max(spacing, (volume / TRUTH_MESH_MAX_VOXELS) ** (1 / 3))
    shape = np.maximum(np.ceil((hi - lo) / spacing).astype(int) + 1, 2)
    axes = [lo[a] + spacing * (np.arange(shape[a]) + 0.5) - 0.5 * spacing for a in range(3)]
    sdf = signed_distance_grid(dataset.truth.geometry, axes).astype(np.float32)
    mesh = interface_mesh(sdf, lo - 0.5 * spacing, spacing, level=0.0, enriched_inside=True)
    if mesh is None:
        return None
    keep = _in_specimen(dataset, mesh.triangles.mean(axis=1))
    if not keep.any():
        return None
    faces = mesh.faces[keep]
    used, compact = np.unique(faces, return_inverse=True)
    return Mesh(mesh.vertices[used], compact.reshape(faces.shape))


def reference_segmentations(dataset: APTDataset,
                            names: tuple[str, ...] = REFERENCES) -> dict[str, ReferenceSegmentation]:
    """The reference methods ``names`` (a subset of ``REFERENCES``) of a synthetic dataset."""
    unknown = [n for n in names if n not in REFERENCES]
    if unknown:
        raise SynthaptError(f"references: unknown {unknown} (known: {', '.join(REFERENCES)})")
    if not names:
        return {}
    require_geometry(dataset)
    out: dict[str, ReferenceSegmentation] = {}
    oracle = oracle_labels(dataset).astype(np.int8) if {"oracle", "truth-mesh"} & set(names) else None
    for name in names:
        if name == "oracle":
            out[name] = ReferenceSegmentation(oracle, None, name)
        elif name == "bayes":
            out[name] = ReferenceSegmentation(bayes_labels(dataset).astype(np.int8), None, name)
        else:
            out[name] = ReferenceSegmentation(oracle, truth_mesh(dataset), name)
    return out


def _excess(value: Any, ceiling: Any) -> float:
    """(1 - value) / (1 - ceiling); NaN if either is missing or the ceiling is perfect."""
    try:
        value, ceiling = float(value), float(ceiling)
    except (TypeError, ValueError):
        return math.nan
    if not (math.isfinite(value) and math.isfinite(ceiling)) or 1.0 - ceiling <= 0.0:
        return math.nan
    return (1.0 - value) / (1.0 - ceiling)


def with_excess_error(scores: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A copy of ``scores`` (method -> metrics) where every method gains ``bayes_accuracy``,
    ``excess_error`` and ``excess_error_dice`` relative to the ``bayes`` entry (unchanged
    without one). The inputs are not modified."""
    bayes = scores.get("bayes")
    if bayes is None:
        return {m: dict(v) for m, v in scores.items()}
    return {method: {**values, "bayes_accuracy": bayes.get("accuracy"),
                     "excess_error": _excess(values.get("accuracy"), bayes.get("accuracy")),
                     "excess_error_dice": _excess(values.get("dice"), bayes.get("dice"))}
            for method, values in scores.items()}
