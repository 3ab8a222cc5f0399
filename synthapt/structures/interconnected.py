"""Interconnected (bicontinuous) precipitates: a gyroid level set, periodic in the box.

The gyroid ``f(p) = sin(kx x) cos(ky y) + sin(ky y) cos(kz z) + sin(kz z) cos(kx x)``, with
``k = 2 pi cells / box`` so that it repeats exactly in the periodic box; the precipitate is
``f > level``. ``level`` is solved for a target volume fraction on a fine sample grid.

Signed distance: the level set has no closed-form distance. ``Gyroid.signed_distance`` starts
from the nearest of a dense set of surface samples (marching cubes, 48 per cell, projected onto
the exact surface; periodic cKDTree), then slides the foot point along the tangent plane with
re-projection (damped closest-point iteration, 20 steps) and returns the smallest foot-point
distance found, with the sign of ``f - level``. Every foot point lies on the exact surface, so
the value never underestimates the true distance; measured against points placed at known
distances along the surface normal it is exact to 2e-4 nm, and against a 0.02-nm surface
sampling it agrees to the sampling's own resolution everywhere in the cell (tests).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes

from synthapt.errors import ConfigError
from synthapt.structures.geometry import Geometry, as_points, register_geometry


@register_geometry
@dataclass(frozen=True)
class Gyroid(Geometry):
    """Gyroid network: precipitate where the gyroid function exceeds ``level``.

    box: (3,) periodic box, nm. cells: (3,) gyroid unit cells along x, y, z in the box.
    level: threshold in (-1.5, 1.5); 0 gives a volume fraction of one half.
    """

    kind = "gyroid"
    box: tuple[float, float, float] = (10.0, 10.0, 10.0)
    cells: tuple[int, int, int] = (1, 1, 1)
    level: float = 0.0

    def __post_init__(self) -> None:
        if len(self.box) != 3 or min(self.box) <= 0:
            raise ConfigError(f"geometry.box: need three positive lengths, got {self.box}")
        if len(self.cells) != 3 or min(self.cells) < 1:
            raise ConfigError(f"geometry.cells: need three integers >= 1, got {self.cells}")
        if not -1.5 < self.level < 1.5:
            raise ConfigError(f"geometry.level: must be in (-1.5, 1.5), got {self.level}")
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "cells", tuple(int(v) for v in self.cells))
        object.__setattr__(self, "level", float(self.level))

    @property
    def wavenumbers(self) -> np.ndarray:
        """(3,) angular wavenumbers, rad/nm."""
        return 2.0 * np.pi * np.asarray(self.cells, dtype=np.float64) / np.asarray(self.box)

    def value(self, points: np.ndarray) -> np.ndarray:
        """(K,) gyroid function minus level (positive inside)."""
        q = as_points(points) * self.wavenumbers
        sx, sy, sz = np.sin(q).T
        cx, cy, cz = np.cos(q).T
        return sx * cy + sy * cz + sz * cx - self.level

    def gradient(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) gradient of ``value``, 1/nm."""
        q = as_points(points) * self.wavenumbers
        sx, sy, sz = np.sin(q).T
        cx, cy, cz = np.cos(q).T
        g = np.stack([cx * cy - sz * sx, -sx * sy + cy * cz, -sy * sz + cz * cx], axis=1)
        return g * self.wavenumbers

    def first_order_distance(self, points: np.ndarray) -> np.ndarray:
        """(K,) ``(f - level) / |grad f|``, nm: a first-order distance estimate."""
        grad_norm = np.linalg.norm(self.gradient(points), axis=1)
        return self.value(points) / np.maximum(grad_norm, 1e-12)

    def _project(self, x: np.ndarray, steps: int = 4) -> np.ndarray:
        for _ in range(steps):
            g = self.gradient(x)
            g2 = np.maximum((g * g).sum(axis=1), 1e-12)
            x = x - (self.value(x) / g2)[:, None] * g
        return x

    def surface_samples(self, per_cell: int = 48) -> np.ndarray:
        """(S, 3) points on ``f = level`` covering the whole box, nm (marching cubes on one cell,
        projected onto the exact surface, tiled over all cells)."""
        return _surface_samples(self.box, self.cells, self.level, per_cell)

    def signed_distance(self, points: np.ndarray, iterations: int = 20) -> np.ndarray:
        """(K, 3) nm -> (K,) nm: distance to the closest point of ``f = level``, positive inside.

        Start from the nearest dense surface sample (periodic cKDTree), then slide along the
        tangent plane and re-project onto the surface until the foot point settles. The result
        is the distance to a true surface point (never below the exact distance) and never
        larger than the distance to the nearest sample.
        """
        box = np.asarray(self.box)
        p = np.mod(as_points(points), box)
        p = np.where(p >= box, 0.0, p)
        samples = self.surface_samples()
        tree = _tree(self.box, self.cells, self.level, 48)
        sample_dist, idx = tree.query(p)
        start = samples[idx]
        # unwrap the start point into p's periodic image
        foot = p + ((start - p) - box * np.round((start - p) / box))
        best = sample_dist
        for _ in range(iterations):
            g = self.gradient(foot)
            n = g / np.maximum(np.linalg.norm(g, axis=1), 1e-12)[:, None]
            delta = p - foot
            tangential = delta - (delta * n).sum(axis=1)[:, None] * n
            foot = self._project(foot + 0.8 * tangential, steps=3)
            on_surface = np.abs(self.value(foot)) < 1e-9
            best = np.where(on_surface, np.minimum(best, np.linalg.norm(p - foot, axis=1)), best)
        return np.where(self.value(p) > 0, best, -best)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(K,) bool: points inside the network (``value > 0``; no distance needed)."""
        return self.value(points) > 0

    def signed_estimate(self, points: np.ndarray) -> np.ndarray:
        """(K,) nm: ``first_order_distance``, exact to first order near the surface, with the sign
        of ``contains``."""
        return self.first_order_distance(points)

    def scaled(self, factor: float) -> Gyroid:
        return Gyroid(tuple(v * factor for v in self.box), self.cells, self.level)

    def volume_fraction(self, samples: int = 64) -> float:
        """Fraction of the box inside (f > level), from a regular grid of samples^3 per cell."""
        grid = (np.arange(samples) + 0.5) / samples
        pts = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
        pts = pts * np.asarray(self.box) / np.asarray(self.cells)
        return float(np.mean(self.value(pts) > 0))


@functools.lru_cache(maxsize=8)
def _surface_samples(box: tuple, cells: tuple, level: float, per_cell: int) -> np.ndarray:
    gyroid = Gyroid(box, cells, level)
    cell = np.asarray(box) / np.asarray(cells)
    n = per_cell + 1
    axes = [np.linspace(0.0, c, n) for c in cell]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = gyroid.value(grid).reshape(n, n, n)
    verts, _faces, _normals, _values = marching_cubes(values, 0.0, spacing=tuple(cell / per_cell))
    verts = gyroid._project(verts, steps=6)
    shifts = np.stack(np.meshgrid(*[np.arange(c) for c in cells], indexing="ij"), -1).reshape(-1, 3)
    tiled = (verts[None, :, :] + (shifts * cell)[:, None, :]).reshape(-1, 3)
    boxv = np.asarray(box)
    wrapped = np.mod(tiled, boxv)
    return np.where(wrapped >= boxv, 0.0, wrapped)


@functools.lru_cache(maxsize=8)
def _tree(box: tuple, cells: tuple, level: float, per_cell: int) -> cKDTree:
    return cKDTree(_surface_samples(box, cells, level, per_cell), boxsize=np.asarray(box))


def gyroid_for_fraction(box: np.ndarray, cells: tuple[int, int, int], volume_fraction: float,
                        samples: int = 64) -> Gyroid:
    """Gyroid whose precipitate fills ``volume_fraction`` of the box (level from a sample grid)."""
    if not 0.05 <= volume_fraction <= 0.95:
        raise ConfigError(f"geometry.volume_fraction: must be in [0.05, 0.95] for a connected "
                          f"gyroid network, got {volume_fraction}")
    base = Gyroid(tuple(float(v) for v in box), tuple(cells), 0.0)
    grid = (np.arange(samples) + 0.5) / samples
    pts = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    values = base.value(pts * np.asarray(base.box) / np.asarray(base.cells))
    level = float(np.quantile(values, 1.0 - volume_fraction))
    return Gyroid(base.box, base.cells, level)


@dataclass(frozen=True)
class InterconnectedSpec:
    """The ``kind = "interconnected"`` geometry table: a gyroid network.

    cell_size: target gyroid cell length, nm (rounded so whole cells fit in the box).
    volume_fraction: fraction of the box inside the precipitate network.
    """

    cell_size: float = 5.0
    volume_fraction: float = 0.3

    def __post_init__(self) -> None:
        if not self.cell_size > 0:
            raise ConfigError(f"geometry.cell_size: must be > 0 nm, got {self.cell_size}")
        if not 0.05 <= self.volume_fraction <= 0.95:
            raise ConfigError(f"geometry.volume_fraction: must be in [0.05, 0.95] for a "
                              f"connected gyroid network, got {self.volume_fraction}")

    def build(self, box: np.ndarray) -> Gyroid:
        cells = tuple(max(1, int(round(float(b) / self.cell_size))) for b in box)
        return gyroid_for_fraction(box, cells, self.volume_fraction)
