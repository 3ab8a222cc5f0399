"""The concentration image of a voxel grid (step 1 of ``synthapt.segmentation.edge``, shared with
the iso baseline) and the composition of each phase (the imaged element is chosen in
``synthapt.segmentation.element``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthapt.data import MATRIX, PRECIPITATE
from synthapt.errors import SynthaptError
from synthapt.data import APTDataset
from synthapt.segmentation.element import block_counts, choose_element
from synthapt.segmentation.params import MIN_GRID, SegmentParams
from synthapt.spatial.volume import SpecimenVolume, specimen_volume
from synthapt.spatial.voxel import VoxelGrid, fill_outside, voxelize


def concentration_image(grid: VoxelGrid, elements: tuple[str, ...],
                        min_count: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concentration (at.%, NaN outside), its mask, and the [0, 1] image (outside filled)."""
    if min(grid.shape) < MIN_GRID:
        raise SynthaptError(f"segment: the dataset spans only {grid.shape} voxels of "
                            f"{grid.voxel_size} nm; at least {MIN_GRID} per axis are needed")
    conc, mask = grid.concentration(elements, min_count)
    if mask.sum() < MIN_GRID**3:
        raise SynthaptError(f"segment: only {int(mask.sum())} voxels hold >= {min_count} atoms; "
                            "the dataset is too small or too sparse for voxel_size")
    lo, hi = np.percentile(conc[mask], [0.5, 99.5])
    image = fill_outside(np.where(mask, conc, 0.0).astype(np.float32), mask)
    scale = hi - lo if hi - lo > 1e-6 else 1.0
    image = np.clip((image - lo) / scale, 0.0, 1.0).astype(np.float32)
    return conc, mask, image


@dataclass(frozen=True)
class ImagedGrid:
    """Step 1 of the segmentations, shared by the edge pipeline and "learned-phase": the voxel
    grid, the imaged element(s) and why they were chosen (``choose_element``: contrast over
    noise, reason), the concentration (at.%, NaN outside), its mask, the [0, 1] image and the
    analysed specimen volume."""

    grid: VoxelGrid
    elements: tuple[str, ...]
    contrast_over_noise: float
    choice: str
    conc: np.ndarray
    mask: np.ndarray
    image: np.ndarray
    volume: SpecimenVolume


def imaged_grid(dataset: APTDataset, params: SegmentParams) -> ImagedGrid:
    """Voxelize ``dataset`` (``params.voxel_size``, ``delocalization`` nm), choose the imaged
    element(s) (``params.elements`` or ``choose_element``) and form their concentration image."""
    grid = voxelize(dataset, params.voxel_size, params.delocalization)
    elements, ratio, why = choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements,
                                          params.elements)
    conc, mask, image = concentration_image(grid, elements, params.min_count)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    return ImagedGrid(grid, elements, ratio, why, conc, mask, image, volume)


def phase_composition(grid: VoxelGrid, elements: tuple[str, ...], voxel_labels: np.ndarray) -> dict:
    """at.% of ``elements`` in the matrix and precipitate voxels (raw counts)."""
    idx = grid.element_index(elements)
    part = grid.counts[idx].sum(axis=0)
    total = grid.counts.sum(axis=0)
    out = {}
    for name, code in (("matrix_at_pct", MATRIX), ("precipitate_at_pct", PRECIPITATE)):
        sel = voxel_labels == code
        t = float(total[sel].sum())
        out[name] = 100.0 * float(part[sel].sum()) / t if t > 0 else float("nan")
    return out
