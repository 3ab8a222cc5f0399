"""Segmentation throughput: time per stage and peak memory for synthetic datasets.

    python benchmarks/segment_bench.py --ions 1e6 10e6 --detector hed --voxel 0.5 --upsample 2

Each size runs in its own process (so the peak RSS belongs to that size). The dataset: ions at
35 /nm^3 in a cube, 10 at.% Al matrix with a 3x3x3 lattice of spherical 25 at.% Al precipitates,
0.3 nm position blur. Prints one table row per stage; raw data = 18 bytes/ion (x, y, z, m/q
float32 + int16 species).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def lattice_of_spheres(box: float, per_axis: int = 3):
    pitch = box / per_axis
    centres = (np.stack(np.meshgrid(*[np.arange(per_axis)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * pitch
    radius = 0.3 * pitch

    def distance(p):
        cell = np.clip(np.floor(p / pitch), 0, per_axis - 1)
        return radius - np.linalg.norm(p - (cell + 0.5) * pitch, axis=1)

    return distance, centres, radius


def run_one(n_ions: float, detector: str, voxel: float, upsample: float, threads: int,
            slice_step: int = 1, trace_memory: bool = False) -> dict:
    import torch

    from segment_phantoms import phantom
    from synthapt.segmentation import edge, image, params as seg_params, regions
    from synthapt.spatial import voxel as vox
    from synthapt.spatial.mesh_distance import MeshDistance
    from synthapt.spatial.profiles import proxigram
    from synthapt.spatial.voxel import voxelize

    torch.set_num_threads(threads)
    box = (n_ions / 35.0) ** (1 / 3)
    distance, _, radius = lattice_of_spheres(box)
    ds = phantom(box, distance, noise=0.3, seed=0, n_ions=int(n_ions))
    params = seg_params.SegmentParams(detector=detector, elements=("Al",), voxel_size=voxel, upsample=upsample,
                               threads=threads)
    times: dict[str, float] = {}
    import tracemalloc

    if trace_memory:
        tracemalloc.start()  # numpy reports its buffers: peak of the arrays made from here on

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        times[name] = time.perf_counter() - t0
        return out

    grid = timed("voxelize+delocalize", voxelize, ds, voxel, params.delocalization)
    conc, mask, image = timed("concentration image", image.concentration_image, grid, ("Al",), params.min_count)
    detector_obj = timed("load detector", edge.make_detector, params)
    edges = timed("edge maps (3 axes)", edge.edge_field, image, detector_obj, params.fuse, params.batch_size * 4,
                  None, slice_step)
    regions = timed("watershed regions", regions.phase_regions, edges, image, params.marker_threshold,
                    params.min_marker_voxels)
    counts = timed("region counts", regions.region_counts, ds, grid, regions, ("Al",))
    noise = regions.concentration_noise(grid, ("Al",), mask)
    is_p, info = regions.classify_regions(counts, params, noise)
    labels = is_p[regions].astype(np.int8)
    indicator = timed("refine band", regions.refined_indicator, labels, vox.fill_outside(np.nan_to_num(conc), mask),
                      params.refine / voxel, grid, ("Al",))
    result = timed("labels + mesh", lambda: regions.finish(
        dataset=ds, grid=grid, voxel_labels=labels, conc=conc, edges=edges, method=detector,
        elements=("Al",), smoothing_nm=params.label_smoothing, params={}, info=info, indicator=indicator))
    segment_total = sum(v for k, v in times.items() if k != "load detector")
    peak_segment = tracemalloc.get_traced_memory()[1]
    if trace_memory:
        tracemalloc.reset_peak()
    cpu0 = time.process_time()
    prof = timed("proxigram (grid)", proxigram, ds, result.mesh, workers=threads)
    proxigram_cpu = time.process_time() - cpu0  # CPU seconds, all threads (a measure less sensitive to load)
    peak_proxigram = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sub = ds.positions[: min(len(ds.positions), 200_000)]
    md = MeshDistance(result.mesh)
    t0 = time.perf_counter()
    md(sub)
    exact_rate = len(sub) / (time.perf_counter() - t0)
    n_slices = sum(len(range(0, n, slice_step)) + (1 if (n - 1) % slice_step else 0) for n in grid.shape)
    return {
        "ions": int(n_ions), "box_nm": box, "grid": list(grid.shape), "voxel_nm": voxel,
        "detector": detector, "upsample": upsample, "threads": threads, "slice_step": slice_step,
        "times_s": times,
        "segment_s": segment_total, "slices": n_slices,
        "slices_per_s": n_slices / times["edge maps (3 axes)"],
        "voxelize_ions_per_s": n_ions / times["voxelize+delocalize"],
        "proxigram_ions_per_s": n_ions / times["proxigram (grid)"],
        "proxigram_cpu_s": proxigram_cpu,
        "exact_distance_ions_per_s": exact_rate,
        "accuracy": float(np.mean(result.labels == ds.truth.phase)),
        "precipitate_radius_nm": radius, "mesh_faces": int(result.mesh.n_faces) if result.mesh else 0,
        "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_arrays_segment_MiB": peak_segment / 2**20, "peak_arrays_proxigram_MiB": peak_proxigram / 2**20,
        "raw_MiB": n_ions * 18 / 2**20, "profile_bins": len(prof.centers),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ions", type=float, nargs="+", default=[1e6, 10e6])
    ap.add_argument("--detector", default="hed", choices=["hed", "canny", "sobel"])
    ap.add_argument("--voxel", type=float, default=0.5)
    ap.add_argument("--upsample", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slice-step", type=int, default=1)
    ap.add_argument("--trace-memory", action="store_true",
                    help="report the peak of new numpy arrays (tracemalloc; slows some stages)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.ions[0], args.detector, args.voxel, args.upsample, args.threads,
                                 args.slice_step, args.trace_memory)))
        return
    for n in args.ions:
        cmd = [sys.executable, __file__, "--one", "--ions", str(n), "--detector", args.detector,
               "--voxel", str(args.voxel), "--upsample", str(args.upsample), "--threads", str(args.threads),
               "--slice-step", str(args.slice_step)] + (["--trace-memory"] if args.trace_memory else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n{r['ions']:,} ions, box {r['box_nm']:.1f} nm, grid {r['grid']} of {r['voxel_nm']} nm, "
              f"{r['detector']} x{r['upsample']}, every {r['slice_step']}. slice, {r['threads']} threads")
        for name, t in r["times_s"].items():
            print(f"  {name:24s} {t:8.2f} s")
        print(f"  {'segmentation total':24s} {r['segment_s']:8.2f} s  (without loading the detector)")
        print(f"  edge detection: {r['slices']} slices, {r['slices_per_s']:.1f} slices/s")
        print(f"  voxelize: {r['voxelize_ions_per_s'] / 1e6:.1f} M ions/s; proxigram (grid): "
              f"{r['proxigram_ions_per_s'] / 1e6:.2f} M ions/s (CPU {r['proxigram_cpu_s']:.2f} s); exact distances: "
              f"{r['exact_distance_ions_per_s'] / 1e6:.3f} M ions/s")
        arrays = (f"new arrays at peak: segmentation {r['peak_arrays_segment_MiB']:.0f} MiB, proxigram "
                  f"{r['peak_arrays_proxigram_MiB']:.0f} MiB; " if args.trace_memory else "")
        print(f"  per-ion accuracy {r['accuracy']:.4f}; raw data {r['raw_MiB']:.0f} MiB; {arrays}"
              f"process peak RSS {r['peak_rss_MiB']:.0f} MiB (with ground truth, phantom generation, torch)")


if __name__ == "__main__":
    main()
