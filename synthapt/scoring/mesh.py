"""Distances between a recovered interface mesh and the true interface (nm).

``interface_distance``: the exact signed distance of the true geometry on evenly spread points of
the recovered mesh (is the mesh where the interface is?). ``interface_coverage``: the distance
from points of the true interface, extracted by marching cubes of the geometry's signed
distance, to the recovered mesh (is every true interface found?). Both skip the dataset's
boundary, found as the convex hull of the ion positions.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from synthapt.errors import SynthaptError
from synthapt.spatial.mesh import Mesh
from synthapt.spatial.mesh_distance import signed_distance_to_mesh
from synthapt.structures.geometry import signed_distance_grid


def mesh_arrays(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V,3) float64 nm, faces (F,3) int64) from a mesh object or a (V, F) pair."""
    if isinstance(mesh, (tuple, list)) and len(mesh) == 2:
        vertices, faces = mesh
    else:
        vertices, faces = mesh.vertices, mesh.faces
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise SynthaptError(
            f"mesh: expected vertices (V, 3) and triangles (F, 3), got {vertices.shape}, {faces.shape}")
    if not np.isfinite(vertices).all():
        raise SynthaptError("mesh: non-finite vertex coordinates")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise SynthaptError(f"mesh: face indices outside 0..{len(vertices) - 1}")
    return vertices, faces


