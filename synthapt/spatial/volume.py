"""The analysed specimen volume: which voxels of a grid lie inside the specimen, and where its
surface is.

A real tip fills only part of its bounding box (a cone in a box leaves the corners empty; real
tips are irregular). Every segmentation works on the voxel grid of the bounding box, so it needs
to know which voxels hold specimen:

- ``mask``: voxels holding at least one atom, closed (ball of ``closing`` nm) and with enclosed
  cavities filled, so that the few voxels left empty by counting noise inside the specimen
  belong to it. It contains every ion's voxel. Edge detection is cropped to it, and voxels
  outside it are neither matrix nor precipitate.
- ``density``: the local atom density relative to the specimen's interior density (Gaussian
  smoothing of ``smoothing`` nm); its 0.5 level is the specimen surface (half density, unbiased
  for a sharp surface). Interface meshes are clipped there (``clip_mesh``), so their areas are
  physical areas inside the specimen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synthapt.spatial.mesh import Mesh

SURFACE_LEVEL = 0.5
"""Relative density at which the specimen surface is drawn."""

CORNER_LEVEL = 0.4
"""A clipped mesh keeps a face only if each of its corners has at least this relative density
(no corner sticks out into empty space)."""


@dataclass(frozen=True, eq=False)
class SpecimenVolume:
    """The analysed volume on a voxel grid.

    mask: (nx,ny,nz) bool, voxels inside the specimen. density: (nx,ny,nz) float32 smoothed
    atom density relative to the interior density (about 1 inside, 0 far outside).
    origin: (3,) nm corner of voxel (0, 0, 0); voxel_size: nm.
    """

    mask: np.ndarray
    density: np.ndarray
    origin: np.ndarray
    voxel_size: float

    @property
    def voxel_fraction(self) -> float:
        """Fraction of the grid's voxels inside the specimen."""
        return float(self.mask.mean())

    @property
    def volume_nm3(self) -> float:
        """Specimen volume (nm^3): voxels whose relative density is at least the surface level."""
        return float((self.density >= SURFACE_LEVEL).sum()) * self.voxel_size**3

    def relative_density(self, points: np.ndarray) -> np.ndarray:
        """(K,) relative density (trilinear) at points (K,3) nm; 0 outside the grid."""
        coords = (np.asarray(points, dtype=np.float64) - self.origin) / self.voxel_size - 0.5
        return ndimage.map_coordinates(self.density, coords.T, order=1, mode="constant", cval=0.0)

    def inside(self, points: np.ndarray) -> np.ndarray:
        """(K,) bool: points (K,3) nm inside the specimen surface (relative density >= 0.5)."""
        return self.relative_density(points) >= SURFACE_LEVEL


def specimen_volume(atoms: np.ndarray, origin: np.ndarray, voxel_size: float, closing: float = 1.0,
                    smoothing: float = 0.75) -> SpecimenVolume:
    """The ``SpecimenVolume`` of a grid of atom counts.

    atoms: (nx,ny,nz) atoms per voxel (raw, not delocalized). origin: (3,) nm; voxel_size: nm.
    closing: radius (nm) of the ball closing the occupied voxels (bridges voxels left empty by
    counting noise). smoothing: Gaussian sigma (nm) of the density estimate.
    """
    occupied = np.asarray(atoms) > 0
    radius = max(1, math.ceil(closing / voxel_size - 1e-9))
    ball = _ball(radius)
    padded = np.pad(occupied, radius, mode="edge")  # the grid border is not a specimen surface
    closed = ndimage.binary_closing(padded, structure=ball)[(slice(radius, -radius),) * 3]
    mask = ndimage.binary_fill_holes(closed | occupied)
    smoothed = ndimage.gaussian_filter(np.asarray(atoms, dtype=np.float32), smoothing / voxel_size,
                                       mode="nearest", truncate=3.0)
    interior = _interior_density(smoothed, mask, math.ceil(2.0 * smoothing / voxel_size))
    density = (smoothed / interior if interior > 0 else np.zeros_like(smoothed)).astype(np.float32)
    density[~ndimage.binary_dilation(mask, iterations=radius)] = 0.0
    return SpecimenVolume(mask, density, np.asarray(origin, dtype=np.float64), float(voxel_size))


def _ball(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius**2


def _interior_density(smoothed: np.ndarray, mask: np.ndarray, depth: int) -> float:
    """Median smoothed atoms per voxel over voxels at least ``depth`` voxels inside ``mask`` (the
    whole mask if none is that deep)."""
    deep = ndimage.binary_erosion(mask, iterations=max(depth, 1), border_value=1) if depth else mask
    if not deep.any():
        deep = mask
    return float(np.median(smoothed[deep])) if deep.any() else 0.0


def clip_mesh(mesh: Mesh | None, volume: SpecimenVolume) -> Mesh | None:
    """``mesh`` without the faces whose centre lies outside the specimen surface or that have a
    corner in empty space (relative density < ``CORNER_LEVEL``); None if no face is left. Unused
    vertices are dropped, orientation and normals are kept."""
    if mesh is None:
        return None
    corner_ok = volume.relative_density(mesh.vertices) >= CORNER_LEVEL
    keep = volume.inside(mesh.triangles.mean(axis=1)) & corner_ok[mesh.faces].all(axis=1)
    if keep.all():
        return mesh
    if not keep.any():
        return None
    faces = mesh.faces[keep]
    used, inverse = np.unique(faces, return_inverse=True)
    return Mesh(mesh.vertices[used], inverse.reshape(faces.shape), mesh.normals[used])


def occupied_bounds(mask2d: np.ndarray) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) half-open bounding rectangle of the True pixels of a 2D mask, or
    None if it has none."""
    rows = np.flatnonzero(mask2d.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask2d.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
