"""Where the atoms put the interface: the compositional interface of a specimen, and faces of flat
layers placed between atomic planes.

``compositional_offset`` measures how far the 50 % crossing of the partitioning element's
composition profile (composition of the true atoms vs their signed distance to the geometry)
lies from the geometry's zero level. The profile is a kernel (Nadaraya-Watson) estimate: atoms
are histogrammed in ``FINE_BIN`` (0.005 nm) bins of signed distance, and the element and total
counts are smoothed with a Gaussian of ``bandwidth`` (default 0.25 nm) before dividing. The
bandwidth is wider than the atomic plane spacing (0.178 nm for (002) in Ni3Al), which averages
out the alternating solute-rich / solute-free planes of an L1_2 precipitate (their
contribution is damped by exp(-2 pi^2 bandwidth^2 / period^2) ~ 6e-5 at the 0.356 nm period),
so the crossing is the interface a blurred measurement sees. It is the equimolar (Gibbs)
dividing surface of a profile symmetric about its midpoint, and no bin alignment enters. Where
the number of atoms per unit signed distance varies (curved interfaces: it grows as (r - s)^2
outside a sphere of radius r), smoothing moves the crossing of a sharp step by
-kappa * bandwidth^2 (kappa = d ln(density) / ds, fitted over |s| < plateau); that shift is
removed (first order in bandwidth / radius: about 0.07 nm on a 1.8 nm sphere before, < 0.015 nm
after).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.errors import ConfigError
from synthapt.structures.composite import Complement, Intersection, Union
from synthapt.structures.layered import Layered

FINE_BIN = 0.005
"""Histogram bin (nm) of signed distances before smoothing (adds at most 0.0025 nm)."""


def _distances(positions: np.ndarray, sdf: Any) -> np.ndarray:
    if hasattr(sdf, "signed_distance"):
        return np.asarray(sdf.signed_distance(positions), dtype=np.float64)
    if callable(sdf):
        return np.asarray(sdf(positions), dtype=np.float64)
    return np.asarray(sdf, dtype=np.float64)


def smoothed_profile(distance: np.ndarray, is_element: np.ndarray, window: float = 1.5,
                     bandwidth: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid (G,) nm, fraction (G,) of the element, atoms (G,) per nm) of the kernel-smoothed
    profile on ``FINE_BIN`` steps over [-window, window]; fraction is NaN where no atom is
    within a few bandwidths."""
    margin = 4.0 * bandwidth
    n_half = int(np.ceil((window + margin) / FINE_BIN))
    edges = FINE_BIN * (np.arange(-n_half, n_half + 1) - 0.5)
    keep = np.abs(distance) < window + margin
    total, _ = np.histogram(distance[keep], edges)
    element, _ = np.histogram(distance[keep][is_element[keep]], edges)
    k_half = int(np.ceil(margin / FINE_BIN))
    kernel = np.exp(-0.5 * (FINE_BIN * np.arange(-k_half, k_half + 1) / bandwidth) ** 2)
    smooth_total = np.convolve(total, kernel, mode="same")
    smooth_element = np.convolve(element, kernel, mode="same")
    grid = FINE_BIN * np.arange(-n_half, n_half)
    inner = np.abs(grid) <= window + 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(smooth_total > 1e-3 * kernel.sum(),
                            smooth_element / smooth_total, np.nan)
    density = smooth_total / (kernel.sum() * FINE_BIN)
    return grid[inner], fraction[inner], density[inner]


def compositional_offset(positions: np.ndarray, species: np.ndarray, sdf: Any,
                         element_code: int, window: float = 1.5, bandwidth: float = 0.25,
                         plateau: float = 0.6) -> float:
    """Signed distance (nm) of the compositional interface from the geometry's zero level.

    positions: (N, 3) true atom positions, nm; species: (N,) element codes; sdf: a geometry (with
    ``signed_distance``), a callable (K, 3) -> (K,) or precomputed (N,) signed distances (nm,
    positive inside the precipitate); element_code: the partitioning element (e.g. Al).
    The profile (kernel-smoothed, see the module docstring) is taken over |s| <= ``window``;
    the two plateau compositions are its mean over ``plateau`` <= |s| <= ``window`` on each side
    (stopping two bandwidths short of the deepest atom on either side, e.g. a slab's mid-plane),
    and the result is the 50 % crossing between them nearest to s = 0 (linear interpolation,
    searched within |s| < ``plateau``). Positive: the compositional interface lies inside the
    precipitate (the geometry is too large). NaN when a plateau range holds no atoms (features
    thinner than about 2 (plateau + 2 bandwidth) nm; pass smaller values), the plateaus differ by
    less than 1 at.%, or no crossing exists.
    """
    if not (window > plateau > 0 and bandwidth > 0):
        raise ConfigError("compositional_offset: need window > plateau > 0 and bandwidth > 0 nm")
    distance = _distances(np.asarray(positions), sdf)
    species = np.asarray(species)
    if distance.shape != species.shape:
        raise ConfigError(f"compositional_offset: {distance.shape} distances for "
                          f"{species.shape} species")
    grid, fraction, density = smoothed_profile(distance, species == element_code, window, bandwidth)
    weights = np.where(np.isfinite(fraction), density, 0.0)
    values = np.nan_to_num(fraction)
    # plateaus stop two bandwidths short of the last atoms (slab centre, particle centre),
    # where the kernel is cut off and no longer averages the ordered planes
    deepest, highest = float(distance.min()) + 2 * bandwidth, float(distance.max()) - 2 * bandwidth
    side = {name: mask & (weights > 0) for name, mask in
            (("matrix", (grid <= -plateau) & (grid >= deepest)),
             ("precipitate", (grid >= plateau) & (grid <= highest)))}
    if not all(mask.any() for mask in side.values()):
        return float("nan")
    c_matrix, c_precipitate = (float(np.average(values[m], weights=weights[m]))
                               for m in side.values())
    if abs(c_precipitate - c_matrix) < 0.01:
        return float("nan")
    middle = 0.5 * (c_matrix + c_precipitate)
    search = (np.abs(grid) < plateau) & np.isfinite(fraction)
    g, f = grid[search], fraction[search] - middle
    crossing = np.flatnonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)
    exact = g[f == 0]
    candidates = [g[i] - f[i] * (g[i + 1] - g[i]) / (f[i + 1] - f[i]) for i in crossing]
    candidates += list(exact)
    if not candidates:
        return float("nan")
    # kernel smoothing shifts a sharp step by -kappa * bandwidth^2 where the atom density varies
    # as rho(s) ~ 1 + kappa s (curved interfaces: kappa = -2 / r for a sphere); remove it
    dense = search & (density > 0)
    kappa = float(np.polyfit(grid[dense], np.log(density[dense]), 1)[0]) if dense.sum() > 2 else 0.0
    return float(min(candidates, key=abs) + kappa * bandwidth ** 2)


