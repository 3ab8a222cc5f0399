"""The segmentation result type and its HDF5 file (``write_segmentation``, ``read_segmentation``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthapt.config import to_dict
from synthapt.data import PRECIPITATE
from synthapt.errors import FormatError, SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.io.hdf5 import SCHEMA_VERSION, read_group, write_group
from synthapt.spatial.mesh import Mesh


@dataclass(frozen=True, eq=False, kw_only=True)
class SegmentationResult:
    """Outcome of a segmentation.

    labels: (M,) int8 per-ion phase (0 matrix, 1 precipitate). voxel_labels: (nx,ny,nz) int8:
        0 matrix, 1 precipitate, -1 (``NO_PHASE``) outside the specimen (``synthapt.spatial.volume``).
    indicator: (nx,ny,nz) float32 smoothed precipitate indicator (labels/mesh at 0.5), or the
        concentration for iso-surfaces. edge_field: (nx,ny,nz) float32 fused edges in [0, 1]
        (None for iso-surfaces). concentration: (nx,ny,nz) float32 at.% (NaN outside the specimen).
    origin (3,) nm and voxel_size nm place the grids. mesh: interface ``Mesh`` (None if no
    interface). method: a name of ``synthapt.segmentation.methods`` (e.g. "hed", "hed-edge", "iso"). elements: imaged element(s).
    params: the parameters as plain data. phase_composition: at.% of the element(s) in each phase.
    message: "" or why there is no interface. source: where the ions came from
    ({"dataset_path", "ranges_path"}, as recorded by ``write_segmentation``), or {}.
    """

    labels: np.ndarray
    voxel_labels: np.ndarray
    indicator: np.ndarray
    edge_field: np.ndarray | None
    concentration: np.ndarray
    origin: np.ndarray
    voxel_size: float
    mesh: Mesh | None
    method: str
    elements: tuple[str, ...]
    params: dict = field(default_factory=dict)
    phase_composition: dict = field(default_factory=dict)
    message: str = ""
    source: dict = field(default_factory=dict)

    @property
    def interface_found(self) -> bool:
        return self.mesh is not None

    @property
    def precipitate_fraction(self) -> float:
        """Fraction of ions labelled precipitate."""
        return float(np.mean(self.labels == PRECIPITATE)) if len(self.labels) else 0.0

    def replace(self, **changes: Any) -> SegmentationResult:
        return dataclasses.replace(self, **changes)


SEGMENTATION_GROUP = "segmentation"


def write_segmentation(path: str | Any, result: SegmentationResult, dataset_path: str | None = None,
                       ranges_path: str | None = None) -> None:
    """Write ``result`` to an HDF5 file (atomically; byte-identical for identical results).

    Root attributes ``synthapt_schema`` and ``kind = "segmentation"``; group ``/segmentation``:
    ``labels`` (M,) int8, ``voxel_labels``/``indicator``/``concentration``/``edge_field`` grids,
    ``origin`` (3,) nm and ``voxel_size`` nm, ``mesh/{vertices,faces,normals}``, attributes
    ``method``, ``message``, ``dataset_path``, ``ranges_path``, JSON ``params`` and
    ``phase_composition``, ``elements`` (strings).
    """
    import h5py

    mapping: dict[str, Any] = {
        "labels": result.labels, "voxel_labels": result.voxel_labels, "indicator": result.indicator,
        "edge_field": result.edge_field, "concentration": result.concentration,
        "origin": np.asarray(result.origin, dtype=np.float64), "voxel_size": float(result.voxel_size),
        "method": result.method, "message": result.message, "elements": list(result.elements),
        "params": json.dumps(to_dict(result.params), sort_keys=True),
        "phase_composition": json.dumps(to_dict(result.phase_composition), sort_keys=True),
        "dataset_path": None if dataset_path is None else str(dataset_path),
        "ranges_path": None if ranges_path is None else str(ranges_path),
    }
    if result.mesh is not None:
        mapping["mesh"] = {"vertices": result.mesh.vertices, "faces": result.mesh.faces,
                           "normals": result.mesh.normals}
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w", track_order=True, rdcc_nbytes=0) as f:
            f.attrs["synthapt_schema"] = SCHEMA_VERSION
            f.attrs["kind"] = "segmentation"
            write_group(f.create_group(SEGMENTATION_GROUP, track_times=False), mapping)


def read_segmentation(path: str | Any) -> SegmentationResult:
    """Read a file of ``write_segmentation`` (``source`` holds the recorded dataset/ranges paths)."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise SynthaptError(f"{p}: file not found")
    try:
        with h5py.File(p, "r") as f:
            if SEGMENTATION_GROUP not in f:
                raise FormatError(f"{p}: no /{SEGMENTATION_GROUP} group (not a segmentation file)")
            m = read_group(f[SEGMENTATION_GROUP])
    except OSError as exc:
        raise FormatError(f"{p}: not a readable HDF5 file ({exc})") from None
    try:
        mesh = None
        if "mesh" in m:
            mesh = Mesh(m["mesh"]["vertices"], m["mesh"]["faces"], m["mesh"]["normals"])
        elements = m["elements"]
        result = SegmentationResult(
            labels=m["labels"], voxel_labels=m["voxel_labels"], indicator=m["indicator"],
            edge_field=m.get("edge_field"), concentration=m["concentration"],
            origin=np.asarray(m["origin"]), voxel_size=float(m["voxel_size"]), mesh=mesh,
            method=m["method"], elements=(elements,) if isinstance(elements, str) else tuple(elements),
            params=json.loads(m["params"]), phase_composition=json.loads(m["phase_composition"]),
            message=m.get("message", ""),
            source={k: m[k] for k in ("dataset_path", "ranges_path") if k in m})
    except (KeyError, ValueError, SynthaptError) as exc:
        raise FormatError(f"{p}: malformed segmentation group ({exc})") from None
    return result


def recorded_file(result: SegmentationResult, key: str, segmentation_path: str | Path | None = None,
                  given: str | Path | None = None) -> Path | None:
    """The file a segmentation result records under ``source[key]`` ("dataset_path" or
    "ranges_path"): ``given`` if not None; else the recorded path, tried as given, then (when it is
    relative and absent) beside ``segmentation_path``. None if nothing is recorded."""
    if given is not None:
        return Path(given)
    recorded = result.source.get(key)
    if recorded is None:
        return None
    path = Path(recorded)
    if segmentation_path is not None and not path.is_absolute() and not path.exists():
        beside = Path(segmentation_path).parent / path.name
        if beside.exists():
            return beside
    return path
