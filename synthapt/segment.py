"""Edge-detection segmentation: concentration slices -> edge maps -> 3D phase labels -> mesh.

Pipeline (``segment``):
1. voxelize the ions (``synthapt.voxel``) and form the concentration image (at.%) of the
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

The result type and its HDF5 file live in ``synthapt.segment_file``, the region steps (4-5) in
``synthapt.segment_regions``; both are importable from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from scipy import ndimage

from synthapt.config import from_dict, to_dict
from synthapt.data import APTDataset, MATRIX, PRECIPITATE
from synthapt.errors import ConfigError, SynthaptError
from synthapt.mesh import Mesh, interface_mesh
from synthapt.segment_file import SEGMENTATION_GROUP, SegmentationResult, read_segmentation, write_segmentation
from synthapt.segment_regions import classify_regions, concentration_noise, phase_regions, region_counts
from synthapt.voxel import VoxelGrid, fill_outside, per_ion_values, voxelize

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances (e.g. slices processed)."""

EDGE_DETECTORS = ("hed", "canny", "sobel", "learned")
"""Names of ``synthapt.edges.DETECTORS`` (kept here so that importing this module needs no torch)."""

MIN_GRID = 4
"""A dataset must span at least this many voxels along every axis."""


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of the edge-detection segmentation (TOML table ``[segment]``).

    voxel_size: nm. delocalization: Gaussian sigma, nm. elements: partitioning element(s) whose
    summed concentration is imaged; empty = the element with the largest relative variation.
    detector: "hed", "canny", "sobel" or "learned"; detector_options: extra fields of its parameter class.
    upsample, batch_size, threads: HED slice enlargement, slices per pass, torch threads.
    slice_step: run the detector on every n-th slice of each stack, interpolating in between.
    fuse: "mean" or "max" of the three slice directions. min_count: atoms per voxel (after
    delocalization) for a voxel to count as inside the specimen. marker_threshold: edge level (of
    the [0, 1] fused field) below which voxels seed regions; min_marker_voxels: smallest seed.
    label_smoothing: Gaussian sigma (nm) of the precipitate indicator before labels/mesh.
    refine: half-width (nm) of a band around the edge-based boundary in which the indicator is
    the local composition scaled between the two phase compositions (0.5 at their mean), giving a
    sub-voxel interface; 0 keeps the pure edge/watershed boundary.
    min_contrast (at.%), noise_factor, significance (p-value): tests of the two-phase split (see
    ``classify_regions``). precipitate: "enriched" or "depleted" in the element(s).
    """

    voxel_size: float = 0.5
    delocalization: float = 0.75
    elements: tuple[str, ...] = ()
    detector: Literal["hed", "canny", "sobel", "learned"] = "hed"
    detector_options: dict[str, Any] = field(default_factory=dict)
    upsample: float = 2.0
    batch_size: int = 8
    threads: int = 2
    slice_step: int = 1
    fuse: Literal["mean", "max"] = "mean"
    min_count: float = 2.0
    marker_threshold: float = 0.3
    min_marker_voxels: int = 8
    label_smoothing: float = 0.5
    refine: float = 1.0
    min_contrast: float = 2.0
    noise_factor: float = 6.0
    significance: float = 1e-6
    precipitate: Literal["enriched", "depleted"] = "enriched"

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
        object.__setattr__(self, "detector_options", dict(self.detector_options))
        checks = {
            "voxel_size": self.voxel_size > 0, "delocalization": self.delocalization >= 0,
            "upsample": 1.0 <= self.upsample <= 8.0, "batch_size": self.batch_size >= 1,
            "threads": 1 <= self.threads <= 16, "slice_step": self.slice_step >= 1,
            "min_count": self.min_count > 0,
            "marker_threshold": 0.0 < self.marker_threshold < 1.0,
            "min_marker_voxels": self.min_marker_voxels >= 1,
            "label_smoothing": self.label_smoothing >= 0, "refine": self.refine >= 0,
            "min_contrast": self.min_contrast >= 0,
            "significance": 0.0 < self.significance < 1.0, "noise_factor": self.noise_factor >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"segment.{name}: invalid value {getattr(self, name)!r}")
        if self.detector not in EDGE_DETECTORS:
            raise ConfigError(f"segment.detector: unknown detector {self.detector!r} "
                              f"({', '.join(EDGE_DETECTORS)})")
        if self.fuse not in ("mean", "max"):
            raise ConfigError(f"segment.fuse: {self.fuse!r} is not 'mean' or 'max'")
        if self.precipitate not in ("enriched", "depleted"):
            raise ConfigError(f"segment.precipitate: {self.precipitate!r} is not 'enriched' or 'depleted'")

    @classmethod
    def from_dict(cls, data: dict, where: str = "segment") -> SegmentParams:
        return from_dict(cls, data, where)



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


def edge_field(image: np.ndarray, detector: Any, fuse: str = "mean", chunk: int = 32,
               progress: Progress | None = None, slice_step: int = 1) -> np.ndarray:
    """(nx,ny,nz) fused edge field in [0, 1] from 2D edge maps of slices along all three axes.

    slice_step: detect edges on every ``slice_step``-th slice of each stack (and the last one)
    and interpolate linearly in between (the image is smooth over the delocalization width).
    """
    picks = [np.unique(np.r_[np.arange(0, n, slice_step), n - 1]) for n in image.shape]
    total = sum(len(p) for p in picks)
    done = 0
    fused = np.zeros(image.shape, dtype=np.float32)
    for axis in range(3):
        stack = np.moveaxis(image, axis, 0)
        chosen = np.ascontiguousarray(stack[picks[axis]])
        edges = np.empty_like(chosen)
        for start in range(0, len(chosen), chunk):
            edges[start:start + chunk] = detector.detect(chosen[start:start + chunk])
            done += len(chosen[start:start + chunk])
            if progress is not None:
                progress("edges", done, total)
        if len(chosen) != len(stack):
            edges = _interpolate_slices(edges, picks[axis], len(stack))
        edges = np.moveaxis(edges, 0, axis)
        if fuse == "max":
            np.maximum(fused, edges, out=fused)
        else:
            fused += edges / 3.0
    peak = float(np.percentile(fused, 99.9))
    if peak <= 1e-6:
        return np.zeros_like(fused)
    return np.clip(fused / peak, 0.0, 1.0).astype(np.float32)


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
    grid = voxelize(dataset, params.voxel_size, params.delocalization)
    elements = choose_elements(grid, params.elements, params.min_count)
    conc, mask, image = concentration_image(grid, elements, params.min_count)
    if progress is not None:
        progress("voxelize", 1, 1)
    if detector is None:
        detector = make_detector(params)
    edges = edge_field(image, detector, params.fuse, chunk=max(params.batch_size, 1) * 4,
                       progress=progress, slice_step=params.slice_step)
    regions = phase_regions(edges, image, params.marker_threshold, params.min_marker_voxels)
    noise = concentration_noise(grid, elements, mask)
    is_precipitate, info = classify_regions(region_counts(dataset, grid, regions, elements), params,
                                            noise)
    voxel_labels = is_precipitate[regions].astype(np.int8)
    indicator = None
    if voxel_labels.any() and params.refine > 0:
        indicator = refined_indicator(voxel_labels, fill_outside(np.nan_to_num(conc), mask),
                                      params.refine / grid.voxel_size, grid, elements)
    result = finish(dataset, grid, voxel_labels, conc, edges, params.detector, elements,
                    params.label_smoothing, to_dict(params), info, indicator)
    if progress is not None:
        progress("labels", 1, 1)
    return result


def make_detector(params: SegmentParams) -> Any:
    """The edge detector named by ``params`` with its options."""
    from synthapt.edges import get_detector

    options = dict(params.detector_options)
    if params.detector == "hed":
        options.setdefault("upsample", params.upsample)
        options.setdefault("batch_size", params.batch_size)
        options.setdefault("num_threads", min(params.threads, 2))
    elif params.detector == "learned":
        options.setdefault("num_threads", min(params.threads, 2))
    elif params.detector == "canny":
        options.setdefault("spread", 1.0)
    return get_detector(params.detector, **options)


def refined_indicator(voxel_labels: np.ndarray, conc: np.ndarray, band_voxels: float,
                      grid: VoxelGrid, elements: tuple[str, ...]) -> np.ndarray:
    """Precipitate indicator (float32): the 0/1 labels, except within ``band_voxels`` of their
    boundary, where it is (c - c_matrix) / (c_precipitate - c_matrix) clipped to [0, 1]
    (c: delocalized concentration), so its 0.5 level sits at the mean of the two compositions."""
    inside = voxel_labels.astype(bool)
    depth = np.where(inside, ndimage.distance_transform_edt(inside),
                     ndimage.distance_transform_edt(~inside))
    band = depth <= band_voxels + 0.5
    # phase compositions from the voxels beyond the band (plateaus), if both phases have some
    core = np.where(band, -1, voxel_labels).astype(np.int8)
    if not ((core == MATRIX).any() and (core == PRECIPITATE).any()):
        core = voxel_labels
    comp = phase_composition(grid, elements, core)
    c_m, c_p = comp["matrix_at_pct"], comp["precipitate_at_pct"]
    indicator = voxel_labels.astype(np.float32)
    if not (np.isfinite(c_m) and np.isfinite(c_p)) or abs(c_p - c_m) < 1e-6:
        return indicator
    scaled = np.clip((conc - c_m) / (c_p - c_m), 0.0, 1.0).astype(np.float32)
    indicator[band] = scaled[band]
    return indicator


def finish(dataset: APTDataset, grid: VoxelGrid, voxel_labels: np.ndarray, conc: np.ndarray,
           edges: np.ndarray | None, method: str, elements: tuple[str, ...], smoothing_nm: float,
           params: dict, info: dict, indicator: np.ndarray | None = None) -> SegmentationResult:
    """Smoothed indicator -> per-ion labels and interface mesh; composition of each phase."""
    message = ""
    if not voxel_labels.any():
        message = f"no interface found ({info.get('reason', 'one phase')})"
        indicator = np.zeros(voxel_labels.shape, dtype=np.float32)
        labels = np.full(dataset.n_ions, MATRIX, dtype=np.int8)
        mesh = None
    else:
        if indicator is None:
            indicator = voxel_labels.astype(np.float32)
        if smoothing_nm > 0:
            indicator = ndimage.gaussian_filter(indicator, smoothing_nm / grid.voxel_size, mode="nearest")
        labels = np.where(per_ion_values(indicator, dataset.positions, grid.origin, grid.voxel_size) > 0.5,
                          PRECIPITATE, MATRIX).astype(np.int8)
        mesh = interface_mesh(indicator, grid.origin, grid.voxel_size)
        if mesh is None:
            raise SynthaptError("interface mesh: the precipitate fills the whole grid or vanishes "
                                "after smoothing; no surface can be built")
    composition = phase_composition(grid, elements, voxel_labels)
    return SegmentationResult(labels, voxel_labels, indicator, edges, conc, grid.origin,
                              grid.voxel_size, mesh, method, elements, params,
                              {**composition, **{k: v for k, v in info.items() if k != "reason"}},
                              message)


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


# ---------------------------------------------------------------------------- entry points
def load_segment_params(path: Any = None, method: str = "hed", element: str | None = None,
                        voxel_size: float | None = None,
                        delocalization: float | None = None) -> SegmentParams:
    """SegmentParams from an optional TOML file (its ``[segment]`` table, or the whole file) with
    command-line overrides; ``element`` may join several with '+', e.g. "Al+Ti"."""
    from synthapt.config import read_toml

    data: dict[str, Any] = {}
    if path is not None:
        raw = read_toml(path)
        data = dict(raw.get("segment", raw))
    if method not in (*EDGE_DETECTORS, "iso"):
        raise ConfigError(f"--method: unknown method {method!r} ({', '.join(EDGE_DETECTORS)}, iso)")
    if method != "iso":
        data["detector"] = method
    if element:
        data["elements"] = [e.strip() for e in element.split("+") if e.strip()]
    if voxel_size is not None:
        data["voxel_size"] = voxel_size
    if delocalization is not None:
        data["delocalization"] = delocalization
    return SegmentParams.from_dict(data)


def run_segmentation(dataset: APTDataset, params: SegmentParams, method: str = "hed",
                     iso_value: float = 12.0, progress: Progress | None = None) -> SegmentationResult:
    """``segment`` for the edge methods, ``iso_segment`` (element(s) from ``params``) for "iso"."""
    if method != "iso":
        return segment(dataset, params if params.detector == method else
                       dataclasses.replace(params, detector=method), progress)
    from synthapt.isosurface import iso_segment

    if not params.elements:
        raise ConfigError("--element: the iso method needs the element(s) to image")
    return iso_segment(dataset, params.elements, iso_value, params.voxel_size,
                       params.delocalization, params.min_count)
