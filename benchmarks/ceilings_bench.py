"""Time the oracle and Bayes ceilings (``synthapt.apt.ceilings``) on emulated sphere specimens.

    PYTHONPATH=. python benchmarks/ceilings_bench.py [--box 10] [--ions 50000]

Lattice build (no MD) of Ni-Al spheres (r = 2.5 nm, 12 vol.%), needle emulation with lateral /
depth sigma 0.5 / 0.2 nm; prints wall and CPU seconds and the two accuracies.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from synthapt.apt import emulate
from synthapt.apt.ceilings import bayes_labels, oracle_labels
from synthapt.apt.params import EmulationParams, ResolutionParams
from synthapt.config import from_dict
from synthapt.data import Specimen
from synthapt.md.config import SimulationConfig
from synthapt.md.generator import prepare_structure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--box", type=float, default=10.0)
    parser.add_argument("--ions", type=int, default=50_000)
    args = parser.parse_args()
    geometry = {"kind": "isolated", "shape": "sphere", "radius": 2.5, "volume_fraction": 0.12,
                "radius_sigma": 0.1, "min_gap": 1.0}
    config = from_dict(SimulationConfig, {"seed": 1, "structure": {"box": [args.box] * 3,
                       "geometry": geometry}, "alloy": {"lattice_parameter": 0.356}})
    p = prepare_structure(config)
    specimen = Specimen(p.positions, p.species, p.elements, p.precipitate.astype(np.int8), p.box,
                        p.geometry)
    params = EmulationParams(resolution=ResolutionParams(lateral_sigma=0.5, depth_sigma=0.2))
    ds = emulate(specimen, params, seed=0)
    ds = ds.subset(np.arange(min(args.ions, ds.n_ions)))
    for name, fn in (("oracle", oracle_labels), ("bayes", bayes_labels)):
        wall, cpu = time.perf_counter(), time.process_time()
        labels = fn(ds)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        accuracy = float(np.mean(labels == ds.truth.phase))
        print(f"{name:6s} {ds.n_ions:>9,d} ions  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
              f"accuracy {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
