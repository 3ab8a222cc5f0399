"""Speed of the learned edge detector against HED-BSDS (and Canny, Sobel) at default settings.

    python benchmarks/learned_bench.py [--box 20 24] [--threads 2]

Dataset: ``tests/segment_phantoms.phantom`` (35 ions/nm^3, 10 / 25 at.% Al, 0.4 nm blur) with a
sphere of radius box/4 in a cube of ``box`` nm. For each detector: seconds for the edge field of
the three slice stacks (``synthapt.segment.edge_field``) and for the whole ``segment`` call, both
with the default ``SegmentParams`` (voxel 0.5 nm, HED upsample 2). HED needs its weights
(``synthapt weights fetch``).
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
    parser.add_argument("--threads", type=int, default=2, help="torch threads (HED and learned)")
    parser.add_argument("--detectors", nargs="+", default=["learned", "hed", "canny", "sobel"])
    args = parser.parse_args()

    import torch

    from segment_phantoms import phantom, sphere_distance
    from synthapt.segmentation.edge import edge_field, make_detector, segment
    from synthapt.segmentation.element import block_counts, choose_element
    from synthapt.segmentation.image import concentration_image
    from synthapt.segmentation.params import SegmentParams
    from synthapt.spatial.voxel import voxelize

    torch.set_num_threads(args.threads)
    print(f"{'box nm':>6} {'ions':>9} {'grid':>14} {'detector':>8} {'edges s':>8} {'segment s':>9}")
    for box in args.box:
        ds = phantom(box, sphere_distance([box / 2] * 3, box / 4), seed=1)
        for name in args.detectors:
            params = SegmentParams(detector=name, threads=args.threads)
            detector = make_detector(params)
            grid = voxelize(ds, params.voxel_size, params.delocalization)
            _, _, image = concentration_image(grid, choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements, ())[0], params.min_count)
            start = time.perf_counter()
            edge_field(image, detector, params.fuse, chunk=params.batch_size * 4)
            edges_s = time.perf_counter() - start
            start = time.perf_counter()
            segment(ds, dataclasses.replace(params), detector=detector)
            total_s = time.perf_counter() - start
            print(f"{box:6.1f} {ds.n_ions:9d} {str(image.shape):>14} {name:>8} {edges_s:8.2f} {total_s:9.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
