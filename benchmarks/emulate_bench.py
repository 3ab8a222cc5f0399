"""Throughput and peak memory of each atom-probe emulation stage.

    .venv/bin/python benchmarks/emulate_bench.py [--atoms 10000000] [--repeat 3]

Builds an fcc Ni-Al specimen of about ``--atoms`` atoms with a spherical precipitate, runs every
stage of ``synthapt.apt.emulate.STAGES`` on the whole box (shape kind "box" so that all atoms
reach every stage; field ratio 1.1 so that local magnification does work), and prints per stage
the ions in, wall seconds (best of ``--repeat``), CPU seconds of that run (all threads), millions
of atoms per second (wall) and the peak extra memory the stage allocates (tracemalloc, numpy
arrays included, from one extra untimed run: tracing slows allocations down). The headline figures are the rates of efficiency, resolution and spectrum
(target: >= 50 M atoms/s), per wall second and per CPU second (all threads; the fairer figure
when other processes share the cores). The load average is printed because other processes on the machine
change wall times; ``SYNTHAPT_THREADS`` sets the threads of the chunked stages.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt.chunks import thread_count
from synthapt.apt.emulate import STAGES, check_specimen, finish, stage_generators
from synthapt.apt.params import EmulationParams, MagnificationParams, ShapeParams
from synthapt.apt.specimens import lattice_specimen
from synthapt.structures.isolated import Particles

HEADLINE = ("efficiency", "resolution", "spectrum")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]

    cells = int(round((args.atoms / 4) ** (1 / 3)))
    edge = cells * 0.352
    sphere = Particles(centers=((edge / 2, edge / 2, edge / 2),), semi_axes=((edge / 4,) * 3,))
    t0 = time.perf_counter()
    specimen = lattice_specimen((cells, cells, cells), geometry=sphere, seed=args.seed)
    print(f"specimen: {specimen.n_atoms:,} atoms, {edge:.1f} nm box, built in {time.perf_counter() - t0:.1f} s")
    params = EmulationParams(shape=ShapeParams(kind="box"),
                             magnification=MagnificationParams(field_ratio=1.1)).resolved()
    check_specimen(specimen)

    bundle = IonBundle.from_specimen(specimen)
    rows = []
    for (name, stage), rng_seed in zip(STAGES, range(len(STAGES))):
        tracemalloc.start()  # one run for the memory peak: tracing slows allocations down
        base = tracemalloc.get_traced_memory()[0]
        stage(bundle, params, stage_generators(args.seed)[rng_seed])
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        best, cpu, out = np.inf, 0.0, None
        for _ in range(args.repeat):  # timed runs, untraced
            rng = stage_generators(args.seed)[rng_seed]
            t, c = time.perf_counter(), time.process_time()
            out = stage(bundle, params, rng)
            elapsed, used = time.perf_counter() - t, time.process_time() - c
            if elapsed < best:
                best, cpu = elapsed, used
        rows.append((name, bundle.n, best, cpu, peak))
        bundle = out
    t, c = time.perf_counter(), time.process_time()
    dataset = finish(bundle, params, args.seed)
    rows.append(("ranging+truth", bundle.n, time.perf_counter() - t, time.process_time() - c, 0))

    print(f"threads {thread_count()}, load average before {load_start:.1f}")
    print(f"{'stage':<15}{'ions in':>13}{'wall s':>9}{'cpu s':>9}{'M atoms/s':>11}{'peak MB':>9}")
    for name, n, sec, cpu, peak in rows:
        print(f"{name:<15}{n:>13,}{sec:>9.3f}{cpu:>9.3f}{n / sec / 1e6:>11.1f}{peak / 2**20:>9.0f}")
    head = [r for r in rows if r[0] in HEADLINE]
    total, total_cpu = sum(r[2] for r in head), sum(r[3] for r in head)
    print(f"efficiency + resolution + spectrum: {specimen.n_atoms / total / 1e6:.1f} M atoms/s "
          f"({total:.3f} s for {specimen.n_atoms:,} atoms); "
          f"{specimen.n_atoms / total_cpu / 1e6:.1f} M atoms per CPU second ({total_cpu:.3f} CPU s)")
    all_stages = sum(r[2] for r in rows)
    print(f"whole chain: {specimen.n_atoms / all_stages / 1e6:.1f} M atoms/s ({all_stages:.2f} s), "
          f"{dataset.n_ions:,} ions out")
    raw_mb = specimen.positions.nbytes / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"specimen positions: {raw_mb:.0f} MB; process peak RSS: {rss:.0f} MB; "
          f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
