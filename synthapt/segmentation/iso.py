"""Iso-concentration segmentation, the usual APT baseline: marching cubes at an iso value (at.%)
of the delocalized concentration of one element (or a sum of elements); ions whose trilinearly
interpolated concentration exceeds the iso value are precipitate. Mesh normals point out of the
precipitate (towards lower concentration), as for every ``synthapt.spatial.mesh.Mesh``.

``iso_segment`` takes the user's iso value; ``auto_iso_segment`` ("iso-auto") finds it: the
midpoint of the two phase compositions, after the same two-phase test as the edge pipeline."""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from synthapt.data import MATRIX, PRECIPITATE, APTDataset
from synthapt.errors import SynthaptError
from synthapt.segmentation.element import block_counts, choose_element
from synthapt.segmentation.image import concentration_image, phase_composition
from synthapt.segmentation.params import AUTO_ISO, IsoParams, SegmentParams
from synthapt.segmentation.regions import (classify_regions, concentration_noise, plateau_compositions,
                                           region_counts, specimen_labels)
from synthapt.segmentation.result import SegmentationResult
from synthapt.spatial.mesh import interface_mesh
from synthapt.spatial.volume import clip_mesh, specimen_volume
from synthapt.spatial.voxel import VoxelGrid, fill_outside, per_ion_values, voxelize


def iso_segment(dataset: APTDataset, element: str | tuple[str, ...], iso_value: float,
                voxel_size: float = 0.5, delocalization: float = 0.75,
                min_count: float = 2.0) -> SegmentationResult:
    """Segment ``dataset`` at ``iso_value`` at.% of ``element`` (any letter case; voxel_size,
    delocalization in nm; min_count: atoms per voxel for a voxel to count as inside the specimen).
    A level that the concentration never crosses gives no interface (all matrix, or all
    precipitate)."""
    if not 0.0 < iso_value < 100.0:
        raise SynthaptError(f"iso_value: must be within (0, 100) at.%, got {iso_value}")
    elements = (element,) if isinstance(element, str) else tuple(element)
    grid, elements, conc, mask, choice = _concentration(dataset, elements, voxel_size, delocalization,
                                                        min_count)
    params = {"element": list(elements), "iso_value": float(iso_value), "voxel_size": float(voxel_size),
              "delocalization": float(delocalization), "min_count": float(min_count)}
    filled = fill_outside(np.nan_to_num(conc), mask)
    return _iso_result(dataset, grid, elements, conc, filled, iso_value, "iso", params, choice)


def iso_segment_params(dataset: APTDataset, params: IsoParams) -> SegmentationResult:
    """``iso_segment`` with the fields of ``params``."""
    return iso_segment(dataset, params.elements, params.iso_value, voxel_size=params.voxel_size,
                       delocalization=params.delocalization, min_count=params.min_count)


def auto_iso_segment(dataset: APTDataset, params: SegmentParams = SegmentParams()) -> SegmentationResult:
    """Iso-surface at the midpoint of the two phase compositions, found without a user value.

    On the voxel grid of ``params`` (voxel_size, delocalization nm; min_count; elements: as the
    edge methods, empty = ``choose_element``'s pick):
    1. two classes of voxels from the even-numbered ions alone: the voxels holding them split at
       the Otsu level of their delocalized concentration (at.%); the voxels outside take their
       nearest neighbour's class;
    2. the split is tested as the edge pipeline tests its regions (``classify_regions``:
       ``significance``, ``min_contrast``, ``noise_factor`` x counting noise) on the
       odd-numbered ions, which played no part in drawing the classes (with classes drawn from
       all ions, a uniform solid solution's split reaches ~5-6 noise widths on these ions);
       failing it means ONE phase: "no interface found", every ion matrix;
    3. the plateau compositions c_matrix, c_precipitate: raw counts of each class beyond
       ``refine`` nm of the class boundary (``plateau_compositions``);
    4. the iso-surface at (c_matrix + c_precipitate) / 2 at.%, as ``iso_segment`` (for
       ``precipitate = "depleted"`` the precipitate lies below it).
    """
    grid, elements, conc, mask, choice = _concentration(dataset, params.elements, params.voxel_size,
                                                        params.delocalization, params.min_count)
    filled = fill_outside(np.nan_to_num(conc), mask)
    voxel_labels, info, split = two_phase_classes(dataset, grid, elements, mask, params)
    recorded = {"element": list(elements), "voxel_size": float(params.voxel_size),
                "delocalization": float(params.delocalization), "min_count": float(params.min_count),
                "refine": float(params.refine), "min_contrast": float(params.min_contrast),
                "noise_factor": float(params.noise_factor), "significance": float(params.significance),
                "precipitate": params.precipitate, "split_at_pct": split}
    stats = {**choice, **{k: v for k, v in info.items() if k != "reason"}}
    if voxel_labels.all() or not voxel_labels.any():
        return _one_phase(dataset, grid, elements, conc, filled, recorded, stats,
                          info.get("reason", "one phase"))
    c_m, c_p, _ = plateau_compositions(voxel_labels, params.refine / grid.voxel_size, grid, elements)
    if not (np.isfinite(c_m) and np.isfinite(c_p)) or abs(c_p - c_m) < 1e-6:
        return _one_phase(dataset, grid, elements, conc, filled, recorded, stats,
                          "equal plateau compositions")
    level = 0.5 * (c_m + c_p)
    stats.update(plateau_matrix_at_pct=c_m, plateau_precipitate_at_pct=c_p, iso_value=level)
    return _iso_result(dataset, grid, elements, conc, filled, level, AUTO_ISO,
                       {**recorded, "iso_value": level}, stats,
                       enriched=params.precipitate == "enriched")


