"""Layered structures: one or more flat slabs (precipitate layers) with any normal.

Each slab ``i`` is the set of points whose coordinate along the unit normal, ``s = p . n``, lies
within ``thicknesses[i] / 2`` of ``centers[i]`` (all nm). With a ``period`` the pattern repeats
along the normal (a multilayer); the signed distance is then exact for the whole infinite stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthapt.errors import ConfigError
from synthapt.structures.geometry import Geometry, as_points, register_geometry


@register_geometry
@dataclass(frozen=True)
class Layered(Geometry):
    """Flat precipitate slabs.

    normal: direction of the layer normal (any length, normalised internally).
    thicknesses: (S,) slab thicknesses, nm.
    centers: (S,) slab mid-planes as distances along the normal from the origin, nm.
    period: repeat distance along the normal (nm), or None for slabs that do not repeat.
    """

    kind = "layered"
    normal: tuple[float, float, float] = (0.0, 0.0, 1.0)
    thicknesses: tuple[float, ...] = (2.0,)
    centers: tuple[float, ...] = (0.0,)
    period: float | None = None

    def __post_init__(self) -> None:
        n = np.asarray(self.normal, dtype=np.float64)
        if n.shape != (3,) or not np.isfinite(n).all() or np.linalg.norm(n) == 0:
            raise ConfigError(f"geometry.normal: need a non-zero 3-vector, got {self.normal}")
        if not self.thicknesses:
            raise ConfigError("geometry.thicknesses: need at least one slab")
        if len(self.thicknesses) != len(self.centers):
            raise ConfigError(f"geometry.centers: {len(self.centers)} centres for "
                              f"{len(self.thicknesses)} thicknesses")
        if any(not t > 0 for t in self.thicknesses):
            raise ConfigError(f"geometry.thicknesses: must be > 0 nm, got {self.thicknesses}")
        object.__setattr__(self, "normal", tuple(float(v) for v in self.normal))
        object.__setattr__(self, "thicknesses", tuple(float(v) for v in self.thicknesses))
        object.__setattr__(self, "centers", tuple(float(v) for v in self.centers))
        if self.period is not None:
            if not self.period > 0:
                raise ConfigError(f"geometry.period: must be > 0 nm, got {self.period}")
            if sum(self.thicknesses) >= self.period:
                raise ConfigError(f"geometry.period: slabs ({sum(self.thicknesses):g} nm in all) "
                                  f"do not fit in one period of {self.period:g} nm")
        self._check_disjoint()

    def _check_disjoint(self) -> None:
        t = np.asarray(self.thicknesses)
        c = np.asarray(self.centers)
        for i in range(len(t)):
            for j in range(i + 1, len(t)):
                gap = abs(c[i] - c[j])
                if self.period is not None:
                    gap = abs(gap - self.period * np.round(gap / self.period))
                if gap < 0.5 * (t[i] + t[j]):
                    raise ConfigError(f"geometry.centers: slabs {i} and {j} overlap")

    @property
    def unit_normal(self) -> np.ndarray:
        n = np.asarray(self.normal, dtype=np.float64)
        return n / np.linalg.norm(n)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) nm -> (K,) nm: exact distance to the nearest slab face, positive inside."""
        s = as_points(points) @ self.unit_normal
        best = np.full(s.shape, -np.inf)
        for thickness, center in zip(self.thicknesses, self.centers):
            u = s - center
            if self.period is not None:
                u = u - self.period * np.round(u / self.period)
            best = np.maximum(best, 0.5 * thickness - np.abs(u))
        return best

    def scaled(self, factor: float) -> Layered:
        return Layered(self.normal, tuple(t * factor for t in self.thicknesses),
                       tuple(c * factor for c in self.centers),
                       None if self.period is None else self.period * factor)

    def periodic_in(self, box: np.ndarray, tol: float = 1e-6) -> bool:
        """True if the slab pattern repeats with the orthorhombic box (no spurious interface)."""
        n = self.unit_normal
        for axis in range(3):
            shift = n[axis] * float(box[axis])
            if abs(shift) < tol:
                continue
            if self.period is None:
                return False
            ratio = shift / self.period
            if abs(ratio - round(ratio)) > tol * max(1.0, abs(ratio)):
                return False
        return True
