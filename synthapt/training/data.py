"""Training data for the learned edge detector, drawn from the generator with exact truth.

Each sample is one emulated lattice specimen (``synthapt.apt.specimens.lattice_specimen``: an fcc
random solid solution whose phases follow a geometry, no MD) whose parameters are drawn from a
``TrainingSpec``. Stored per sample (``sample_NNNNN.npz``, float32 unless noted):

- ``image`` (nx, ny, nz) in [0, 1]: the normalised concentration image the segmentation feeds its
  detector (``synthapt.training.pipeline.detector_input``); the detector sees its slices along
  the three axes;
- ``mask`` (bool): voxels inside the analysed specimen;
- ``sdf``: exact signed distance (nm, > 0 in the precipitate) of the true interface at the voxel
  centres (``NO_INTERFACE_SDF`` everywhere for single-phase specimens);
- ``edge``: the target edge map ``edge_target(sdf, voxel_size)``;
- ``params``: a JSON string of every parameter the sample came from.

``index.json`` lists the samples with their parameters and the spec. Same spec -> byte-identical
files (``synthapt.io.npz.save_npz``: fixed member timestamps).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from synthapt.apt.emulate import emulate
from synthapt.apt.params import EmulationParams
from synthapt.apt.specimens import lattice_specimen
from synthapt.config import from_dict
from synthapt.errors import SynthaptError
from synthapt.io.atomic import atomic_folder
from synthapt.io.npz import save_npz
from synthapt.structures import Layered, Particles, Union, gyroid_for_fraction
from synthapt.training.pipeline import detector_input
from synthapt.training.spec import GEOMETRY_KINDS, SYSTEMS, TrainingSpec

FCC_LATTICE_NM = 0.356
EDGE_WIDTH_VOXELS = 0.75
"""Gaussian width (voxels) of the target edge ridge around the true interface."""
NO_INTERFACE_SDF = -1000.0
INDEX_FILE = "index.json"
DATA_FORMAT = "synthapt-training-data/1"


def edge_target(sdf: np.ndarray, voxel_size: float) -> np.ndarray:
    """Target edge map: exp(-sdf^2 / (2 w^2)), w = ``EDGE_WIDTH_VOXELS`` x voxel_size (nm);
    ``sdf`` in nm, any shape; float32 in [0, 1], 1 on the interface."""
    width = EDGE_WIDTH_VOXELS * voxel_size
    return np.exp(-0.5 * (np.asarray(sdf, dtype=np.float64) / width) ** 2).astype(np.float32)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def draw_sample_params(spec: TrainingSpec, index: int) -> dict[str, Any]:
    """Parameters of sample ``index`` (plain data), drawn from ``SeedSequence([spec.seed, index])``."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, index]))
    box = [round(_uniform(rng, spec.box), 3) for _ in range(3)]
    kinds = [k for k in GEOMETRY_KINDS if spec.geometries.get(k, 0) > 0]
    weights = np.array([spec.geometries[k] for k in kinds])
    single = bool(rng.uniform() < spec.single_phase_fraction)
    kind = "uniform" if single else str(kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))])
    matrix = _uniform(rng, spec.matrix_solute)
    params: dict[str, Any] = {
        "index": index, "seed": int(rng.integers(2**31)), "box_nm": box, "geometry": {"kind": kind},
        "system": str(spec.systems[int(rng.integers(len(spec.systems)))]),
        "matrix_solute_at_pct": round(matrix, 3),
        "precipitate_solute_at_pct": round(matrix if single else matrix + _uniform(rng, spec.contrast), 3),
        "efficiency": round(_uniform(rng, spec.efficiency), 4),
        "lateral_sigma_nm": round(_uniform(rng, spec.lateral_sigma), 4),
        "depth_sigma_nm": round(_uniform(rng, spec.depth_sigma), 4),
        "voxel_size_nm": round(_uniform(rng, spec.voxel_size), 3),
        "delocalization_nm": round(_uniform(rng, spec.delocalization), 3),
    }
    b = np.array(box)
    if kind == "layered":
        normal = rng.normal(size=3)
        normal /= np.linalg.norm(normal)
        thickness = _uniform(rng, spec.slab_thickness)
        centre = float(normal @ (b / 2) + rng.uniform(-0.25, 0.25) * b.min())
        params["geometry"] = {"kind": kind, "normal": [round(float(v), 5) for v in normal],
                              "thickness_nm": round(thickness, 3), "center_nm": round(centre, 3)}
    elif kind == "spheres":
        count = int(rng.integers(int(spec.sphere_count[0]), int(spec.sphere_count[1]) + 1))
        radii = [round(_uniform(rng, spec.sphere_radius), 3) for _ in range(count)]
        centres = [[round(float(v), 3) for v in rng.uniform(0.15, 0.85, 3) * b] for _ in range(count)]
        params["geometry"] = {"kind": kind, "radii_nm": radii, "centers_nm": centres}
    elif kind == "gyroid":
        cell = _uniform(rng, spec.gyroid_cell)
        params["geometry"] = {"kind": kind, "cells": [max(1, int(round(v / cell))) for v in box],
                              "volume_fraction": round(_uniform(rng, spec.gyroid_fraction), 3)}
    return params


