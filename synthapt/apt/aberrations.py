"""Emulation stages: local magnification at precipitates and spatial resolution.

Local magnification (parametric model). A precipitate whose evaporation field F_p differs from
the matrix's F_m develops a different local curvature at the surface: a high-field precipitate
(ratio F_p / F_m > 1) protrudes, its ions are magnified more and spread outwards; a low-field one
flattens, its ions are focused and matrix ions near the interface are projected into it
(M.K. Miller & M.G. Hetherington, Surf. Sci. 246 (1991) 442;
F. Vurpillot, A. Bostel, D. Blavette, Appl. Phys. Lett. 76 (2000) 3127). Here every ion at
signed distance s from the true interface (positive inside the precipitate) moves by

    d(s) = -delta * exp(-(s / w)^2) * n,    delta = shift_scale * (field_ratio - 1)  [nm]

along the interface normal n = grad s / |grad s| (central differences of the geometry's signed
distance; only its lateral x/y part when ``lateral_only``, since trajectory aberrations act in the
detector plane). The apparent signed distance becomes s' = s - delta exp(-(s/w)^2), so the
apparent atomic density changes by the factor 1 / (ds'/ds) = 1 / (1 - 2 delta s / w^2
exp(-(s/w)^2)): lower inside and higher just outside a high-field precipitate, the reverse for a
low-field one; for |delta| > 1.17 w trajectories cross (overlap), as in the cited simulations.
field_ratio = 1 gives delta = 0, the identity.

Spatial resolution: independent Gaussian displacements of standard deviation ``lateral_sigma``
along x and y and ``depth_sigma`` along z (nm).
"""

from __future__ import annotations

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt import chunks
from synthapt.apt.chunks import for_chunks, gaussian_fill, map_chunks
from synthapt.apt.params import EmulationParams
from synthapt.errors import SynthaptError

GRADIENT_STEP = 1e-3  # nm, central-difference step for the interface normal


