"""Throughput of the HED detector on CPU: slices per second for a given slice size."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from scipy import ndimage

from synthapt.edges.detectors import HEDDetector, HEDParams
from synthapt.edges.hed import HED, hed_macs
from synthapt.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class HEDBenchmark:
    """One throughput measurement. Sizes in pixels; ``network_size`` is after upsampling."""

    slice_size: tuple[int, int]
    upsample: float
    network_size: tuple[int, int]
    n_slices: int
    batch_size: int
    num_threads: int
    seconds: float
    slices_per_s: float
    gflop_per_slice: float
    gflop_per_s: float

    def summary(self) -> str:
        h, w = self.slice_size
        nh, nw = self.network_size
        return (f"HED {h}x{w} (x{self.upsample:g} -> {nh}x{nw}), batch {self.batch_size}, "
                f"{self.num_threads} thread(s): {self.slices_per_s:.2f} slices/s, "
                f"{self.gflop_per_slice:.2f} GFLOP/slice, {self.gflop_per_s:.1f} GFLOP/s")


def benchmark_hed(size: int | tuple[int, int] = 64, upsample: float = 2.0, n_slices: int = 16,
                  batch_size: int = 8, num_threads: int = 2, model: HED | None = None,
                  seed: int = 0) -> HEDBenchmark:
    """Time ``HEDDetector.detect`` on ``n_slices`` smooth random slices of ``size`` pixels.

    One warm-up batch is run first and not timed. ``model`` None loads the BSDS500 weights
    (the speed does not depend on the weight values). FLOPs count 2 per multiply-accumulate.
    """
    height, width = (size, size) if isinstance(size, int) else size
    if height < 1 or width < 1 or n_slices < 1:
        raise ConfigError(f"benchmark: size and n_slices must be positive, got {size}, {n_slices}")
    detector = HEDDetector(HEDParams(upsample=upsample, batch_size=batch_size, num_threads=num_threads),
                           model=model)
    rng = np.random.default_rng(seed)
    images = ndimage.gaussian_filter(rng.random((n_slices, height, width)), (0, 3, 3))
    images = ((images - images.min()) / max(float(np.ptp(images)), 1e-12)).astype(np.float32)
    detector.detect(images[:batch_size])
    start = time.perf_counter()
    detector.detect(images)
    seconds = time.perf_counter() - start
    network_size = detector.scaled_size(height, width)
    gflop = 2 * hed_macs(*network_size) / 1e9
    return HEDBenchmark((height, width), upsample, network_size, n_slices, batch_size, num_threads,
                        seconds, n_slices / seconds, gflop, gflop * n_slices / seconds)
