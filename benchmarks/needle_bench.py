"""Segmentation of needle-shaped specimens at the DEFAULT settings: wall time, CPU time, peak
memory, accuracy and interface area.

    python benchmarks/needle_bench.py --ions 1e6 10e6 --geometry slab spheres --method hed

The specimen: a needle (10 nm apex radius at 1 M ions, scaled with the cube root of the ion
count; 10 degree shank) at 35 ions/nm^3 in its bounding box (about half of which is empty),
Ni with 10 at.% Al in the matrix and 25 at.% in the precipitate, 0.3 nm Gaussian position blur.
Geometries: ``slab`` (the precipitate fills the needle above mid-height: one flat interface) and
``spheres`` (spheres of radius 0.25 x apex radius on a cubic lattice of pitch 0.8 x apex radius).
Each run is its own process (peak RSS belongs to it). ``--crop-compare`` also times the edge
detector on the full bounding-box grid (no specimen crop) for the same image.
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


def make_needle(n_ions: float, geometry: str, seed: int = 0):
    from segment_phantoms import needle_height, needle_phantom

    apex = 10.0 * (n_ions / 1e6) ** (1 / 3)
    if geometry == "slab":
        # first pass for the height, then the plane at mid-height
        height = needle_height(n_ions / 35.0, apex, 10.0)
        z0 = 0.5 * height
        distance = lambda p: p[:, 2] - z0  # noqa: E731
        truth_area = np.pi * (apex + (height - apex - z0) * np.tan(np.radians(10.0))) ** 2
    else:
        pitch, radius = 0.8 * apex, 0.25 * apex

        def distance(p):
            centre = (np.floor(p / pitch) + 0.5) * pitch
            return radius - np.linalg.norm(p - centre, axis=1)
        truth_area = float("nan")
    ds = needle_phantom(n_ions=int(n_ions), apex_radius=apex, signed_distance=distance, seed=seed)
    return ds, distance, truth_area


def run_one(n_ions: float, geometry: str, method: str, crop_compare: bool, overrides: dict) -> dict:
    from synthapt.segmentation.edge import edge_field, make_detector
    from synthapt.segmentation.element import block_counts, choose_element
    from synthapt.segmentation.image import concentration_image
    from synthapt.segmentation.methods import method_params, run_method
    from synthapt.segmentation.params import SegmentParams
    from synthapt.spatial.volume import specimen_volume
    from synthapt.spatial.voxel import voxelize

    ds, distance, truth_area = make_needle(n_ions, geometry)
    params = method_params(method, SegmentParams(**overrides), iso_value=17.5, elements=None)
    if method == "iso":
        params = method_params(method, SegmentParams(elements=("Al",)), iso_value=17.5)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run_method(method, ds, params)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    truth = ds.truth.phase
    accuracy = float(np.mean(result.labels == truth))
    # Bayes-free reference: labels from the true geometry at the observed (blurred) positions
    oracle = float(np.mean((distance(ds.positions.astype(np.float64)) > 0).astype(np.int8) == truth))
    row = {"ions": int(ds.n_ions), "geometry": geometry, "method": method, "wall_s": wall, "cpu_s": cpu,
           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
           "accuracy": accuracy, "oracle_accuracy": oracle,
           "mesh_area_nm2": float(result.mesh.area) if result.mesh is not None else 0.0,
           "true_area_nm2": truth_area,
           "specimen_voxel_fraction": result.phase_composition.get("specimen_voxel_fraction")}
    if crop_compare and method != "iso":
        grid = voxelize(ds, params.voxel_size, params.delocalization)
        elements, _, _ = choose_element(block_counts(grid.counts, grid.voxel_size), grid.elements, ())
        _, _, image = concentration_image(grid, elements, params.min_count)
        volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
        detector = make_detector(params)
        for name, mask in (("edges_cropped_s", volume.mask), ("edges_full_grid_s", None)):
            t0, c0 = time.perf_counter(), time.process_time()
            edge_field(image, detector, params.fuse, max(params.batch_size, 1) * 4, None,
                       params.effective_slice_step(grid.shape), mask)
            row[name] = time.perf_counter() - t0
            row[name.replace("_s", "_cpu_s")] = time.process_time() - c0
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ions", type=float, nargs="+", default=[1e6])
    ap.add_argument("--geometry", nargs="+", default=["slab", "spheres"], choices=["slab", "spheres"])
    ap.add_argument("--method", nargs="+", default=["hed"])
    ap.add_argument("--crop-compare", action="store_true")
    ap.add_argument("--upsample", type=float, help="override the default SegmentParams.upsample")
    ap.add_argument("--slice-step", type=int, help="override the default SegmentParams.slice_step")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n, geometry, method, crop, overrides = json.loads(args.one)
        print(json.dumps(run_one(n, geometry, method, crop, overrides)))
        return
    print(f"{'ions':>9} {'geometry':>8} {'method':>7} {'wall s':>7} {'CPU s':>7} {'peak GB':>7} "
          f"{'acc':>6} {'oracle':>6} {'area nm2':>9} {'true nm2':>9} {'in box':>6} {'crop s':>6} {'full s':>6} "
          f"{'crop CPU':>8} {'full CPU':>8}")
    overrides = {k: v for k, v in (("upsample", args.upsample), ("slice_step", args.slice_step)) if v is not None}
    for n in args.ions:
        for geometry in args.geometry:
            for method in args.method:
                out = subprocess.run([sys.executable, __file__, "--one",
                                      json.dumps([n, geometry, method, args.crop_compare, overrides])],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{r['ions']:>9} {r['geometry']:>8} {r['method']:>7} {r['wall_s']:>7.1f} "
                      f"{r['cpu_s']:>7.1f} {r['peak_rss_gb']:>7.2f} {r['accuracy']:>6.4f} "
                      f"{r['oracle_accuracy']:>6.4f} {r['mesh_area_nm2']:>9.0f} {r['true_area_nm2']:>9.0f} "
                      f"{r['specimen_voxel_fraction'] or float('nan'):>6.2f} "
                      f"{r.get('edges_cropped_s', float('nan')):>6.1f} {r.get('edges_full_grid_s', float('nan')):>6.1f} "
                      f"{r.get('edges_cropped_cpu_s', float('nan')):>8.1f} {r.get('edges_full_grid_cpu_s', float('nan')):>8.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
