"""The "learned-phase" method: a network trained on synthetic data gives the probability of
precipitate at every voxel; labels and interface are where it crosses 0.5.

Edge methods draw a boundary from an edge field, then let the composition redraw it
(``refine``). Here the network trained with the true phase as its target
(``synthapt train --network unet3d``; packaged weights ``synthapt.edges.phase3d.PHASE_WEIGHTS``)
answers the question that is scored directly: is this voxel precipitate?

Pipeline (``learned_phase_segment``):
1. voxelize and form the concentration image as the edge pipeline does (``SegmentParams``:
   voxel_size, delocalization, elements, min_count);
2. one phase or two: the test of "iso-auto" (``synthapt.segmentation.iso.two_phase_classes``:
   classes drawn on the even-numbered ions, tested on the odd-numbered ones, with
   ``significance``, ``min_contrast``, ``noise_factor``); ONE phase means "no interface found" and
   every ion matrix, and the network is not run;
3. the network's input: the [0, 1] concentration image on the same voxel grid, delocalized by
   the network's own ``INPUT_DELOCALIZATION`` (0.5 nm, as in its training) instead of
   ``delocalization``; for ``precipitate = "depleted"`` the image is inverted, so the network
   always sees an enriched precipitate;
4. the 3-D network (``synthapt.edges.phase3d.PhaseUNet3D``) on the whole image (in overlapping
   tiles beyond 64 voxels per axis); voxels outside the specimen take their nearest specimen
   voxel's value;
5. per-ion labels: the trilinear value of that probability at each ion > 0.5; the interface mesh
   is its 0.5 iso-surface (marching cubes, clipped to the specimen), so labels and mesh agree.
"""

from __future__ import annotations

import numpy as np

from synthapt.config import to_dict
from synthapt.data import APTDataset
from synthapt.edges.detectors import torch_threads
from synthapt.edges.phase3d import INPUT_DELOCALIZATION, PhaseUNet3D, load_phase3d, precipitate_probability3d
from synthapt.errors import SynthaptError
from synthapt.segmentation.image import concentration_image, imaged_grid
from synthapt.segmentation.iso import two_phase_classes
from synthapt.segmentation.params import LEARNED_PHASE, Progress, SegmentParams
from synthapt.segmentation.regions import finish
from synthapt.segmentation.result import SegmentationResult
from synthapt.spatial.voxel import VoxelGrid, fill_outside, voxelize


def network_input(dataset: APTDataset, grid: VoxelGrid, elements: tuple[str, ...],
                  params: SegmentParams) -> np.ndarray:
    """(nx,ny,nz) float32 [0, 1] concentration image of ``elements`` on ``grid``'s voxels,
    delocalized by ``INPUT_DELOCALIZATION``; inverted for a depleted precipitate."""
    own = voxelize(dataset, grid.voxel_size, INPUT_DELOCALIZATION, origin=grid.origin, shape=grid.shape)
    _, _, image = concentration_image(own, elements, params.min_count)
    return image if params.precipitate == "enriched" else (1.0 - image).astype(np.float32)


def precipitate_probability(image: np.ndarray, mask: np.ndarray, model: PhaseUNet3D, threads: int = 2,
                            progress: Progress | None = None) -> np.ndarray:
    """(nx,ny,nz) float32 probability of precipitate from the 3-D ``model`` on the [0, 1]
    ``image``; outside ``mask`` (the specimen) the nearest specimen voxel's value."""
    report = None if progress is None else (lambda done, total: progress("network", done, total))
    with torch_threads(threads):
        prob = precipitate_probability3d(model, image, progress=report)
    return fill_outside(prob, mask).astype(np.float32)


def learned_phase_segment(dataset: APTDataset, params: SegmentParams = SegmentParams(),
                          progress: Progress | None = None, model: PhaseUNet3D | None = None) -> SegmentationResult:
    """Segment ``dataset`` into matrix (0) and precipitate (1) with the phase network (module doc).
    ``model``: a ``PhaseUNet3D`` to use instead of the packaged weights (``load_phase3d``)."""
    if dataset.n_ions == 0:
        raise SynthaptError("segment: the dataset has no ions")
    imaged = imaged_grid(dataset, params)
    grid, elements, mask = imaged.grid, imaged.elements, imaged.mask
    if progress is not None:
        progress("voxelize", 1, 1)
    classes, info, split = two_phase_classes(dataset, grid, elements, mask, params)
    info = {**info, "element_choice": imaged.choice, "element_contrast_over_noise": imaged.contrast_over_noise,
            "split_at_pct": split}
    indicator = None
    voxel_labels = np.zeros(grid.shape, dtype=np.int8)
    if classes.any() and not classes.all():
        seen = network_input(dataset, grid, elements, params)
        network = load_phase3d() if model is None else model
        indicator = precipitate_probability(seen, imaged.volume.mask, network, min(params.threads, 2), progress)
        voxel_labels = (indicator > 0.5).astype(np.int8)
        if not voxel_labels.any():
            info["reason"] = "the network finds no precipitate voxel"
    elif "reason" not in info:
        info["reason"] = "one phase"
    result = finish(dataset=dataset, grid=grid, voxel_labels=voxel_labels, conc=imaged.conc, edges=None,
                    method=LEARNED_PHASE, elements=elements, smoothing_nm=0.0, params=to_dict(params),
                    info=info, indicator=indicator, volume=imaged.volume)
    if progress is not None:
        progress("labels", 1, 1)
    return result
