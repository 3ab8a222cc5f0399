"""Base of all geometries: a signed-distance function of the true interface.

Convention used throughout synthapt: ``signed_distance(p) > 0`` inside the precipitate (phase 1),
``< 0`` in the matrix, ``0`` on the interface; distances in nm. Geometries are small frozen
dataclasses that serialise to JSON-ready dicts (``to_dict``) and back (``geometry_from_dict``), so
the exact interface travels inside every dataset file.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from synthapt.config import from_dict, to_dict
from synthapt.errors import ConfigError

GEOMETRY_KINDS: dict[str, type[Geometry]] = {}


def register_geometry(cls: type[Geometry]) -> type[Geometry]:
    """Class decorator: make a geometry known to ``geometry_from_dict`` under ``cls.kind``."""
    GEOMETRY_KINDS[cls.kind] = cls
    return cls


class Geometry:
    """A region (the precipitate phase) given by its signed distance in nm."""

    kind: ClassVar[str] = ""

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) points in nm -> (K,) signed distance in nm, positive inside the precipitate."""
        raise NotImplementedError

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(K,) bool: points inside the precipitate."""
        return self.signed_distance(points) > 0

    def signed_estimate(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) nm -> (K,) nm: a cheap estimate of ``signed_distance`` with its sign (> 0 exactly
        where ``contains``). The exact distance unless a geometry whose exact distance is costly
        (the gyroid) overrides it."""
        return self.signed_distance(points)

    def scaled(self, factor: float) -> Geometry:
        """The same region after an isotropic dilation by ``factor`` about the origin."""
        raise NotImplementedError(f"{type(self).__name__} cannot be scaled")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with a ``kind`` key, inverse of ``geometry_from_dict``."""
        return {"kind": self.kind, **to_dict(self)}


def as_points(points: np.ndarray) -> np.ndarray:
    """``points`` as a float64 (K, 3) array (a single point (3,) becomes (1, 3)), nm."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ConfigError(f"geometry: points must have shape (K, 3), got {arr.shape}")
    return arr


def minimum_image(delta: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """(K, 3) difference vectors folded into the nearest periodic image of an orthorhombic box."""
    if box is None:
        return delta
    box = np.asarray(box, dtype=np.float64)
    return delta - box * np.round(delta / box)


def geometry_from_dict(data: dict[str, Any], where: str = "geometry") -> Geometry:
    """Rebuild a geometry from ``Geometry.to_dict`` output (or a TOML table with ``kind``)."""

    if not isinstance(data, dict) or "kind" not in data:
        raise ConfigError(f"{where}: a geometry needs a 'kind' key")
    kind = data["kind"]
    if kind not in GEOMETRY_KINDS:
        raise ConfigError(
            f"{where}.kind: unknown geometry {kind!r} (known: {', '.join(sorted(GEOMETRY_KINDS))})")
    cls = GEOMETRY_KINDS[kind]
    body = {k: v for k, v in data.items() if k != "kind"}
    if dataclasses.is_dataclass(cls):
        return from_dict(cls, body, where)
    return cls(**body)


GRID_CHUNK = 1_000_000
"""Grid nodes per evaluation in ``signed_distance_grid`` (bounds the temporaries)."""


def signed_distance_grid(geometry: Any, axes: list[np.ndarray]) -> np.ndarray:
    """Signed distance (nm) of ``geometry`` at the nodes of the grid spanned by ``axes`` (three
    1-D arrays of node coordinates, nm): an array of shape (len(axes[0]), len(axes[1]),
    len(axes[2])).

    Exact at every node that has an axis neighbour of the other sign: the only values a
    marching-cubes surface at level 0 depends on (its vertices interpolate along the edges that
    change sign), so the surface is that of the exact distance. Elsewhere the value is the
    geometry's ``signed_estimate`` (same sign). For the gyroid this evaluates its iterative
    exact distance at a thin shell of nodes instead of all of them.
    """
    shape = tuple(len(a) for a in axes)
    grid = np.meshgrid(*axes, indexing="ij", sparse=True)
    flat = [np.broadcast_to(g, shape).reshape(-1) for g in grid]

    def nodes(index: np.ndarray | slice) -> np.ndarray:
        return np.stack([f[index] for f in flat], axis=1).astype(np.float64)

    n = int(np.prod(shape))
    estimate = getattr(type(geometry), "signed_estimate", Geometry.signed_estimate)
    cheap = estimate is not Geometry.signed_estimate  # any object with signed_distance will do
    evaluate = geometry.signed_estimate if cheap else geometry.signed_distance
    sdf = np.empty(n, dtype=np.float64)
    for start in range(0, n, GRID_CHUNK):
        part = slice(start, min(n, start + GRID_CHUNK))
        sdf[part] = evaluate(nodes(part))
    sdf = sdf.reshape(shape)
    if not cheap:
        return sdf
    inside = sdf > 0
    near = np.zeros(shape, dtype=bool)
    for axis in range(3):
        change = np.diff(inside, axis=axis)  # True between neighbours of opposite sign
        below = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
        above = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
        near[below] |= change
        near[above] |= change
    index = np.flatnonzero(near)
    exact = np.empty(len(index))
    for start in range(0, len(index), GRID_CHUNK):
        exact[start:start + GRID_CHUNK] = geometry.signed_distance(nodes(index[start:start + GRID_CHUNK]))
    sdf.reshape(-1)[index] = exact
    return sdf
