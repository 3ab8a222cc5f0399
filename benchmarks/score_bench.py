"""Time of each scoring step on a large synthetic dataset.

    .venv/bin/python benchmarks/score_bench.py [--ions 10000000] [--repeat 3]

Builds ``--ions`` ions uniformly in a cube (about 60 ions/nm^3) with eight spherical precipitates
(Ni-Al, 8 / 24 at.% Al), per-ion truth, labels equal to the truth with 1 % flipped, and a
marching-cubes mesh of the true spheres. Prints seconds (best of ``--repeat``) and million ions
per second for: label scores, interface distance (incl. the dataset hull), true profile,
interface coverage, proxigram (``synthapt.spatial.profiles``), profile scores, and the whole ``synthapt.metrics.score``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage.measure import marching_cubes

from synthapt.data import APTDataset, GroundTruth
from synthapt.spatial.mesh import Mesh
from synthapt.scoring.score import (ScoreParams, interface_coverage, interface_distance, label_scores,
                              profile_scores, score, truth_profile_of_dataset)
from synthapt.structures.isolated import Particles


def build(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    side = (n / 60.0) ** (1 / 3)
    q = side / 4
    centres = tuple((float(x), float(y), float(z)) for x in (q, 3 * q) for y in (q, 3 * q)
                    for z in (q, 3 * q))
    radius = 0.35 * q
    geometry = Particles(centers=centres, semi_axes=((radius,) * 3,) * len(centres))
    pos = rng.uniform(0, side, size=(n, 3))
    phase = (geometry.signed_distance(pos) > 0).astype(np.int8)
    species = (rng.random(n) < np.where(phase == 1, 0.24, 0.08)).astype(np.int16)
    truth = GroundTruth(np.arange(n), species, phase, pos, ("Ni", "Al"), geometry, np.full(3, side))
    blurred = (pos + rng.normal(0, 0.3, size=pos.shape)).astype(np.float32)
    dataset = APTDataset(blurred, np.where(species == 1, 27.0, 58.0).astype(np.float32),
                         species=species, species_names=("Ni", "Al"), truth=truth)
    h = 0.25
    grid = np.arange(0, side + h, h)
    pts = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    sdf = geometry.signed_distance(pts).reshape((len(grid),) * 3)
    vertices, faces, _, _ = marching_cubes(sdf, 0.0, spacing=(h, h, h))
    mesh = Mesh(vertices, faces[:, ::-1])  # normals out of the precipitate (sdf grows inward)
    labels = phase.copy()
    flip = rng.random(n) < 0.01
    labels[flip] = 1 - labels[flip]
    return dataset, mesh, labels


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from synthapt.spatial.profiles import proxigram

    dataset, mesh, labels = build(args.ions)
    params = ScoreParams()
    n = dataset.n_ions
    print(f"{n} ions, mesh {mesh.n_faces} faces, {mesh.area:.0f} nm2")
    steps = {
        "label scores": lambda: label_scores(labels, dataset.truth.phase),
        "interface distance": lambda: interface_distance(mesh, dataset.truth.geometry,
                                                         dataset.positions),
        "interface coverage": lambda: interface_coverage(mesh, dataset.truth.geometry,
                                                         dataset.positions),
        "true profile": lambda: truth_profile_of_dataset(dataset),
        "proxigram": lambda: proxigram(dataset, mesh),
    }
    results = {}
    for name, fn in steps.items():
        seconds, results[name] = best(fn, args.repeat)
        print(f"{name:20s} {seconds:8.3f} s {n / seconds / 1e6:8.2f} M ions/s")
    seconds, _ = best(lambda: profile_scores(results["proxigram"], results["true profile"], params),
                      args.repeat)
    print(f"{'profile scores':20s} {seconds:8.3f} s")
    seconds, scores = best(lambda: score(type("R", (), {"labels": labels, "mesh": mesh})(), dataset),
                           1)
    print(f"{'score (all)':20s} {seconds:8.3f} s {n / seconds / 1e6:8.2f} M ions/s")
    for key in ("accuracy", "dice", "interface_distance_mean", "profile_rmse", "plateau_error"):
        print(f"  {key} = {scores[key]:.4g}")


if __name__ == "__main__":
    main()