def interface_normals(geometry, points: np.ndarray) -> np.ndarray:
    """(K, 3) unit normals (pointing into the precipitate) of the signed distance at (K, 3) nm."""
    grad = np.empty_like(points)
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = GRADIENT_STEP
        grad[:, axis] = (geometry.signed_distance(points + step)
                         - geometry.signed_distance(points - step)) / (2 * GRADIENT_STEP)
    norm = np.sqrt((grad * grad).sum(axis=1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, grad / norm, 0.0)


def interface_band(geometry, points: np.ndarray, half_width: float,
                   index: np.ndarray | None = None,
                   bounds: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(band, s): the ions within ``half_width`` nm of the interface and their signed distances.

    Ion i lies at ``points[i]`` ((K, 3) nm), or at ``points[index[i]]`` when ``index`` (n,) is
    given (rows are then gathered only for the pre-screened ions). A coarse grid (spacing
    half_width / 2) pre-screens the ions, using that a signed distance changes by at most the
    distance moved (|grad s| <= 1): only ions whose nearest grid node lies within
    half_width + (grid half-diagonal) are evaluated exactly, so the result equals the direct
    evaluation of every ion. The screen runs chunk by chunk in threads. ``bounds`` ((3,), (3,)
    nm) sets the grid's extent (default: the points' bounding box); chunks with ions outside it
    are evaluated directly.
    """
    n = len(points) if index is None else len(index)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if bounds is None:
        bounds = ([points[:, k].min() for k in range(3)], [points[:, k].max() for k in range(3)])
    lo, hi = (np.asarray(b, dtype=np.float64).reshape(3) for b in bounds)
    step = half_width / 2.0
    shape = np.floor((hi - lo) / step).astype(np.int64) + 2
    if int(np.prod(shape)) * 4 > n:  # grid as large as the data: evaluate every ion
        candidates = np.arange(n, dtype=np.int64)
    else:
        axes = [lo[k] + step * np.arange(shape[k]) for k in range(3)]
        nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        margin = half_width + step * np.sqrt(3.0) / 2.0 * (1.0 + 1e-6) + 1e-9
        near = np.abs(geometry.signed_distance(nodes)) < margin
        strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.float64)
        # per-axis constants tiled over a chunk: flat (3 m,) operations instead of slow (m, 3)
        # broadcasts with an inner loop of 3
        rows = min(n, chunks.CHUNK)
        offset = np.tile(lo / step, rows)
        top = np.tile((shape - 1).astype(np.float64), rows)

        def screen(s: slice) -> np.ndarray:
            p = points[s] if index is None else np.take(points, index[s], axis=0)
            cell = np.multiply(p, 1.0 / step, dtype=np.float64)
            flat_cell, m3 = cell.reshape(-1), 3 * (s.stop - s.start)
            flat_cell -= offset[:m3]
            np.rint(flat_cell, out=flat_cell)
            if flat_cell.min() < 0 or (flat_cell > top[:m3]).any():  # outside the grid: take all
                return np.arange(s.start, s.stop, dtype=np.int64)
            flat = cell[:, 0] * strides[0]  # exact: integers below 2^53
            flat += cell[:, 1] * strides[1]
            flat += cell[:, 2]
            flat = flat.astype(np.intp)
            return s.start + np.flatnonzero(np.take(near, flat))

        candidates = np.concatenate(map_chunks(n, screen))
    rows = candidates if index is None else np.take(index, candidates)
    s = geometry.signed_distance(np.take(points, rows, axis=0).astype(np.float64))
    inside = np.abs(s) < half_width
    return candidates[inside], s[inside]


def magnification_displacement(geometry, points: np.ndarray, field_ratio: float, width: float,
                               shift_scale: float, lateral_only: bool = True,
                               index: np.ndarray | None = None,
                               bounds: tuple[np.ndarray, np.ndarray] | None = None
                               ) -> tuple[np.ndarray, np.ndarray]:
    """(indices, (B, 3) displacements in nm) of the ions at true positions ``points`` (K, 3)
    (or ``points[index]``; ``bounds`` as in ``interface_band``) that the model above moves (those within
    4 ``width`` of the interface; the others stay put)."""
    delta = shift_scale * (field_ratio - 1.0)
    n = len(points) if index is None else len(index)
    if delta == 0.0 or n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    # exp(-16): beyond 4 widths nothing moves
    band, s = interface_band(geometry, points, 4.0 * width, index, bounds)
    rows = band if index is None else np.take(index, band)
    normal = interface_normals(geometry, np.take(points, rows, axis=0).astype(np.float64))
    if lateral_only:
        normal[:, 2] = 0.0
    amplitude = -delta * np.exp(-(s / width) ** 2)
    return band, amplitude[:, None] * normal


def magnification_stage(bundle: IonBundle, params: EmulationParams,
                        rng: np.random.Generator) -> IonBundle:
    """Displace ions near precipitate interfaces (identity for field_ratio 1 or when off)."""
    mag = params.magnification
    if params.hits.enabled:  # the hits chain models local magnification from the tip shape
        return bundle.with_stats("magnification", enabled=False, replaced_by="hits")
    if not mag.enabled or mag.field_ratio == 1.0:
        return bundle.with_stats("magnification", enabled=mag.enabled, field_ratio=mag.field_ratio)
    geometry = bundle.specimen.geometry
    if geometry is None:
        raise SynthaptError(
            "magnification.field_ratio: the specimen has no geometry, so local magnification "
            "cannot find the interface; set field_ratio = 1 or enabled = false")
    band, shift = magnification_displacement(geometry, bundle.specimen.positions,
                                              mag.field_ratio, mag.width, mag.shift_scale,
                                              mag.lateral_only, index=bundle.atom,
                                              bounds=(np.zeros(3), bundle.specimen.box))
    position = bundle.position.copy() if bundle.position is not None else bundle.reconstructed()
    position[band] += shift.astype(np.float32)
    moved = np.sqrt((shift * shift).sum(axis=1))
    return bundle.replace(position=position).with_stats(
        "magnification", field_ratio=mag.field_ratio,
        interface_shift_nm=mag.shift_scale * (mag.field_ratio - 1.0),
        displaced_ions=int(np.count_nonzero(moved > 1e-6)),
        max_displacement_nm=float(moved.max()) if len(moved) else 0.0)


def resolution_stage(bundle: IonBundle, params: EmulationParams,
                     rng: np.random.Generator) -> IonBundle:
    """Add Gaussian noise (lateral_sigma on x/y, depth_sigma on z, nm) to the positions."""
    if not params.resolution.enabled:
        return bundle.with_stats("resolution", enabled=False)
    res = params.resolved().resolution
    sigma = np.array([res.lateral_sigma, res.lateral_sigma, res.depth_sigma], dtype=np.float32)
    out = np.empty((bundle.n, 3), dtype=np.float32)
    moved, source, atom = bundle.position, bundle.source_positions(), bundle.atom

    def work(s: slice, g: np.random.Generator) -> None:
        chunk = out[s]
        if len(chunk) % 2 == 0:
            gaussian_fill(g, chunk, scale=sigma)
        else:
            gaussian_fill(g, chunk)
            chunk *= sigma
        chunk += moved[s] if moved is not None else np.take(source, atom[s], axis=0)

    for_chunks(bundle.n, rng, work)
    return bundle.replace(position=out).with_stats(
        "resolution", lateral_sigma_nm=res.lateral_sigma, depth_sigma_nm=res.depth_sigma)