def plane_positions(projections: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Sorted distinct values (nm) of site projections onto a normal (within ``tolerance``)."""
    s = np.sort(np.asarray(projections, dtype=np.float64))
    if len(s) == 0:
        return s
    starts = np.r_[True, np.diff(s) > tolerance]
    return s[starts]


def _expanded(planes: np.ndarray, period: float | None, lo: float, hi: float) -> np.ndarray:
    """Sorted plane positions covering [lo, hi] (nm) with two planes to spare on each side,
    periodic images included when the planes repeat with ``period``."""
    if period is None:
        return planes
    first, last = int(np.floor(lo / period)) - 1, int(np.floor(hi / period)) + 1
    images = [planes + k * period for k in range(first, last + 1)]
    return np.unique(np.round(np.concatenate(images), 9))


def _gap(planes: np.ndarray, face: float) -> int:
    """Index i of the gap (planes[i - 1], planes[i]) holding ``face``."""
    return int(np.searchsorted(planes, face, side="right"))


def _slab_between_planes(center: float, thickness: float, planes: np.ndarray) -> tuple[float, float]:
    lo_gap, hi_gap = _gap(planes, center - 0.5 * thickness), _gap(planes, center + 0.5 * thickness)
    if not (0 < lo_gap < hi_gap < len(planes)):
        return center, thickness  # no atomic planes around a face: leave the slab as it is
    options = [(lo_gap, hi_gap)]
    if (hi_gap - lo_gap) % 2:  # odd number of planes: one more or one fewer, whichever fits
        options = [(g0, g1) for g0, g1 in ((lo_gap - 1, hi_gap), (lo_gap + 1, hi_gap),
                                          (lo_gap, hi_gap - 1), (lo_gap, hi_gap + 1))
                   if 0 < g0 < g1 < len(planes)] or options

    def faces(option: tuple[int, int]) -> tuple[float, float]:
        g0, g1 = option
        return 0.5 * (planes[g0 - 1] + planes[g0]), 0.5 * (planes[g1 - 1] + planes[g1])

    def misfit(option: tuple[int, int]) -> tuple[float, float]:
        lo, hi = faces(option)
        return abs((hi - lo) - thickness), abs(0.5 * (lo + hi) - center)

    lo, hi = faces(min(options, key=misfit))
    return 0.5 * (lo + hi), hi - lo


def place_between_planes(geometry: Any, sites: np.ndarray) -> Any:
    """``geometry`` with every flat face of its layers moved to the midpoint between the atomic
    planes of ``sites`` (N, 3) nm on either side, each slab holding an even number of planes
    (whole L1_2 cells along a cube axis, so its two faces start with opposite kinds of plane).
    Composites are handled part by part; other kinds are returned unchanged. No site then lies
    on a face, and a random solid solution on either side has its compositional interface
    exactly on the face. Faces move by at most 1.5 plane spacings (0.27 nm for (002))."""
    if isinstance(geometry, Layered):
        normal = geometry.unit_normal
        projections = sites @ normal
        if geometry.period is not None:
            projections = np.mod(projections, geometry.period)
        planes = plane_positions(projections)
        centers, thicknesses = [], []
        for t, c in zip(geometry.thicknesses, geometry.centers):
            expanded = _expanded(planes, geometry.period, c - t, c + t)
            center, thickness = _slab_between_planes(c, t, expanded)
            centers.append(center)
            thicknesses.append(thickness)
        return Layered(geometry.normal, tuple(thicknesses), tuple(centers), geometry.period)
    if isinstance(geometry, (Union, Intersection)):
        return type(geometry)(tuple(place_between_planes(p, sites) for p in geometry.parts))
    if isinstance(geometry, Complement):
        return Complement(place_between_planes(geometry.part, sites))
    return geometry
