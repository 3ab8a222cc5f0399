"""Edge-detection segmentation: concentration slices -> edge maps -> 3D phase labels -> mesh.

Pipeline (``segment``):
1. voxelize the ions (``synthapt.spatial.voxel``) and form the concentration image (at.%) of the
   partitioning element(s); voxels with too few atoms are filled from their nearest neighbour;
2. normalise it to [0, 1] (0.5-99.5 percentiles), cut it into 2D slices along each of the three
   axes and run the edge detector on each stack (batched);
3. fuse the three edge stacks into one 3D edge field (mean or max), scaled to [0, 1];
4. phase regions: watershed of the edge field from markers = connected low-edge regions (taken
   separately above and below the Otsu level of the image);
5. regions classified by their (raw, undelocalized) composition: the best two-class split of the
   region concentrations (chosen on even-numbered ions) is accepted only if, on the odd-numbered
   ions, it is significant (two-proportion z-test) and its contrast exceeds ``min_contrast`` and
   ``noise_factor`` x the counting noise of the image; otherwise there is ONE phase ("no interface
   found") and every ion is matrix;
6. optional refinement: near the edge-based boundary the precipitate indicator becomes the local
   composition scaled between the two phase plateaus (interface at the halfway composition);
7. the indicator is smoothed (Gaussian ``label_smoothing`` nm); per-ion labels are its trilinear
   value at each ion > 0.5, and the interface mesh is its 0.5 iso-surface (marching cubes, nm), so
   labels and mesh agree. Mesh normals point out of the precipitate.

The parameters live in ``synthapt.segmentation.params``, step 1 in ``synthapt.segmentation.image``,
the region steps (4-7) in ``synthapt.segmentation.regions``, the result file in ``synthapt.segmentation.result``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.config import to_dict
from synthapt.data import APTDataset
from synthapt.edges.detectors import get_detector
from synthapt.errors import SynthaptError
from synthapt.segmentation.image import imaged_grid
from synthapt.segmentation.params import Progress, SegmentParams
from synthapt.segmentation.regions import (classify_regions, concentration_noise, finish, phase_regions,
                                           refined_indicator, region_counts)
from synthapt.segmentation.result import SegmentationResult
from synthapt.spatial.volume import occupied_bounds
from synthapt.spatial.voxel import fill_outside


CROP_CONTEXT = 4
"""Voxels of image kept around the specimen's part of a slice when the detector is cropped to it."""

CROP_QUANTUM = 16
"""Crop windows are rounded up to multiples of this many voxels: few distinct image sizes, so
the network's compiled convolution plans are reused."""


def edge_field(image: np.ndarray, detector: Any, fuse: str = "mean", chunk: int = 32,
               progress: Progress | None = None, slice_step: int = 1,
               mask: np.ndarray | None = None) -> np.ndarray:
    """(nx,ny,nz) fused edge field in [0, 1] from 2D edge maps of slices along all three axes.

    slice_step: detect edges on every ``slice_step``-th slice of each stack (and the last one)
    and interpolate linearly in between (the image is smooth over the delocalization width).
    mask: (nx,ny,nz) bool specimen voxels (``synthapt.spatial.volume``): the detector sees only
    the bounding rectangle of the specimen in each slice (plus ``CROP_CONTEXT`` voxels; a run of 8
    slices shares the largest rectangle size so they go through the detector as one batch),
    sizes rounded up to ``CROP_QUANTUM``), slices without specimen are skipped, edges outside the
    rectangles are 0, and the field is scaled by its 99.9th percentile over the specimen. The cost then follows the specimen, not its bounding box.
    """
    picks = [np.unique(np.r_[np.arange(0, n, slice_step), n - 1]) for n in image.shape]
    total = sum(len(p) for p in picks)
    done = 0
    fused = np.zeros(image.shape, dtype=np.float32)
    for axis in range(3):
        stack = np.moveaxis(image, axis, 0)
        inside = None if mask is None else np.moveaxis(mask, axis, 0)
        edges = np.zeros((len(picks[axis]), *stack.shape[1:]), dtype=np.float32)
        windows = _windows(picks[axis], inside, stack.shape[1:])
        for start in range(0, len(picks[axis]), chunk):
            batch = [(row, window) for row, window in windows[start:start + chunk] if window is not None]
            for size in dict.fromkeys(_window_size(w) for _, w in batch):  # same size: one stack
                same = [(row, w) for row, w in batch if _window_size(w) == size]
                crops = np.stack([stack[(picks[axis][row], *window)] for row, window in same])
                for (row, window), out in zip(same, detector.detect(crops)):
                    edges[(row, *window)] = out
            done += len(windows[start:start + chunk])
            if progress is not None:
                progress("edges", done, total)
        if len(picks[axis]) != len(stack):
            edges = _interpolate_slices(edges, picks[axis], len(stack))
        edges = np.moveaxis(edges, 0, axis)
        if fuse == "max":
            np.maximum(fused, edges, out=fused)
        else:
            fused += edges / 3.0
    peak = float(np.percentile(fused if mask is None else fused[mask], 99.9))
    if peak <= 1e-6:
        return np.zeros_like(fused)
    return np.clip(fused / peak, 0.0, 1.0).astype(np.float32)


