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
