"""Analytic point clouds for segmentation tests and benchmarks: random ions in a box, a
precipitate of another composition (sphere or slab), Gaussian position noise."""

from __future__ import annotations

import numpy as np

from synthapt.data import APTDataset, GroundTruth


def sphere_distance(center, radius):
    center = np.asarray(center, dtype=np.float64)
    return lambda p: radius - np.linalg.norm(p - center, axis=1)


def slab_distance(z0, z1):
    """Precipitate slab z0 < z < z1 (nm); signed distance positive inside."""
    return lambda p: np.minimum(p[:, 2] - z0, z1 - p[:, 2])


def phantom(box=20.0, signed_distance=None, c_matrix=0.10, c_precipitate=0.25, density=35.0,
            noise=0.4, seed=0, n_ions=None, species_names=("Ni", "Al")) -> APTDataset:
    """Ions (Ni/Al) uniformly in a cube of ``box`` nm at ``density`` ions/nm^3; Al fraction
    ``c_precipitate`` where ``signed_distance`` > 0, else ``c_matrix``; positions blurred by a
    Gaussian of ``noise`` nm. Truth: phase and position before the blur."""
    rng = np.random.default_rng(seed)
    box = np.broadcast_to(np.asarray(box, dtype=np.float64), (3,))
    n = int(n_ions if n_ions is not None else density * np.prod(box))
    true_pos = rng.uniform(0.0, 1.0, (n, 3)) * box
    phase = np.zeros(n, np.int8) if signed_distance is None else (signed_distance(true_pos) > 0).astype(np.int8)
    p_al = np.where(phase == 1, c_precipitate, c_matrix)
    species = (rng.uniform(size=n) < p_al).astype(np.int16)
    pos = true_pos + rng.normal(scale=noise, size=(n, 3)) if noise > 0 else true_pos
    truth = GroundTruth(np.arange(n), species, phase, true_pos, species_names, box=box)
    mq = np.where(species == 1, 27.0, 29.0).astype(np.float32)
    return APTDataset(pos.astype(np.float32), mq, species, species_names, truth=truth)


def needle_inside(apex_radius, shank_angle_deg, top, axis=(0.0, 0.0), lobes=0.0):
    """Inside test of a needle along z: a hemispherical cap of ``apex_radius`` nm at height
    ``top`` on a cone of half-angle ``shank_angle_deg``; ``lobes`` > 0 makes the outline irregular
    (radius x (1 + lobes sin 3 theta))."""
    tan = np.tan(np.radians(shank_angle_deg))

    def inside(p):
        dx, dy = p[:, 0] - axis[0], p[:, 1] - axis[1]
        rho = np.hypot(dx, dy) / (1.0 + lobes * np.sin(3.0 * np.arctan2(dy, dx)))
        centre = top - apex_radius  # cap centre
        cone_r = apex_radius + (centre - p[:, 2]) * tan
        in_cap = (p[:, 2] >= centre) & (rho**2 + (p[:, 2] - centre) ** 2 <= apex_radius**2)
        return in_cap | ((p[:, 2] < centre) & (rho <= cone_r))

    return inside


def needle_height(volume, apex_radius, shank_angle):
    """Height (nm, in 0.5 nm steps) of a needle (``needle_inside``) holding ``volume`` nm^3."""
    tan = np.tan(np.radians(shank_angle))
    height = apex_radius
    while True:
        r1 = apex_radius + (height - apex_radius) * tan
        frustum = np.pi * (height - apex_radius) * (apex_radius**2 + apex_radius * r1 + r1**2) / 3
        if frustum + 2 * np.pi * apex_radius**3 / 3 >= volume:
            return height
        height += 0.5


def needle_phantom(n_ions=1_000_000, apex_radius=10.0, shank_angle=10.0, height=None,
                   signed_distance=None, lobes=0.0, noise=0.3, density=35.0, seed=0, **kwargs) -> APTDataset:
    """A needle-shaped cloud (``needle_inside``) of about ``n_ions`` ions in its bounding box,
    compositions as ``phantom``. ``height`` (nm) defaults to the one giving ``n_ions`` at
    ``density``. The truth box is the needle's bounding box (its corners hold no ions)."""
    tan = np.tan(np.radians(shank_angle))
    if height is None:
        height = needle_height(n_ions / density, apex_radius, shank_angle)
    base = (apex_radius + (height - apex_radius) * tan) * (1.0 + lobes)
    box = np.array([2 * base, 2 * base, height])
    inside = needle_inside(apex_radius, shank_angle, height, axis=(base, base), lobes=lobes)
    cloud = phantom(box, signed_distance, density=density, noise=noise, seed=seed, **kwargs)
    return cloud.subset(np.flatnonzero(inside(cloud.truth.position)))
