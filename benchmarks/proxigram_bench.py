"""Proxigram throughput at the default settings (grid method: 0.5 nm distance grid, exact within
1.5 nm of the mesh, 0.2 nm bins): M ions/s wall and per CPU-second, peak memory, and the time of
each stage.

    python benchmarks/proxigram_bench.py --ions 1e6 10e6 --repeat 3

The dataset: ions at 35 /nm^3 in a cube, 10 at.% Al matrix with a 3x3x3 lattice of spherical
25 at.% Al precipitates (radius 0.3 x the pitch; ``--shape wavy``: one wavy slab instead),
0.3 nm position blur; the mesh: marching cubes of the analytic signed distance on 0.5 nm voxels
(``synthapt.spatial.mesh.interface_mesh``). Each size runs in its own process, which first calls
the proxigram once on a small case (1000 ions, 20 nm box: numba's import and the compiled kernels
loaded from its disk cache, timed apart) and then times ``--repeat`` calls. The one-off compile
(an empty numba cache) is timed in a process of its own. Peak memory: the process's peak RSS
above its RSS before the timed calls (the dataset is made in chunks, so generating it peaks
lower), and the peak of new numpy arrays (tracemalloc, in a separate call). Raw data = 18
bytes/ion (x, y, z, m/q float32 + int16 species).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DENSITY = 35.0  # ions / nm^3
CHUNK = 1 << 20


def signed_distance(shape: str, box: float):
    """Analytic signed distance (nm, positive inside) of the precipitates in a cube of ``box`` nm."""
    if shape == "wavy":
        def wavy(p):
            mid = 0.5 * box + 0.08 * box * np.sin(2 * np.pi * p[:, 0] / (0.5 * box)) * np.cos(
                2 * np.pi * p[:, 1] / (0.5 * box))
            return 0.15 * box - np.abs(p[:, 2] - mid)  # a slab of thickness 0.3 box (not exact)
        return wavy
    pitch = box / 3
    radius = 0.3 * pitch

    def spheres(p):
        cell = np.clip(np.floor(p / pitch), 0, 2)
        return radius - np.linalg.norm(p - (cell + 0.5) * pitch, axis=1)
    return spheres


def make_case(n_ions: int, shape: str, seed: int = 0, box: float | None = None):
    """(APTDataset, Mesh, box nm) of the benchmark: a cube of ``box`` nm (default: ``DENSITY``
    ions/nm^3); positions made in chunks (seeded per chunk)."""
    from synthapt.data import APTDataset
    from synthapt.spatial.mesh import interface_mesh

    box = (n_ions / DENSITY) ** (1 / 3) if box is None else box
    distance = signed_distance(shape, box)
    positions = np.empty((n_ions, 3), dtype=np.float32)
    species = np.empty(n_ions, dtype=np.int16)
    for i, start in enumerate(range(0, n_ions, CHUNK)):
        rng = np.random.default_rng([seed, i])
        true = rng.uniform(0.0, box, (min(CHUNK, n_ions - start), 3))
        p_al = np.where(distance(true) > 0, 0.25, 0.10)
        species[start:start + len(true)] = rng.uniform(size=len(true)) < p_al
        positions[start:start + len(true)] = true + rng.normal(scale=0.3, size=true.shape)
    mq = np.where(species == 1, 27.0, 29.0).astype(np.float32)
    voxel = 0.5
    x = (np.arange(int(np.ceil(box / voxel))) + 0.5) * voxel
    nodes = np.stack(np.meshgrid(x, x, x, indexing="ij"), axis=-1).reshape(-1, 3)
    field = distance(nodes).reshape((len(x),) * 3)
    mesh = interface_mesh(field, np.zeros(3), voxel, level=0.0)
    return APTDataset(positions, mq, species, ("Ni", "Al")), mesh, box


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def stage_times(ds, mesh, threads: int) -> dict[str, list[float]]:
    """[wall, CPU] seconds of the stages of one proxigram call (timing wrappers on the module
    functions; CPU: all threads of the process)."""
    from synthapt.spatial import distance_grid, profiles

    times: dict[str, list[float]] = {}
    originals = {}

    def wrap(module, name, label):
        fn = getattr(module, name)
        originals[(module, name)] = fn

        def timed(*a, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn(*a, **k)
            times[label] = [time.perf_counter() - t0, time.process_time() - c0]
            return out
        setattr(module, name, timed)

    wrap(distance_grid, "exact_distances", "exact band distances")
    wrap(distance_grid, "_far_field", "far field")
    wrap(distance_grid, "mesh_distance_field", "distance grid (all)")
    wrap(profiles, "grid_distance", "grid distance + interpolation")
    wrap(profiles, "profile_from_distance", "binning")
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        profiles.proxigram(ds, mesh, workers=threads)
        times["total"] = [time.perf_counter() - t0, time.process_time() - c0]
    finally:
        for (module, name), fn in originals.items():
            setattr(module, name, fn)
    grid, both = times["distance grid (all)"], times.pop("grid distance + interpolation")
    times["interpolation (+ bounding box)"] = [b - g for b, g in zip(both, grid)]
    times["band selection (edt)"] = [g - e - f for g, e, f in zip(grid, times["exact band distances"],
                                                                  times["far field"])]
    return times


def run_one(n_ions: float, shape: str, threads: int, repeat: int) -> dict:
    from synthapt.spatial.profiles import proxigram

    small, small_mesh, _ = make_case(1000, "spheres", seed=1, box=20.0)
    t0 = time.perf_counter()
    proxigram(small, small_mesh, workers=threads)  # loads (or compiles) the kernels
    first_call = time.perf_counter() - t0
    ds, mesh, box = make_case(int(n_ions), shape)
    rss0 = rss_mib()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        prof = proxigram(ds, mesh, workers=threads)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    tracemalloc.start()
    proxigram(ds, mesh, workers=threads)
    arrays = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"ions": int(n_ions), "box_nm": box, "faces": int(mesh.n_faces), "threads": threads,
            "first_call_s": first_call, "walls": walls, "cpus": cpus, "peak_rss_MiB": peak_rss,
            "arrays_MiB": arrays, "raw_MiB": n_ions * 18 / 2**20, "bins": len(prof.centers),
            "atoms": int(prof.counts.sum()), "stages": stage_times(ds, mesh, threads)}


def compile_seconds(threads: int) -> float:
    """Seconds of the first proxigram call (1000 ions) with an empty numba cache: the compile."""
    with tempfile.TemporaryDirectory() as cache:
        code = ("import time, sys; sys.path.insert(0, %r); from proxigram_bench import make_case; "
                "from synthapt.spatial.profiles import proxigram; ds, mesh, _ = make_case(1000, 'spheres', box=20.0); "
                "t0 = time.perf_counter(); proxigram(ds, mesh, workers=%d); print(time.perf_counter() - t0)"
                % (str(Path(__file__).parent), threads))
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            return float("nan")
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ions", type=float, nargs="+", default=[1e6, 10e6])
    ap.add_argument("--shape", choices=["spheres", "wavy"], default="spheres")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.ions[0], args.shape, args.threads, args.repeat)))
        return
    print(f"one-off numba compile (empty cache, 1000 ions): {compile_seconds(args.threads):.1f} s")
    for n in args.ions:
        cmd = [sys.executable, __file__, "--one", "--ions", str(n), "--shape", args.shape,
               "--threads", str(args.threads), "--repeat", str(args.repeat)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        walls, cpus = np.array(r["walls"]), np.array(r["cpus"])
        n_ions = r["ions"]
        print(f"\n{n_ions:,} ions ({args.shape}, box {r['box_nm']:.1f} nm, {r['faces']:,} faces, "
              f"{r['threads']} threads, load average {os.getloadavg()[0]:.1f})")
        print(f"  wall  {', '.join(f'{w:.2f}' for w in walls)} s -> {n_ions / walls.min() / 1e6:.1f} M ions/s "
              f"best, {n_ions / np.median(walls) / 1e6:.1f} median")
        print(f"  CPU   {', '.join(f'{c:.2f}' for c in cpus)} s -> {n_ions / np.median(cpus) / 1e6:.1f} M ions "
              f"per CPU-second (median)")
        print(f"  first call in the process (small case; numba import, kernels from the disk cache) "
              f"{r['first_call_s']:.2f} s, not in the times above")
        print(f"  peak RSS above the dataset {r['peak_rss_MiB']:.0f} MiB, new arrays at peak "
              f"{r['arrays_MiB']:.0f} MiB ({r['arrays_MiB'] / r['raw_MiB']:.2f} x the raw {r['raw_MiB']:.0f} MiB)")
        print(f"  {r['bins']} bins, {r['atoms']:,} atoms; stages of one more call:   wall s   CPU s")
        for name, (wall, cpu) in r["stages"].items():
            print(f"    {name:40s} {wall:6.3f}  {cpu:6.3f}")


if __name__ == "__main__":
    main()
