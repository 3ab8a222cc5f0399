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
