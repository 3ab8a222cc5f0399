"""Speed of the whole ``learned-phase`` method against HED-BSDS (and the other methods) at the
default settings, on the same dataset.

    python benchmarks/learned_phase_bench.py [--box 20 30] [--threads 2]

Dataset: ``tests/segment_phantoms.phantom`` (35 ions/nm^3, 10 / 25 at.% Al, 0.4 nm blur) with a
sphere of radius box/4 in a cube of ``box`` nm. Each method runs once through the method
registry with the default ``SegmentParams`` (voxel 0.5 nm) and ``threads`` torch threads; the
time includes loading the network. HED needs its weights (``synthapt weights fetch``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=float, nargs="+", default=[20.0], help="cube edges, nm")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--methods", nargs="+", default=["learned-phase", "hed", "learned", "canny", "iso-auto"])
    args = parser.parse_args()

    import torch

    from segment_phantoms import phantom, sphere_distance
    from synthapt.segmentation.methods import method_params, run_method
    from synthapt.segmentation.params import SegmentParams

    torch.set_num_threads(args.threads)
    print(f"{'box nm':>6} {'ions':>9} {'method':>14} {'seconds':>8} {'accuracy':>8}")
    for box in args.box:
        ds = phantom(box, sphere_distance([box / 2] * 3, box / 4), seed=1)
        for name in args.methods:
            params = method_params(name, dataclasses.replace(SegmentParams(), threads=args.threads))
            start = time.perf_counter()
            result = run_method(name, ds, params)
            seconds = time.perf_counter() - start
            accuracy = float((result.labels == ds.truth.phase).mean())
            print(f"{box:6.1f} {ds.n_ions:9d} {name:>14} {seconds:8.2f} {accuracy:8.4f}", flush=True)


if __name__ == "__main__":
    main()
