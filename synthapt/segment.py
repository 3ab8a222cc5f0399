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

The module also holds the result type and its HDF5 file, which belong with the pipeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from scipy import ndimage, stats

from synthapt.config import from_dict, to_dict
from synthapt.data import APTDataset, MATRIX, PRECIPITATE
from synthapt.errors import ConfigError, SynthaptError
from synthapt.mesh import Mesh, interface_mesh
from synthapt.voxel import VoxelGrid, fill_outside, per_ion_values, voxelize

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances (e.g. slices processed)."""

MIN_GRID = 4
"""A dataset must span at least this many voxels along every axis."""


@dataclass(frozen=True)
class SegmentParams:
    """Parameters of the edge-detection segmentation (TOML table ``[segment]``).

    voxel_size: nm. delocalization: Gaussian sigma, nm. elements: partitioning element(s) whose
    summed concentration is imaged; empty = the element with the largest relative variation.
    detector: "hed", "canny" or "sobel"; detector_options: extra fields of its parameter class.
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
    detector: Literal["hed", "canny", "sobel"] = "hed"
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
        if self.detector not in ("hed", "canny", "sobel"):
            raise ConfigError(f"segment.detector: unknown detector {self.detector!r} (hed, canny, sobel)")
        if self.fuse not in ("mean", "max"):
            raise ConfigError(f"segment.fuse: {self.fuse!r} is not 'mean' or 'max'")
        if self.precipitate not in ("enriched", "depleted"):
            raise ConfigError(f"segment.precipitate: {self.precipitate!r} is not 'enriched' or 'depleted'")

    @classmethod
    def from_dict(cls, data: dict, where: str = "segment") -> SegmentParams:
        return from_dict(cls, data, where)


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Outcome of a segmentation.

    labels: (M,) int8 per-ion phase (0 matrix, 1 precipitate). voxel_labels: (nx,ny,nz) int8.
    indicator: (nx,ny,nz) float32 smoothed precipitate indicator (labels/mesh at 0.5), or the
        concentration for iso-surfaces. edge_field: (nx,ny,nz) float32 fused edges in [0, 1]
        (None for iso-surfaces). concentration: (nx,ny,nz) float32 at.% (NaN outside the specimen).
    origin (3,) nm and voxel_size nm place the grids. mesh: interface ``Mesh`` (None if no
    interface). method: "hed", "canny", "sobel" or "iso". elements: imaged element(s).
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


def phase_regions(edges: np.ndarray, image: np.ndarray, threshold: float,
                  min_marker_voxels: int) -> np.ndarray:
    """(nx,ny,nz) int32 region ids (1..R): watershed of ``edges`` from low-edge markers.

    Markers are the connected components of voxels with ``edges < threshold``, taken separately
    above and below the Otsu level of ``image`` so that a gap in an edge cannot merge two phases.
    """
    from skimage.filters import threshold_otsu
    from skimage.segmentation import watershed

    low = edges < threshold
    level = threshold_otsu(image) if image.max() > image.min() else image.max() + 1.0
    upper = image >= level
    markers = np.zeros(edges.shape, dtype=np.int32)
    n = 0
    for part in (low & upper, low & ~upper):
        lab, m = ndimage.label(part)
        markers[part] = lab[part] + n
        n += m
    if n == 0:
        return np.ones(edges.shape, dtype=np.int32)
    sizes = np.bincount(markers.ravel(), minlength=n + 1)
    keep = sizes >= min_marker_voxels
    keep[0] = False
    if not keep.any():
        keep[int(np.argmax(sizes[1:])) + 1] = True
    relabel = np.zeros(n + 1, dtype=np.int32)
    relabel[keep] = np.arange(1, int(keep.sum()) + 1)
    return watershed(edges, relabel[markers]).astype(np.int32)


def region_counts(dataset: APTDataset, grid: VoxelGrid, regions: np.ndarray,
                  elements: tuple[str, ...]) -> np.ndarray:
    """(2, 2, R+1) atoms per region: [half][element(s), all], halves = even/odd ion index."""
    from synthapt.voxel import flat_voxel_index, ion_elements

    _, table = ion_elements(dataset)
    idx = grid.element_index(elements)
    n_codes = table.shape[0] + 1  # slot 0: unranged ions
    per_code = np.zeros((n_codes, 2))
    per_code[1:, 0] = table[:, idx].sum(axis=1)
    per_code[1:, 1] = table.sum(axis=1)
    n_regions = int(regions.max()) + 1
    key = regions.ravel()[flat_voxel_index(dataset.positions, grid.origin, grid.voxel_size, grid.shape)]
    key = key.astype(np.int64)
    key *= 2
    key[1::2] += 1  # odd-numbered ions form the second half
    key *= n_codes
    key += dataset.species
    key += 1
    by_code = np.bincount(key, minlength=n_regions * 2 * n_codes).reshape(n_regions, 2, n_codes)
    return np.einsum("rhc,ck->hkr", by_code.astype(np.float64), per_code)


