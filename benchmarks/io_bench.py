"""Read/write throughput (M ions/s) and peak memory of POS, ePOS and the synthapt HDF5 file.

Usage: python benchmarks/io_bench.py [--n 10000000] [--dir /tmp] [--repeat 3]

Each measurement runs in a fresh subprocess so that its peak resident memory (ru_maxrss, minus
the process's size before the operation) and the tracemalloc peak (numpy allocations) belong to
that operation alone. Reads are timed warm (file in the page cache; best of ``--repeat``), which
measures parsing rather than the disk. The HDF5 "h5" file holds the same fields as POS; "h5-epos"
the same as ePOS (both through ``save_dataset``).
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

FORMATS = {"pos": ".pos", "epos": ".epos", "h5": ".h5", "h5-epos": ".h5"}


def make_dataset(n: int, with_epos: bool):
    from synthapt.data import APTDataset

    rng = np.random.default_rng(0)
    positions = rng.normal(0.0, 20.0, (n, 3)).astype(np.float32)
    mq = rng.choice(np.array([13.5, 27.0, 29.0, 30.0, 31.0], np.float32), n)
    mq += rng.normal(0, 0.05, n).astype(np.float32)
    mq = np.abs(mq)
    epos = pulse = None
    if with_epos:
        delta = rng.integers(0, 4, n).astype(np.uint32)
        pulse = np.cumsum(delta, dtype=np.int64)
        epos = {"tof": rng.uniform(200, 900, n).astype(np.float32),
                "v_dc": np.linspace(3000, 8000, n, dtype=np.float32),
                "v_pulse": np.zeros(n, np.float32),
                "det_x": rng.uniform(-20, 20, n).astype(np.float32),
                "det_y": rng.uniform(-20, 20, n).astype(np.float32),
                "delta_pulse": delta, "ions_per_pulse": np.ones(n, np.uint32)}
    return APTDataset(positions=positions, mass_to_charge=mq, epos=epos, pulse=pulse)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(fmt: str, op: str, n: int, path: Path, repeat: int) -> dict:
    """Run one timed operation in this process; returns seconds, rates and memory."""
    import synthapt.io.epos  # noqa: F401  (import readers before timing)
    import synthapt.io.hdf5  # noqa: F401
    from synthapt.io import load_dataset, save_dataset

    dataset = make_dataset(n, with_epos=fmt in ("epos", "h5-epos")) if op == "write" else None
    base_rss = rss_mib()
    best = float("inf")
    tracemalloc.start()
    for _ in range(repeat if op == "read" else 1):
        t0 = time.perf_counter()
        if op == "write":
            save_dataset(path, dataset)
        else:
            result = load_dataset(path)
            assert result.n_ions == n
            del result
        best = min(best, time.perf_counter() - t0)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"format": fmt, "op": op, "seconds": best, "mions_per_s": n / best / 1e6,
            "peak_rss_extra_mib": rss_mib() - base_rss, "tracemalloc_peak_mib": traced_peak / 2**20,
            "file_mib": path.stat().st_size / 2**20}


def run_child(fmt: str, op: str, n: int, path: Path, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--child", fmt, op, str(path), "--n", str(n), "--repeat", str(repeat)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of ions")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder for the files")
    parser.add_argument("--repeat", type=int, default=3, help="read repetitions (best is kept)")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "OP", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fmt, op, path = args.child
        print(json.dumps(child(fmt, op, args.n, Path(path), args.repeat)))
        return
    raw_mib = args.n * 16 / 2**20
    print(f"# synthapt I/O benchmark: {args.n:,} ions (raw x,y,z,m/q = {raw_mib:.0f} MiB); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'format':8s} {'op':5s} {'seconds':>8s} {'M ions/s':>9s} {'peak RSS+ MiB':>14s} "
          f"{'tracemalloc MiB':>16s} {'file MiB':>9s}")
    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for fmt, suffix in FORMATS.items():
            path = Path(tmp) / f"bench_{fmt}{suffix}"
            for op in ("write", "read"):
                r = run_child(fmt, op, args.n, path, args.repeat)
                results[(fmt, op)] = r
                print(f"{fmt:8s} {op:5s} {r['seconds']:8.3f} {r['mions_per_s']:9.1f} "
                      f"{r['peak_rss_extra_mib']:14.0f} {r['tracemalloc_peak_mib']:16.0f} {r['file_mib']:9.0f}")
            path.unlink()
    mq = make_dataset(args.n, with_epos=False).mass_to_charge
    from synthapt.ranges import Range, RangeTable

    table = RangeTable(tuple(Range(c - 0.2, c + 0.2, f"Ion{i}", {"Al": 1}) for i, c in
                             enumerate(np.arange(1.0, 200.0, 2.0))))  # 100 ranges
    t0 = time.perf_counter()
    table.assign(mq)
    dt = time.perf_counter() - t0
    print(f"RangeTable.assign (100 ranges): {dt:.3f} s, {args.n / dt / 1e6:.1f} M ions/s")
    ratio = results[("h5", "read")]["seconds"] / results[("pos", "read")]["seconds"]
    print(f"# load average {os.getloadavg()[0]:.1f} at end; write memory: see tracemalloc (RSS peak "
          f"already reached while building the dataset)")
    print(f"POS read: {results[('pos', 'read')]['mions_per_s']:.1f} M ions/s (target >= 50); "
          f"HDF5 read / POS read time: {ratio:.2f}x (target <= 2)")


if __name__ == "__main__":
    main()
