"""The concentration image of a voxel grid (step 1 of ``synthapt.segmentation.edge``, shared with
the iso baseline), the choice of the imaged element, and the composition of each phase."""

from __future__ import annotations

import numpy as np

from synthapt.data import MATRIX, PRECIPITATE
from synthapt.errors import SynthaptError
from synthapt.segmentation.params import MIN_GRID
from synthapt.spatial.voxel import VoxelGrid, fill_outside


def choose_elements(grid: VoxelGrid, params_elements: tuple[str, ...], min_count: float) -> tuple[str, ...]:
    """The imaged element(s): as given (checked), or the one whose voxel concentration has the
    largest coefficient of variation (in a binary alloy: the minority, partitioning element)."""
    if params_elements:
        idx = grid.element_index(params_elements)
        if grid.counts[idx].sum() == 0:
            raise SynthaptError(f"element {'+'.join(params_elements)}: no ions of it in the dataset")
        return tuple(params_elements)
    best, best_var = None, -1.0
    for name in grid.elements:
        conc, mask = grid.concentration(name, min_count)
        mean = float(np.nanmean(conc[mask])) if mask.any() else 0.0
        var = float(np.nanvar(conc[mask])) / mean**2 if mean > 0 else 0.0
        if var > best_var:
            best, best_var = name, var
    if best is None:
        raise SynthaptError("segment: the dataset has no ranged elements")
    return (best,)


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