def two_phase_classes(dataset: APTDataset, grid: VoxelGrid, elements: tuple[str, ...], mask: np.ndarray,
                      params: SegmentParams) -> tuple[np.ndarray, dict, float]:
    """Steps 1-2 of ``auto_iso_segment``, shared with "learned-phase": (voxel labels (nx,ny,nz)
    int8, 1 = precipitate class; all 0 when the split fails the two-phase test, i.e. ONE phase;
    the test's statistics, with "reason" when it fails; the Otsu split, at.%). ``mask``: voxels
    inside the specimen (``concentration_image``)."""
    classes, split = _even_ion_classes(dataset, grid, elements, params.min_count)
    counts = region_counts(dataset, grid, classes, elements)
    is_precipitate, info = classify_regions(counts, params, concentration_noise(grid, elements, mask))
    return is_precipitate[classes].astype(np.int8), info, split


def _even_ion_classes(dataset: APTDataset, grid: VoxelGrid, elements: tuple[str, ...],
                      min_count: float) -> tuple[np.ndarray, float]:
    """((nx,ny,nz) int32 class ids: 1 below, 2 above the split; the split, at.%): the Otsu level
    of the delocalized concentration of the even-numbered ions on ``grid`` (voxels holding at
    least ``min_count`` / 2 of their atoms); the other voxels take their nearest neighbour's class."""
    even = dataset.replace(positions=dataset.positions[::2], mass_to_charge=dataset.mass_to_charge[::2],
                           species=dataset.species[::2], epos=None, pulse=None, truth=None)
    half = voxelize(even, grid.voxel_size, grid.delocalization, origin=grid.origin, shape=grid.shape)
    conc, mask = half.concentration(elements, 0.5 * min_count)
    if not mask.any():
        return np.ones(grid.shape, dtype=np.int32), float("nan")
    values = conc[mask]
    split = float(threshold_otsu(values)) if values.max() > values.min() else float(values.max())
    return fill_outside(np.where(conc > split, 2, 1).astype(np.int32), mask), split


def _concentration(dataset: APTDataset, elements: tuple[str, ...], voxel_size: float,
                   delocalization: float, min_count: float):
    """(grid, elements, concentration at.% with NaN outside, mask, element-choice stats)."""
    if dataset.n_ions == 0:
        raise SynthaptError("iso_segment: the dataset has no ions")
    grid = voxelize(dataset, voxel_size, delocalization)
    elements, ratio, why = choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements,
                                          tuple(elements))
    conc, mask, _ = concentration_image(grid, elements, min_count)
    return grid, elements, conc, mask, {"element_choice": why, "element_contrast_over_noise": ratio}


def _iso_result(dataset: APTDataset, grid: VoxelGrid, elements: tuple[str, ...], conc: np.ndarray,
                filled: np.ndarray, level: float, method: str, params: dict, stats: dict,
                enriched: bool = True) -> SegmentationResult:
    """Labels and mesh at ``level`` at.% of ``filled`` (the concentration with the voxels outside
    the specimen filled from their neighbours); precipitate above the level when ``enriched``,
    below it otherwise."""
    above = filled > level
    voxel_labels = (above if enriched else ~above).astype(np.int8)
    values = per_ion_values(filled, dataset.positions, grid.origin, grid.voxel_size)
    labels = np.where((values > level) == enriched, PRECIPITATE, MATRIX).astype(np.int8)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    mesh = clip_mesh(interface_mesh(filled, grid.origin, grid.voxel_size, level=level, enriched_inside=enriched),
                     volume)
    message = "" if mesh is not None else (
        f"no interface found (the concentration never crosses {level:g} at.% inside the specimen)")
    composition = phase_composition(grid, elements, voxel_labels)
    voxel_labels, specimen = specimen_labels(voxel_labels, volume, mesh)
    return SegmentationResult(
        labels=labels, voxel_labels=voxel_labels, indicator=filled.astype(np.float32), edge_field=None,
        concentration=conc, origin=grid.origin, voxel_size=grid.voxel_size, mesh=mesh, method=method,
        elements=elements, params=params,
        phase_composition={**composition, **specimen, **stats}, message=message)


def _one_phase(dataset: APTDataset, grid: VoxelGrid, elements: tuple[str, ...], conc: np.ndarray,
               filled: np.ndarray, params: dict, stats: dict, reason: str) -> SegmentationResult:
    """The "iso-auto" result without an interface: every ion and voxel matrix."""
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    composition = phase_composition(grid, elements, np.zeros(grid.shape, dtype=np.int8))
    voxel_labels, specimen = specimen_labels(np.zeros(grid.shape, dtype=np.int8), volume, None)
    return SegmentationResult(
        labels=np.full(dataset.n_ions, MATRIX, dtype=np.int8), voxel_labels=voxel_labels,
        indicator=filled.astype(np.float32), edge_field=None, concentration=conc, origin=grid.origin,
        voxel_size=grid.voxel_size, mesh=None, method=AUTO_ISO, elements=elements, params=params,
        phase_composition={**composition, **specimen, **stats},
        message=f"no interface found ({reason})")
