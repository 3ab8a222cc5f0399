"""The segmentation steps training and evaluation share with ``synthapt segment``.

This is the only module of ``synthapt.training`` that imports the validator modules (voxel grid,
segmentation, label scores), so the detector sees in training exactly what it sees in use.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from synthapt.data import PRECIPITATE, APTDataset
from synthapt.scoring.labels import label_scores
from synthapt.segmentation.edge import segment
from synthapt.segmentation.element import block_counts, choose_element
from synthapt.segmentation.image import concentration_image
from synthapt.segmentation.params import SegmentParams
from synthapt.spatial.voxel import voxelize

__all__ = ["DetectorInput", "detector_input", "segment_scores", "SegmentParams"]


@dataclasses.dataclass(frozen=True)
class DetectorInput:
    """The image the segmentation feeds its edge detector, on its voxel grid.

    image: (nx, ny, nz) float32 in [0, 1] (normalised concentration, outside filled).
    mask: (nx, ny, nz) bool, voxels inside the specimen. origin: (3,) nm. voxel_size: nm.
    elements: the imaged element(s).
    """

    image: np.ndarray
    mask: np.ndarray
    origin: np.ndarray
    voxel_size: float
    elements: tuple[str, ...]

    def voxel_centres(self) -> np.ndarray:
        """(nx*ny*nz, 3) nm coordinates of the voxel centres, C order."""
        axes = [self.origin[a] + self.voxel_size * (np.arange(n) + 0.5) for a, n in enumerate(self.image.shape)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def detector_input(dataset: APTDataset, voxel_size: float, delocalization: float) -> DetectorInput:
    """Voxelize ``dataset`` and form the normalised concentration image exactly as ``segment``
    does with these settings (other parameters at their defaults)."""
    defaults = SegmentParams()
    grid = voxelize(dataset, voxel_size, delocalization)
    elements, _, _ = choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements,
                                    defaults.elements)
    _, mask, image = concentration_image(grid, elements, defaults.min_count)
    return DetectorInput(image, mask, np.asarray(grid.origin, dtype=np.float64), float(grid.voxel_size), elements)


def segment_scores(dataset: APTDataset, detector_name: str, refine: float, detector: Any = None,
                   **params: Any) -> dict:
    """Segment ``dataset`` with ``detector_name`` (or the given ``detector`` object, recorded
    under that name) and score the per-ion labels against the truth: accuracy, Dice, ...,
    plus ``interface_found`` (bool) and ``message``."""
    seg_params = SegmentParams(detector=detector_name if detector is None else "canny", refine=refine, **params)
    result = segment(dataset, seg_params, detector=detector)
    scores = label_scores(result.labels, dataset.truth.phase)
    return {**scores, "interface_found": bool((result.voxel_labels == PRECIPITATE).any()), "message": result.message}
