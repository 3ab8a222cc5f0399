"""Triangle meshes of interfaces (nm) and their PLY/OBJ/STL files.

Orientation convention: a face's winding (``cross(v1 - v0, v2 - v0)``) and the vertex normals point
OUT OF the precipitate, into the matrix. This is the usual outward convention of mesh files (a
closed precipitate has positive volume), and the signed distance of a point ``p`` with closest
mesh point ``q`` is ``-(p - q) . n``: positive inside the precipitate, as everywhere in synthapt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from scipy import ndimage

from synthapt.errors import FormatError, SynthaptError
from synthapt.io.atomic import atomic_output

MESH_FORMATS = ("ply", "obj", "stl")


@dataclass(frozen=True, eq=False)
class Mesh:
    """Interface mesh.

    vertices: (V, 3) float64, nm. faces: (F, 3) int64 vertex indices, wound so that face normals
    point out of the precipitate. normals: (V, 3) float64 unit vertex normals (same direction).
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        f = np.asarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
            raise SynthaptError(f"Mesh: expected (V,3) vertices and (F,3) faces, got {v.shape}, {f.shape}")
        if len(f) == 0:
            raise SynthaptError("Mesh: no faces")
        if not np.isfinite(v).all():
            raise SynthaptError("Mesh: non-finite vertex coordinates")
        if f.min() < 0 or f.max() >= len(v):
            raise SynthaptError(f"Mesh: face indices outside 0..{len(v) - 1}")
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)
        if self.normals is None:
            object.__setattr__(self, "normals", vertex_normals(v, f))
        else:
            object.__setattr__(self, "normals", np.asarray(self.normals, dtype=np.float64).reshape(len(v), 3))

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    @property
    def triangles(self) -> np.ndarray:
        """(F, 3, 3) corner coordinates, nm."""
        return self.vertices[self.faces]

    @property
    def face_normals(self) -> np.ndarray:
        """(F, 3) unit face normals (out of the precipitate); zero for degenerate faces."""
        return _unit(_face_cross(self.triangles))

    @property
    def area(self) -> float:
        """Total surface area, nm^2."""
        return float(0.5 * np.linalg.norm(_face_cross(self.triangles), axis=1).sum())

    def flipped(self) -> Mesh:
        """The same surface with the opposite orientation."""
        return Mesh(self.vertices, self.faces[:, ::-1].copy(), -self.normals)

    def replace(self, **changes: Any) -> Mesh:
        return replace(self, **changes)


def _face_cross(tri: np.ndarray) -> np.ndarray:
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit vertex normals: area-weighted mean of the adjacent face normals."""
    cross = _face_cross(vertices[faces])
    return _unit(scatter_add(faces, np.stack([cross] * 3, axis=1), len(vertices)))


def scatter_add(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n, 3) sums of ``values`` (..., 3) into rows ``index`` (same leading shape) by bincount."""
    flat = index.reshape(-1)
    vals = values.reshape(-1, 3)
    return np.stack([np.bincount(flat, weights=vals[:, i], minlength=n) for i in range(3)], axis=1)


def write_mesh(path: str | Path, mesh: Mesh) -> None:
    """Write ``mesh`` as PLY (binary), OBJ or STL (binary), chosen by the file extension."""
    import trimesh

    p = Path(path)
    kind = p.suffix.lower().lstrip(".")
    if kind not in MESH_FORMATS:
        raise SynthaptError(f"{p}: unknown mesh format {p.suffix!r} (use {', '.join(MESH_FORMATS)})")
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_normals=mesh.normals, process=False)
    with atomic_output(p, suffix=f".{kind}") as tmp:
        tm.export(tmp, file_type=kind)


def read_mesh(path: str | Path) -> Mesh:
    """Read a PLY/OBJ/STL triangle mesh (coordinates taken as nm; winding kept as stored)."""
    import trimesh

    p = Path(path)
    kind = p.suffix.lower().lstrip(".")
    if kind not in MESH_FORMATS:
        raise SynthaptError(f"{p}: unknown mesh format {p.suffix!r} (use {', '.join(MESH_FORMATS)})")
    if not p.is_file():
        raise SynthaptError(f"{p}: file not found")
    try:
        tm = trimesh.load(p, file_type=kind, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise FormatError(f"{p}: cannot read {kind.upper()} mesh ({exc})") from None
    if len(tm.faces) == 0:
        raise FormatError(f"{p}: no triangles in the mesh")
    return Mesh(np.asarray(tm.vertices), np.asarray(tm.faces))


def interface_mesh(indicator: np.ndarray, origin: np.ndarray, voxel_size: float,
                   level: float = 0.5, enriched_inside: bool = True) -> Mesh | None:
    """Iso-surface ``level`` of a voxel field (nm coordinates, normals out of the region where the
    field is above ``level`` if ``enriched_inside``, else below). None if the level is not crossed."""
    from skimage.measure import marching_cubes

    if not (np.nanmin(indicator) < level < np.nanmax(indicator)):
        return None
    try:
        verts, faces, _, _ = marching_cubes(indicator, level, spacing=(voxel_size,) * 3,
                                            allow_degenerate=False)
    except (ValueError, RuntimeError) as exc:
        raise SynthaptError(f"interface mesh: marching cubes failed ({exc})") from None
    if len(faces) == 0:
        raise SynthaptError("interface mesh: marching cubes produced no triangles")
    verts = verts + origin + 0.5 * voxel_size
    mesh = Mesh(verts, faces)
    # orient: face normals must point down the field (out of the high region) when enriched_inside
    grad = np.stack(np.gradient(indicator.astype(np.float64)), axis=-1)
    centres = (mesh.triangles.mean(axis=1) - origin) / voxel_size - 0.5
    g = np.stack([ndimage.map_coordinates(grad[..., i], centres.T, order=1, mode="nearest")
                  for i in range(3)], axis=1)
    outward = -np.einsum("ij,ij->i", mesh.face_normals, g).sum()
    if (outward < 0) == enriched_inside:
        mesh = mesh.flipped()
    return mesh