def concentration_noise(grid: VoxelGrid, elements: tuple[str, ...], mask: np.ndarray) -> float:
    """Binomial counting noise (1 sigma, at.%) of the delocalized concentration image: the mean
    composition c over N_eff = atoms/nm^3 x (4 pi sigma^2)^(3/2) atoms (the Gaussian's effective
    volume; the voxel volume if there is no delocalization)."""
    idx = grid.element_index(elements)
    part = float(grid.counts[idx].sum())
    total = float(grid.counts.sum())
    if total <= 0 or not mask.any():
        return 0.0
    c = part / total
    density = total / (mask.sum() * grid.voxel_size**3)
    sigma = grid.delocalization
    volume = (4 * np.pi * sigma**2) ** 1.5 if sigma > 0 else grid.voxel_size**3
    return 100.0 * float(np.sqrt(c * (1 - c) / max(density * volume, 1.0)))


def classify_regions(counts: np.ndarray, params: SegmentParams,
                     noise_at_pct: float = 0.0) -> tuple[np.ndarray, dict]:
    """Two-class split of regions by concentration, tested on independent ions.

    counts: (2, 2, R) atoms of the element(s) and of all elements per region, for two disjoint
    halves of the ions. The split (Otsu on region concentrations weighted by atoms) is chosen on
    half 0 and tested on half 1: a one-sided two-proportion z-test (p < ``significance``), and a
    contrast of at least ``min_contrast`` at.% and ``noise_factor`` x ``noise_at_pct`` (the
    counting noise of the delocalized concentration image, ``concentration_noise``). The
    latter matters: region borders follow the noise of the image they come from, so in a uniform
    solid solution the split still finds classes several noise widths apart; a real interface
    is many noise widths. Returns (R,) bool "is precipitate" (all False for one phase) and the
    statistics.
    """
    part, total = counts[0]
    ok = total > 0
    conc = np.where(ok, part / np.maximum(total, 1), 0.0)
    ids = np.flatnonzero(ok)[np.argsort(conc[ok], kind="stable")]
    c, n, k = conc[ids], total[ids], part[ids]
    info: dict[str, Any] = {"regions": int(len(ids))}
    if len(ids) < 2:
        return np.zeros(len(total), bool), {**info, "reason": "one region"}
    n_lo, k_lo = np.cumsum(n)[:-1], np.cumsum(k)[:-1]
    n_hi, k_hi = n.sum() - n_lo, k.sum() - k_lo
    between = n_lo * n_hi * (k_hi / n_hi - k_lo / n_lo) ** 2 / n.sum() ** 2
    j = int(np.argmax(between))
    mean = k.sum() / n.sum()
    total_var = float(np.sum(n * (c - mean) ** 2) / n.sum())
    separation = float(between[j] / total_var) if total_var > 0 else 0.0
    high = np.zeros(len(total), bool)
    high[ids[j + 1:]] = True
    # test on the other half of the ions
    part_t, total_t = counts[1]
    n1, k1 = total_t[high].sum(), part_t[high].sum()
    n0, k0 = total_t[~high].sum(), part_t[~high].sum()
    if n0 == 0 or n1 == 0:
        return np.zeros(len(total), bool), {**info, "reason": "a class holds no test ions"}
    p_pool = (k0 + k1) / (n0 + n1)
    se = np.sqrt(max(p_pool * (1 - p_pool), 1e-12) * (1 / n0 + 1 / n1))
    contrast = 100.0 * float(k1 / n1 - k0 / n0)
    p_value = float(stats.norm.sf(contrast / 100.0 / se))
    needed = max(params.min_contrast, params.noise_factor * noise_at_pct)
    info.update(contrast_at_pct=contrast, noise_at_pct=noise_at_pct, separation=separation,
                p_value=p_value)
    reasons = []
    if p_value > params.significance:
        reasons.append(f"p={p_value:.2g} > {params.significance:g}")
    if contrast < needed:
        reasons.append(f"contrast {contrast:.2f} at.% < {needed:.2f} at.%")
    if reasons:
        return np.zeros(len(total), bool), {**info, "reason": "; ".join(reasons)}
    return (high if params.precipitate == "enriched" else ok & ~high), info


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
    if method not in ("hed", "canny", "sobel", "iso"):
        raise ConfigError(f"--method: unknown method {method!r} (hed, canny, sobel, iso)")
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


# ---------------------------------------------------------------------------- HDF5 file
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
    import json

    import h5py

    from synthapt.io.atomic import atomic_output
    from synthapt.io.hdf5 import SCHEMA_VERSION, write_group

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
    import json
    from pathlib import Path

    import h5py

    from synthapt.errors import FormatError
    from synthapt.io.hdf5 import read_group

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