def face_sample_points(vertices: np.ndarray, faces: np.ndarray,
                       subdivisions: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evenly spread points on each triangle (centroids of its n*n sub-triangles).

    Returns points (F*n*n, 3) nm, their area weights (F*n*n,) nm^2, and their face index.
    """
    n = subdivisions
    bary = []
    for i in range(n):
        for j in range(n - i):
            bary.append(((i + 1 / 3) / n, (j + 1 / 3) / n))
            if i + j <= n - 2:
                bary.append(((i + 2 / 3) / n, (j + 2 / 3) / n))
    uv = np.array(bary)  # (n*n, 2)
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    points = a[:, None, :] + uv[None, :, 0, None] * (b - a)[:, None, :] \
        + uv[None, :, 1, None] * (c - a)[:, None, :]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    weights = np.repeat(area / len(uv), len(uv))
    return points.reshape(-1, 3), weights, np.repeat(np.arange(len(faces)), len(uv))


class DatasetBoundary:
    """The convex hull of a point cloud (ion positions (N,3), nm): the dataset's boundary.

    Clouds larger than ``max_cloud`` are represented by a fixed random subset (seed 0) plus the
    extreme points along the 13 axis, face- and body-diagonal directions: that hull lies
    slightly inside the full one (by about the subset's point spacing, < 1 nm, between those
    extremes), so a few more faces count as boundary. This keeps it fast for tens of millions
    of ions.
    """

    def __init__(self, cloud: np.ndarray, max_cloud: int = 200_000) -> None:
        cloud = np.asarray(cloud)
        if len(cloud) > max_cloud:
            pick = np.random.default_rng(0).choice(len(cloud), max_cloud, replace=False)
            extremes = []
            for direction in _DIRECTIONS:
                projection = cloud @ direction.astype(cloud.dtype)
                extremes += [int(projection.argmin()), int(projection.argmax())]
            cloud = cloud[np.unique(np.concatenate([pick, extremes]))]
        try:
            hull = ConvexHull(np.asarray(cloud, dtype=np.float64))
        except (QhullError, ValueError):
            raise SynthaptError("dataset boundary: the ions do not span a 3-D volume") from None
        self.normals, self.offsets = hull.equations[:, :3], hull.equations[:, 3]
        self.lower, self.upper = hull.min_bound, hull.max_bound

    def distance(self, points: np.ndarray) -> np.ndarray:
        """(K,) distance in nm of ``points`` (K,3) inside the hull to its surface; < 0 outside."""
        points = np.asarray(points, dtype=np.float64)
        out = np.empty(len(points))
        for start in range(0, len(points), 50_000):
            chunk = points[start:start + 50_000]
            out[start:start + len(chunk)] = -(chunk @ self.normals.T + self.offsets).max(axis=1)
        return out


def as_boundary(boundary: Any) -> DatasetBoundary:
    """A ``DatasetBoundary`` from itself or from a point cloud (N,3) nm."""
    return boundary if isinstance(boundary, DatasetBoundary) else DatasetBoundary(boundary)


def hull_distance(points: np.ndarray, cloud: np.ndarray, max_cloud: int = 200_000) -> np.ndarray:
    """(K,) distance in nm of ``points`` inside the convex hull of ``cloud`` (N,3) to its
    surface (negative outside); see ``DatasetBoundary``."""
    return DatasetBoundary(cloud, max_cloud).distance(points)


_DIRECTIONS = np.array([d for d in np.ndindex(3, 3, 3) if d > (1, 1, 1)]) - 1.0
"""The 13 directions (up to sign) of a cube's axes, face and body diagonals."""


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` in [0, 1] of ``values`` weighted by ``weights`` (step interpolation)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    index = np.searchsorted(cum, q * cum[-1], side="left")
    return float(values[order][min(index, len(values) - 1)])


def interface_distance(mesh: Any, geometry: Any, boundary_points: np.ndarray | None = None,
                       boundary_margin: float = 0.25, subdivisions: int = 2) -> dict[str, float]:
    """Distance of a recovered interface mesh (nm) from the true interface ``geometry``.

    The geometry's exact signed distance is evaluated on evenly spread points of every face.
    Faces whose centre lies outside the convex hull of ``boundary_points`` (the ion positions,
    or their ``DatasetBoundary``) or within ``boundary_margin`` nm of it are boundary caps (mesh
    over empty space, or closing a surface on the edge of the data) and are excluded; if that
    leaves nothing, the distances are NaN (area scored 0).
    """
    vertices, faces = mesh_arrays(mesh)
    if len(faces) == 0:
        raise SynthaptError("mesh: has no triangles, no interface to score")
    points, weights, face_index = face_sample_points(vertices, faces, subdivisions)
    total_area = float(weights.sum())
    if boundary_points is not None:
        centres = vertices[faces].mean(axis=1)
        interior_face = as_boundary(boundary_points).distance(centres) >= boundary_margin
        keep = interior_face[face_index]
        points, weights = points[keep], weights[keep]
    if weights.sum() <= 0:  # the mesh only caps the dataset boundary: no interface to score
        nan = float("nan")
        return {"interface_distance_mean": nan, "interface_distance_p95": nan,
                "interface_distance_max": nan, "interface_area_scored": 0.0,
                "interface_area_excluded_fraction": 1.0}
    d = np.abs(np.asarray(geometry.signed_distance(points), dtype=np.float64))
    return {
        "interface_distance_mean": float(np.average(d, weights=weights)),
        "interface_distance_p95": weighted_quantile(d, weights, 0.95),
        "interface_distance_max": float(d.max()),
        "interface_area_scored": float(weights.sum()),
        "interface_area_excluded_fraction": 1.0 - float(weights.sum()) / total_area if total_area else 0.0,
    }


def true_interface_samples(geometry: Any, cloud: Any, margin: float = 1.0,
                           spacing: float = 0.5, max_grid: int = 2_000_000,
                           max_points: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Points (K,3) nm on the true interface inside the dataset, with area weights (K,) nm^2.

    Marching cubes of ``geometry.signed_distance`` on a grid over the bounding box of ``cloud``
    (spacing nm, coarsened to at most ``max_grid`` nodes); triangle centroids within ``margin``
    nm of the cloud's convex hull are dropped; at most ``max_points`` (a fixed random subset,
    weights rescaled to the same total area). ``cloud``: ion positions or a DatasetBoundary.
    The arrays are read-only: the same ones are returned again for the same geometry and hull.
    """
    boundary = as_boundary(cloud)
    key = _samples_key(geometry, boundary, (margin, spacing, max_grid, max_points))
    if key is not None and key in _SAMPLES_CACHE:
        _SAMPLES_CACHE.move_to_end(key)
        return _SAMPLES_CACHE[key]
    points, weights = _true_interface_samples(geometry, boundary, margin, spacing, max_grid, max_points)
    points.flags.writeable = weights.flags.writeable = False  # shared between callers
    if key is not None:
        _SAMPLES_CACHE[key] = (points, weights)
        while len(_SAMPLES_CACHE) > _SAMPLES_CACHE_SIZE:
            _SAMPLES_CACHE.popitem(last=False)
    return points, weights


_SAMPLES_CACHE: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_SAMPLES_CACHE_SIZE = 4
"""The last few true-interface samplings. A campaign case scores each method on its own against
the same geometry and ions; for a gyroid the samples cost ~20 s (its exact distance at 2 M grid
nodes), so they are computed once per case, not once per method."""


def _samples_key(geometry: Any, boundary: DatasetBoundary, options: tuple) -> str | None:
    """SHA-256 of the geometry's dict, the boundary's hull and the options; None if the geometry
    cannot be written as a dict (then nothing is cached)."""
    try:
        spec = json.dumps(geometry.to_dict(), sort_keys=True)
    except (AttributeError, NotImplementedError, TypeError, ValueError):
        return None
    digest = hashlib.sha256(spec.encode())
    for array in (boundary.lower, boundary.upper, boundary.normals, boundary.offsets):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    digest.update(repr(options).encode())
    return digest.hexdigest()


def _true_interface_samples(geometry: Any, boundary: DatasetBoundary, margin: float, spacing: float,
                            max_grid: int, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    lo, hi = boundary.lower, boundary.upper
    spacing = max(spacing, float(np.prod(hi - lo) / max_grid) ** (1 / 3))
    axes = [np.arange(a, b + spacing, spacing) for a, b in zip(lo, hi)]
    sdf = signed_distance_grid(geometry, axes)
    if sdf.min() > 0 or sdf.max() < 0:
        return np.zeros((0, 3)), np.zeros(0)
    vertices, faces, _, _ = marching_cubes(sdf, 0.0, spacing=(spacing,) * 3)
    points, weights, _ = face_sample_points(vertices + lo, faces, 1)
    inside = boundary.distance(points) >= margin
    points, weights = points[inside], weights[inside]
    if len(points) > max_points:
        pick = np.sort(np.random.default_rng(0).choice(len(points), max_points, replace=False))
        points, weights = points[pick], weights[pick] * (weights.sum() / weights[pick].sum())
    return points, weights


def interface_coverage(mesh: Any, geometry: Any, cloud: np.ndarray, margin: float = 1.0,
                       tolerance: float = 0.5) -> dict[str, float]:
    """How much of the true interface the recovered ``mesh`` finds.

    ``true_interface_distance_mean``: area-weighted mean distance (nm) from the true interface
    inside the dataset to the mesh; ``interface_coverage``: the true-interface area fraction
    within ``tolerance`` nm of the mesh. Both NaN if the dataset holds no true interface.
    """
    points, weights = true_interface_samples(geometry, cloud, margin)
    if weights.sum() <= 0:
        return {"true_interface_distance_mean": float("nan"), "interface_coverage": float("nan")}
    vertices, faces = mesh_arrays(mesh)
    d = np.abs(signed_distance_to_mesh(points, _as_mesh(vertices, faces, mesh)))
    return {"true_interface_distance_mean": float(np.average(d, weights=weights)),
            "interface_coverage": float(weights[d <= tolerance].sum() / weights.sum())}


def _as_mesh(vertices: np.ndarray, faces: np.ndarray, original: Any):
    """``original`` if it is already a ``synthapt.spatial.mesh.Mesh``, else one built from the arrays."""
    return original if isinstance(original, Mesh) else Mesh(vertices, faces)