def _windows(picks: np.ndarray, inside: np.ndarray | None,
             shape: tuple[int, int]) -> list[tuple[int, tuple[slice, slice] | None]]:
    """(row, window) for each picked slice: the 2D window around the specimen in that slice
    (plus ``CROP_CONTEXT``), None for a slice without specimen; the whole slice without a mask.
    Consecutive slices of a batch share one window size (the largest), so they stack."""
    if inside is None:
        return [(row, (slice(None), slice(None))) for row in range(len(picks))]
    bounds = [occupied_bounds(inside[p]) for p in picks]
    out: list[tuple[int, tuple[slice, slice] | None]] = []
    for row, b in enumerate(bounds):
        if b is None:
            out.append((row, None))
            continue
        lo = np.maximum(np.array([b[0], b[2]]) - CROP_CONTEXT, 0)
        hi = np.minimum(np.array([b[1], b[3]]) + CROP_CONTEXT, shape)
        out.append((row, (lo, hi)))
    return _common_size(out, shape)


def _window_size(window: tuple[slice, slice]) -> tuple:
    return tuple((w.start, w.stop) if w.start is None else w.stop - w.start for w in window)


def _common_size(windows: list, shape: tuple[int, int], group: int = 8) -> list:
    """Windows of each run of ``group`` consecutive slices enlarged to the run's largest size
    (shifted to stay inside the slice), as slices."""
    result = []
    for start in range(0, len(windows), group):
        run = windows[start:start + group]
        sizes = [hi - lo for _, w in run if w is not None for lo, hi in [w]]
        size = None
        if sizes:
            size = np.minimum(-(-np.max(sizes, axis=0) // CROP_QUANTUM) * CROP_QUANTUM, shape)
        for row, w in run:
            if w is None:
                result.append((row, None))
                continue
            lo = np.minimum(w[0], np.array(shape) - size)
            result.append((row, (slice(int(lo[0]), int(lo[0] + size[0])),
                                 slice(int(lo[1]), int(lo[1] + size[1])))))
    return result


def _interpolate_slices(edges: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """(n, H, W) stack linearly interpolated from slices ``edges`` (k, H, W) at indices ``at``."""
    upper = np.clip(np.searchsorted(at, np.arange(n)), 1, len(at) - 1)
    lower = upper - 1
    w = ((np.arange(n) - at[lower]) / (at[upper] - at[lower]))[:, None, None].astype(np.float32)
    return (1.0 - w) * edges[lower] + w * edges[upper]


def segment(dataset: APTDataset, params: SegmentParams = SegmentParams(),
            progress: Progress | None = None, detector: Any = None) -> SegmentationResult:
    """Segment ``dataset`` into matrix (0) and precipitate (1) by edge detection (see module doc).

    detector: an object with ``detect((B,H,W)) -> (B,H,W)`` to use instead of
    ``synthapt.edges.get_detector(params.detector, ...)`` (e.g. a HED with given weights).
    """
    if dataset.n_ions == 0:
        raise SynthaptError("segment: the dataset has no ions")
    imaged = imaged_grid(dataset, params)
    grid, elements, conc, mask, image, volume = (imaged.grid, imaged.elements, imaged.conc, imaged.mask,
                                                 imaged.image, imaged.volume)
    if progress is not None:
        progress("voxelize", 1, 1)
    if detector is None:
        detector = make_detector(params)
    edges = edge_field(image, detector, params.fuse, chunk=max(params.batch_size, 1) * 4,
                       progress=progress, slice_step=params.effective_slice_step(grid.shape), mask=volume.mask)
    regions = phase_regions(edges, image, params.marker_threshold, params.min_marker_voxels)
    noise = concentration_noise(grid, elements, mask)
    is_precipitate, info = classify_regions(region_counts(dataset, grid, regions, elements), params,
                                            noise)
    info = {**info, "element_choice": imaged.choice, "element_contrast_over_noise": imaged.contrast_over_noise}
    voxel_labels = is_precipitate[regions].astype(np.int8)
    indicator = None
    if voxel_labels.any() and params.refine > 0:
        indicator = refined_indicator(voxel_labels, fill_outside(np.nan_to_num(conc), mask),
                                      params.refine / grid.voxel_size, grid, elements)
    result = finish(dataset=dataset, grid=grid, voxel_labels=voxel_labels, conc=conc, edges=edges,
                    method=params.detector, elements=elements, smoothing_nm=params.label_smoothing,
                    params=to_dict(params), info=info, indicator=indicator, volume=volume)
    if progress is not None:
        progress("labels", 1, 1)
    return result


def make_detector(params: SegmentParams) -> Any:
    """The edge detector named by ``params`` with its options."""
    options = dict(params.detector_options)
    if params.detector == "hed":
        options.setdefault("upsample", params.upsample)
        options.setdefault("batch_size", params.batch_size)
        options.setdefault("num_threads", min(params.threads, 2))
    elif params.detector == "canny":
        options.setdefault("spread", 1.0)
    return get_detector(params.detector, **options)
