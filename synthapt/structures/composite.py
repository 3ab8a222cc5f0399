"""Composition of geometries: union, intersection and complement.

Signed distances combine as max (union), min (intersection) and negation (complement).
Complement is exact. Union is exact outside every part and wherever parts do not overlap;
intersection is exact inside. Elsewhere the combined value is a bound with the right sign
(the surface itself, and therefore the phase of every point, is always exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthapt.errors import ConfigError
from synthapt.structures.geometry import Geometry, as_points, geometry_from_dict, register_geometry


def _parts(parts: Any, where: str) -> tuple[Geometry, ...]:
    if not isinstance(parts, (list, tuple)) or not parts:
        raise ConfigError(f"{where}: need a non-empty list of geometries")
    out = []
    for i, part in enumerate(parts):
        out.append(part if isinstance(part, Geometry) else geometry_from_dict(part, f"{where}[{i}]"))
    return tuple(out)


@dataclass(frozen=True)
class _Combination(Geometry):
    parts: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", _parts(self.parts, "geometry.parts"))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "parts": [p.to_dict() for p in self.parts]}

    def scaled(self, factor: float) -> Geometry:
        return type(self)(tuple(p.scaled(factor) for p in self.parts))

    def _stack(self, points: np.ndarray) -> np.ndarray:
        pts = as_points(points)
        return np.stack([p.signed_distance(pts) for p in self.parts])


@register_geometry
@dataclass(frozen=True)
class Union(_Combination):
    """Points inside any part."""

    kind = "union"

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return self._stack(points).max(axis=0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        pts = as_points(points)
        return np.any([p.contains(pts) for p in self.parts], axis=0)


@register_geometry
@dataclass(frozen=True)
class Intersection(_Combination):
    """Points inside every part."""

    kind = "intersection"

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return self._stack(points).min(axis=0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        pts = as_points(points)
        return np.all([p.contains(pts) for p in self.parts], axis=0)


@register_geometry
@dataclass(frozen=True)
class Complement(Geometry):
    """Points outside ``part`` (swaps precipitate and matrix)."""

    kind = "complement"
    part: Any = None

    def __post_init__(self) -> None:
        if self.part is None:
            raise ConfigError("geometry.part: complement needs a geometry")
        object.__setattr__(self, "part", _parts([self.part], "geometry.part")[0])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "part": self.part.to_dict()}

    def scaled(self, factor: float) -> Complement:
        return Complement(self.part.scaled(factor))

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return -self.part.signed_distance(points)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Outside ``part`` (a point on its surface, distance 0, counts as inside here, as
        ``signed_distance > 0`` would not: the surface itself has measure zero)."""
        return ~self.part.contains(points)
