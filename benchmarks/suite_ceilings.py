"""Oracle and Bayes ceilings of a suite's cases on their starting lattices (no MD), for sizing a
suite before paying for its MD runs.

    PYTHONPATH=. python benchmarks/suite_ceilings.py large [--ions 200000] [--geometry layered]

For every case: the case's decorated starting lattice (``prepare_structure``: the bulk lattice
parameters are relaxed with LAMMPS, nothing else is), emulated with the case's own emulation
parameters and emulation seed, then the oracle and Bayes accuracy (``synthapt.apt.ceilings``) on
all ions, or on ``--ions`` ions drawn at random (seed 0). The MD stage moves atoms by much less
than the emulated resolution, so these estimate the MD case's ceilings. Prints one line per
case: atoms, ions, precipitate fraction of the ions, both accuracies with their binomial
standard error, and the seconds of each step.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from synthapt.apt import emulate
from synthapt.apt.ceilings import bayes_labels, oracle_labels
from synthapt.campaign.case import specimen_key
from synthapt.campaign.suite import load_suite
from synthapt.config import seed_stream
from synthapt.data import Specimen
from synthapt.md.generator import prepare_structure


def lattice_specimen(simulation) -> Specimen:
    """The case's starting lattice as a Specimen (phase 1 on precipitate sites)."""
    p = prepare_structure(simulation)
    return Specimen(p.positions, p.species, p.elements, p.precipitate.astype(np.int8), p.box,
                    p.geometry)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", help="suite file or built-in suite name")
    parser.add_argument("--ions", type=int, default=0, help="ions scored per case (0: all)")
    parser.add_argument("--geometry", default=None, help="only cases with this geometry label")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    specimens: dict[str, tuple[Specimen, float]] = {}
    for sc in suite.cases:
        if args.geometry and sc.labels.get("geometry") != args.geometry:
            continue
        case = sc.case
        key = specimen_key(case)
        start = time.perf_counter()
        if key not in specimens:
            specimens[key] = (lattice_specimen(case.simulation), time.perf_counter() - start)
        specimen, build = specimens[key]
        start = time.perf_counter()
        dataset = emulate(specimen, case.emulation, seed=seed_stream(case.seed, "emulation"))
        emulated = time.perf_counter() - start
        sample = dataset
        if 0 < args.ions < dataset.n_ions:
            rows = np.random.default_rng(0).permutation(dataset.n_ions)[:args.ions]
            sample = dataset.subset(np.sort(rows))
        start = time.perf_counter()
        truth = sample.truth.phase
        oracle = float(np.mean(oracle_labels(sample) == truth))
        bayes = float(np.mean(bayes_labels(sample) == truth))
        scored = time.perf_counter() - start
        error = float(np.sqrt(bayes * (1.0 - bayes) / sample.n_ions))
        print(f"{case.name}: {specimen.n_atoms:,} atoms, {dataset.n_ions:,} ions "
              f"(precipitate {truth.mean():.3f}); oracle {oracle:.4f}, "
              f"Bayes {bayes:.4f} +- {error:.4f} on {sample.n_ions:,} ions; "
              f"lattice {build:.0f} s, emulate {emulated:.0f} s, ceilings {scored:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
