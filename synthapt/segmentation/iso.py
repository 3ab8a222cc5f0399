"""Iso-concentration segmentation, the usual APT baseline: marching cubes at an iso value (at.%)
of the delocalized concentration of one element (or a sum of elements); ions whose trilinearly
interpolated concentration exceeds the iso value are precipitate. Mesh normals point out of the
precipitate (towards lower concentration), as for every ``synthapt.spatial.mesh.Mesh``."""

from __future__ import annotations

import numpy as np

from synthapt.data import MATRIX, PRECIPITATE, APTDataset
from synthapt.errors import SynthaptError
from synthapt.segmentation.element import block_counts, choose_element
from synthapt.segmentation.image import concentration_image, phase_composition
from synthapt.segmentation.params import IsoParams
from synthapt.segmentation.result import SegmentationResult
from synthapt.segmentation.regions import specimen_labels
from synthapt.spatial.mesh import interface_mesh
from synthapt.spatial.volume import clip_mesh, specimen_volume
from synthapt.spatial.voxel import fill_outside, per_ion_values, voxelize


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
    if dataset.n_ions == 0:
        raise SynthaptError("iso_segment: the dataset has no ions")
    grid = voxelize(dataset, voxel_size, delocalization)
    elements, ratio, why = choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements, elements)
    conc, mask, _ = concentration_image(grid, elements, min_count)
    filled = fill_outside(np.nan_to_num(conc), mask)
    voxel_labels = (filled > iso_value).astype(np.int8)
    values = per_ion_values(filled, dataset.positions, grid.origin, grid.voxel_size)
    labels = np.where(values > iso_value, PRECIPITATE, MATRIX).astype(np.int8)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    mesh = clip_mesh(interface_mesh(filled, grid.origin, grid.voxel_size, level=iso_value), volume)
    message = "" if mesh is not None else (
        f"no interface found (the concentration never crosses {iso_value:g} at.% inside the specimen)")
    params = {"element": list(elements), "iso_value": float(iso_value), "voxel_size": float(voxel_size),
              "delocalization": float(delocalization), "min_count": float(min_count)}
    stats = {**phase_composition(grid, elements, voxel_labels), "element_choice": why,
             "element_contrast_over_noise": ratio}
    voxel_labels, specimen = specimen_labels(voxel_labels, volume, mesh)
    stats.update(specimen)
    return SegmentationResult(
        labels=labels, voxel_labels=voxel_labels, indicator=filled.astype(np.float32), edge_field=None,
        concentration=conc, origin=grid.origin, voxel_size=grid.voxel_size, mesh=mesh, method="iso",
        elements=elements, params=params,
        phase_composition=stats, message=message)


def iso_segment_params(dataset: APTDataset, params: IsoParams) -> SegmentationResult:
    """``iso_segment`` with the fields of ``params``."""
    return iso_segment(dataset, params.elements, params.iso_value, voxel_size=params.voxel_size,
                       delocalization=params.delocalization, min_count=params.min_count)
