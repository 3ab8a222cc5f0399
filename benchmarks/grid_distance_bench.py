"""Grid signed distance: ``synthapt.structures.signed_distance_grid`` (exact only next to sign
changes) against the exact distance at every node, for the two geometries with an iterative
exact distance (gyroid, ellipsoids). Prints both times, the speed-up, and how far apart the two
marching-cubes surfaces are (0 = identical).

    PYTHONPATH=. python benchmarks/grid_distance_bench.py [--spacing 0.1]

Defaults: a 10 nm gyroid cell (level 0.3) and four ellipsoids in a 16 nm box, both at 0.1 nm
node spacing (1.0 M and 4.1 M nodes), as in the truth mesh of the `paper` and `heldout` suites.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage.measure import marching_cubes

from synthapt.structures import Gyroid, signed_distance_grid
from synthapt.structures.isolated import Particles

GEOMETRIES = {
    "gyroid": Gyroid((10.0, 10.0, 10.0), (1, 1, 1), 0.3),
    "ellipsoids": Particles(((4.0, 4.0, 4.0), (12.0, 11.0, 9.0), (4.5, 12.0, 12.0), (11.5, 4.0, 12.5)),
                            ((3.75, 2.5, 1.5), (3.5, 2.3, 1.4), (4.0, 2.7, 1.6), (3.6, 2.4, 1.45)),
                            (16.0, 16.0, 16.0)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacing", type=float, default=0.1, help="node spacing, nm")
    parser.add_argument("--geometry", choices=list(GEOMETRIES), nargs="+", default=list(GEOMETRIES))
    args = parser.parse_args()
    for name in args.geometry:
        geometry = GEOMETRIES[name]
        box = np.asarray(geometry.box)
        axes = [np.arange(0.5 * args.spacing, b, args.spacing) for b in box]
        start = time.perf_counter()
        shell = signed_distance_grid(geometry, axes)
        t_shell = time.perf_counter() - start
        nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        start = time.perf_counter()
        exact = geometry.signed_distance(nodes).reshape(shell.shape)
        t_exact = time.perf_counter() - start
        (v_shell, f_shell, *_), (v_exact, f_exact, *_) = marching_cubes(shell, 0.0), marching_cubes(exact, 0.0)
        same = f_shell.shape == f_exact.shape and bool((f_shell == f_exact).all())
        gap = float(np.abs(v_shell - v_exact).max()) * args.spacing if same else float("nan")
        print(f"{name}: {shell.size:,} nodes; shell-exact {t_shell:.1f} s, exact everywhere "
              f"{t_exact:.1f} s ({t_exact / t_shell:.0f}x); same triangles: {same}, largest vertex "
              f"difference {gap:.1e} nm", flush=True)


if __name__ == "__main__":
    main()