def build_geometry(params: dict[str, Any]):
    """The geometry (signed distance in nm) of a sample's parameters, or None (single phase).

    Besides the training kinds, "ellipsoids" (``centers_nm``, ``semi_axes_nm``) and "union"
    (``parts``: geometry tables of any of these kinds) build held-out evaluation geometries.
    """
    g = params["geometry"]
    if g["kind"] == "ellipsoids":
        return Particles(tuple(tuple(c) for c in g["centers_nm"]), tuple(tuple(a) for a in g["semi_axes_nm"]))
    if g["kind"] == "union":
        return Union(tuple(build_geometry({**params, "geometry": part}) for part in g["parts"]))
    if g["kind"] == "layered":
        return Layered(tuple(g["normal"]), (g["thickness_nm"],), (g["center_nm"],))
    if g["kind"] == "spheres":
        return Particles(tuple(tuple(c) for c in g["centers_nm"]), tuple((r, r, r) for r in g["radii_nm"]))
    if g["kind"] == "gyroid":
        return gyroid_for_fraction(np.array(params["box_nm"]), tuple(g["cells"]), g["volume_fraction"])
    return None


def emulate_sample(params: dict[str, Any]):
    """Build and emulate the specimen of ``params``: (APTDataset with truth, geometry or None)."""
    geometry = build_geometry(params)
    solvent, solute = SYSTEMS[params["system"]]
    m, p = params["matrix_solute_at_pct"] / 100.0, params["precipitate_solute_at_pct"] / 100.0
    cells = tuple(max(2, int(round(v / FCC_LATTICE_NM))) for v in params["box_nm"])
    specimen = lattice_specimen(cells, (solvent, solute), (1 - m, m), (1 - p, p), geometry,
                                lattice=FCC_LATTICE_NM, seed=params["seed"])
    emulation = from_dict(EmulationParams, {
        "efficiency": {"value": params["efficiency"]},
        "resolution": {"lateral_sigma": params["lateral_sigma_nm"], "depth_sigma": params["depth_sigma_nm"]},
    }, "emulation")
    return emulate(specimen, emulation, seed=params["seed"]), geometry


def make_sample(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Arrays of one sample (see the module doc) from its parameters."""
    dataset, geometry = emulate_sample(params)
    seen = detector_input(dataset, params["voxel_size_nm"], params["delocalization_nm"])
    if geometry is None:
        sdf = np.full(seen.image.shape, NO_INTERFACE_SDF, dtype=np.float32)
    else:
        sdf = geometry.signed_distance(seen.voxel_centres()).reshape(seen.image.shape).astype(np.float32)
    record = {**params, "grid_shape": list(seen.image.shape), "elements": list(seen.elements),
              "origin_nm": [round(float(v), 6) for v in seen.origin], "ions": int(dataset.n_ions)}
    return {"image": seen.image.astype(np.float32), "mask": seen.mask, "sdf": sdf,
            "edge": edge_target(sdf, seen.voxel_size), "params": np.array(json.dumps(record, sort_keys=True))}


def sample_name(index: int) -> str:
    return f"sample_{index:05d}.npz"


def make_training_data(spec: TrainingSpec, out_dir: str | Path,
                       progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``spec.specimens`` samples and ``index.json`` into the new folder ``out_dir``.

    All or nothing: the samples are written into a temporary folder beside ``out_dir``, which is
    renamed onto it at the end. ``out_dir`` must not exist (or be an empty folder).
    ``progress(done, total)`` is called after each sample.
    """
    with atomic_folder(out_dir) as tmp:
        index = []
        for i in range(spec.specimens):
            arrays = make_sample(draw_sample_params(spec, i))
            save_npz(tmp / sample_name(i), arrays)
            index.append({"file": sample_name(i), **json.loads(str(arrays["params"]))})
            if progress is not None:
                progress(i + 1, spec.specimens)
        record = {"format": DATA_FORMAT, "spec": spec.to_dict(), "edge_width_voxels": EDGE_WIDTH_VOXELS,
                  "samples": index}
        (tmp / INDEX_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return Path(out_dir)


def read_index(data_dir: str | Path) -> tuple[dict, list[str]]:
    """The index record of a training-data folder and its sample file names (SynthaptError if the
    folder is not one)."""
    folder = Path(data_dir)
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        raise SynthaptError(f"{folder}: not a training-data folder (no {INDEX_FILE}); "
                            "make one with `synthapt train-data`")
    try:
        record = json.loads(index_path.read_text())
        files = [entry["file"] for entry in record["samples"]]
        if record.get("format") != DATA_FORMAT:
            raise ValueError(record.get("format"))
    except (ValueError, KeyError, TypeError):
        raise SynthaptError(f"{index_path}: unreadable training-data index") from None
    return record, files


def read_training_data(data_dir: str | Path) -> tuple[list[dict[str, np.ndarray]], dict]:
    """All samples of a training-data folder (arrays, params decoded) and its index record."""
    folder = Path(data_dir)
    record, files = read_index(folder)
    samples = []
    for name in files:
        path = folder / Path(name).name
        try:
            with np.load(path, allow_pickle=False) as z:
                sample = {k: z[k] for k in ("image", "mask", "sdf", "edge")}
                sample["params"] = json.loads(str(z["params"]))
        except (OSError, KeyError, ValueError) as exc:
            raise SynthaptError(f"{path}: unreadable training sample ({type(exc).__name__})") from None
        samples.append(sample)
    if not samples:
        raise SynthaptError(f"{folder}: holds no samples")
    return samples, record
