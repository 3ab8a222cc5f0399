"""Throughput of the HED detector on CPU: slices per second for a given slice size."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
from scipy import ndimage

from synthapt.edges.detectors import HEDDetector, HEDParams, get_detector
from synthapt.edges.hed import HED, hed_macs
from synthapt.edges.weights import load_hed
from synthapt.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class HEDBenchmark:
    """One throughput measurement. Sizes in pixels; ``network_size`` is after upsampling."""

    slice_size: tuple[int, int]
    upsample: float
    pad: int
    network_size: tuple[int, int]
    n_slices: int
    batch_size: int
    num_threads: int
    seconds: float
    slices_per_s: float
    gflop_per_slice: float
    gflop_per_s: float
    load_average: float
    """1-minute load average of the machine when the timing started (others' work slows HED)."""

    def summary(self) -> str:
        h, w = self.slice_size
        nh, nw = self.network_size
        return (f"HED {h}x{w} (pad {self.pad}, x{self.upsample:g} -> {nh}x{nw}), batch {self.batch_size}, "
                f"{self.num_threads} thread(s): {self.slices_per_s:.2f} slices/s, "
                f"{self.gflop_per_slice:.2f} GFLOP/slice, {self.gflop_per_s:.1f} GFLOP/s "
                f"(load average {self.load_average:.2f})")


def benchmark_hed(size: int | tuple[int, int] = 64, upsample: float = 1.0, n_slices: int = 16,
                  batch_size: int = 8, num_threads: int = 2, model: HED | None = None,
                  seed: int = 0, pad: int = 8) -> HEDBenchmark:
    """Time ``HEDDetector.detect`` on ``n_slices`` smooth random slices of ``size`` pixels
    (reflect-padded by ``pad`` and upsampled by ``upsample`` as the detector does).

    One warm-up batch is run first and not timed. ``model`` None loads the BSDS500 weights
    (the speed does not depend on the weight values). FLOPs count 2 per multiply-accumulate.
    """
    height, width = (size, size) if isinstance(size, int) else size
    if height < 1 or width < 1 or n_slices < 1:
        raise ConfigError(f"benchmark: size and n_slices must be positive, got {size}, {n_slices}")
    detector = HEDDetector(HEDParams(upsample=upsample, pad=pad, batch_size=batch_size,
                                     num_threads=num_threads), model=model)
    rng = np.random.default_rng(seed)
    images = ndimage.gaussian_filter(rng.random((n_slices, height, width)), (0, 3, 3))
    images = ((images - images.min()) / max(float(np.ptp(images)), 1e-12)).astype(np.float32)
    detector.detect(images[:batch_size])
    load = os.getloadavg()[0]
    start = time.perf_counter()
    detector.detect(images)
    seconds = time.perf_counter() - start
    network_size = detector.network_size(height, width)
    gflop = 2 * hed_macs(*network_size) / 1e9
    return HEDBenchmark((height, width), upsample, detector.padding(height, width), network_size, n_slices, batch_size, num_threads,
                        seconds, n_slices / seconds, gflop, gflop * n_slices / seconds, load)


def cpu_busy_fraction(seconds: float = 1.0) -> float:
    """Fraction of the machine's CPU time spent busy over ``seconds`` (Linux ``/proc/stat``)."""
    def snapshot() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            ticks = [int(v) for v in fh.readline().split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]  # total, idle + iowait

    total0, idle0 = snapshot()
    time.sleep(seconds)
    total1, idle1 = snapshot()
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_idle(timeout: float, threshold: float = 0.08) -> bool:
    """Wait (up to ``timeout`` s) until the CPU is less than ``threshold`` busy; True if it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cpu_busy_fraction() < threshold:
            return True
    return False


def disc_slice(rng: np.random.Generator, radius: float, counts: float, size: int = 64,
               inside: float = 0.22, outside: float = 0.10, delocalisation: float = 1.0):
    """A synthetic concentration slice (size, size) in [0, 1]: a disc of ``radius`` px at fraction
    ``inside`` in ``outside``, binomial counting noise at ``counts`` atoms per pixel, Gaussian
    delocalisation (px), min-max normalised. Returns (slice, distance of each pixel to the centre)."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size / 2 - 4, size / 2 + 4, 2)
    r = np.hypot(yy - cy, xx - cx)
    atoms = rng.poisson(counts, (size, size))
    solute = rng.binomial(atoms, np.where(r < radius, inside, outside))
    conc = (ndimage.gaussian_filter(solute.astype(float), delocalisation)
            / np.maximum(ndimage.gaussian_filter(atoms.astype(float), delocalisation), 1e-9))
    conc = (conc - conc.min()) / max(float(np.ptp(conc)), 1e-12)
    return conc.astype(np.float32), r


def rim_localisation_study(n_slices: int = 6) -> list[str]:
    """Table rows: median over slices of the 90th percentile of |distance to the rim| (px) of
    the 2*pi*R strongest edge pixels, for HED (upsample x pad) and Sobel, on ``disc_slice``s."""
    detectors = {f"hed x{u:g} pad{p}": HEDDetector(HEDParams(upsample=u, pad=p))
                 for u in (1.0, 1.5, 2.0) for p in (0, 8, 16)}
    detectors["sobel s1"] = get_detector("sobel", sigma=1.0)
    rows = ["case | " + " | ".join(detectors)]
    for radius in (6, 12, 20):
        for counts in (10, 40):
            rng = np.random.default_rng(radius * 100 + counts)
            slices, distances = zip(*[disc_slice(rng, radius, counts) for _ in range(n_slices)])
            cells = []
            for detector in detectors.values():
                errors = []
                for prob, r in zip(detector.detect(np.stack(slices)), distances):
                    strongest = np.argsort(prob.ravel())[-int(2 * np.pi * radius):]
                    errors.append(np.percentile(np.abs(r.ravel()[strongest] - radius), 90))
                cells.append(f"{np.median(errors):.1f}")
            rows.append(f"R={radius} c={counts} | " + " | ".join(cells))
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/hed_bench.py --size 64 128 --upsample 1 2``: print one line per case;
    ``--study`` prints the rim-localisation table of docs/edges.md instead."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--size", type=int, nargs="+", default=[64, 128], help="slice edge (pixels)")
    parser.add_argument("--upsample", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--pad", type=int, default=8, help="reflected border (pixels)")
    parser.add_argument("--slices", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="report the fastest of this many runs")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each run, wait up to this long for the CPU to be < 8%% busy")
    parser.add_argument("--study", action="store_true", help="rim localisation vs upsample and pad")
    args = parser.parse_args(argv)
    if args.study:
        print("\n".join(rim_localisation_study()))
        return
    model = load_hed()
    for size in args.size:
        for upsample in args.upsample:
            runs = []
            for _ in range(args.repeats):
                if args.wait_idle > 0 and not wait_until_idle(args.wait_idle):
                    print(f"(CPU still busy after {args.wait_idle:g} s; timing anyway)", flush=True)
                runs.append(benchmark_hed(size, upsample, args.slices, args.batch_size, args.threads,
                                          model, pad=args.pad))
            print(max(runs, key=lambda r: r.slices_per_s).summary(), flush=True)


if __name__ == "__main__":
    main()
