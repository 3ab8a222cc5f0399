"""Phase regions of the edge field, their two-phase classification and the final labels (steps 4-7
of ``synthapt.segmentation.edge``): watershed regions, per-region atom counts, counting noise, split
test, refined indicator, and ``finish`` (indicator -> per-ion labels + interface mesh)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage, stats
from skimage.filters import threshold_otsu
from skimage.segmentation import watershed

from synthapt.data import MATRIX, NO_PHASE, PRECIPITATE, APTDataset
from synthapt.errors import SynthaptError
from synthapt.segmentation.image import phase_composition
from synthapt.segmentation.params import SegmentParams
from synthapt.segmentation.result import SegmentationResult
from synthapt.spatial.mesh import Mesh, interface_mesh
from synthapt.spatial.volume import SpecimenVolume, clip_mesh
from synthapt.spatial.voxel import VoxelGrid, flat_voxel_index, ion_elements, per_ion_values


def phase_regions(edges: np.ndarray, image: np.ndarray, threshold: float,
                  min_marker_voxels: int) -> np.ndarray:
    """(nx,ny,nz) int32 region ids (1..R): watershed of ``edges`` from low-edge markers.

    Markers are the connected components of voxels with ``edges < threshold``, taken separately
    above and below the Otsu level of ``image`` so that a gap in an edge cannot merge two phases.
    """
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


def plateau_compositions(voxel_labels: np.ndarray, band_voxels: float, grid: VoxelGrid,
                         elements: tuple[str, ...]) -> tuple[float, float, np.ndarray]:
    """(c_matrix, c_precipitate, band): at.% of ``elements`` (raw counts) in the matrix and
    precipitate voxels farther than ``band_voxels`` + 0.5 voxels from the boundary of the 0/1
    ``voxel_labels`` (the plateaus; all voxels of each phase if one phase has none that far),
    and the (nx,ny,nz) bool mask of the band around the boundary."""
    inside = voxel_labels.astype(bool)
    depth = np.where(inside, ndimage.distance_transform_edt(inside),
                     ndimage.distance_transform_edt(~inside))
    band = depth <= band_voxels + 0.5
    core = np.where(band, -1, voxel_labels).astype(np.int8)
    if not ((core == MATRIX).any() and (core == PRECIPITATE).any()):
        core = voxel_labels
    comp = phase_composition(grid, elements, core)
    return comp["matrix_at_pct"], comp["precipitate_at_pct"], band


def refined_indicator(voxel_labels: np.ndarray, conc: np.ndarray, band_voxels: float,
                      grid: VoxelGrid, elements: tuple[str, ...]) -> np.ndarray:
    """Precipitate indicator (float32): the 0/1 labels, except within ``band_voxels`` of their
    boundary, where it is (c - c_matrix) / (c_precipitate - c_matrix) clipped to [0, 1]
    (c: delocalized concentration; c_matrix, c_precipitate: ``plateau_compositions``), so its
    0.5 level sits at the mean of the two compositions."""
    c_m, c_p, band = plateau_compositions(voxel_labels, band_voxels, grid, elements)
    indicator = voxel_labels.astype(np.float32)
    if not (np.isfinite(c_m) and np.isfinite(c_p)) or abs(c_p - c_m) < 1e-6:
        return indicator
    scaled = np.clip((conc - c_m) / (c_p - c_m), 0.0, 1.0).astype(np.float32)
    indicator[band] = scaled[band]
    return indicator


def finish(*, dataset: APTDataset, grid: VoxelGrid, voxel_labels: np.ndarray, conc: np.ndarray,
           edges: np.ndarray | None, method: str, elements: tuple[str, ...], smoothing_nm: float,
           params: dict, info: dict, indicator: np.ndarray | None = None,
           volume: SpecimenVolume | None = None) -> SegmentationResult:
    """Smoothed indicator -> per-ion labels and interface mesh; composition of each phase.

    volume: the analysed specimen volume; the mesh is clipped to its surface and voxels outside
    its mask are labelled ``NO_PHASE`` (neither matrix nor precipitate). None: the whole grid.
    """
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
        mesh = clip_mesh(mesh, volume) if volume is not None else mesh
        if mesh is None:
            message = "no interface found inside the specimen (the interface lies only outside it)"
    composition = phase_composition(grid, elements, voxel_labels)
    voxel_labels, specimen = specimen_labels(voxel_labels, volume, mesh)
    return SegmentationResult(
        labels=labels, voxel_labels=voxel_labels, indicator=indicator, edge_field=edges,
        concentration=conc, origin=grid.origin, voxel_size=grid.voxel_size, mesh=mesh, method=method,
        elements=elements, params=params,
        phase_composition={**composition, **specimen, **{k: v for k, v in info.items() if k != "reason"}},
        message=message)


def specimen_labels(voxel_labels: np.ndarray, volume: SpecimenVolume | None,
                    mesh: Mesh | None) -> tuple[np.ndarray, dict]:
    """Voxel labels with ``NO_PHASE`` outside the specimen mask, and the statistics of the
    specimen volume (voxel fraction, volume nm^3, interface area nm^2 inside it)."""
    area = mesh.area if mesh is not None else 0.0
    if volume is None:
        return voxel_labels, {"interface_area_nm2": area}
    labels = np.where(volume.mask, voxel_labels, NO_PHASE).astype(np.int8)
    return labels, {"specimen_voxel_fraction": volume.voxel_fraction,
                    "specimen_volume_nm3": volume.volume_nm3, "interface_area_nm2": area}
