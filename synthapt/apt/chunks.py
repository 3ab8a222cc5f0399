"""Chunked, multi-threaded per-ion work with results independent of the thread count.

Ions are cut into fixed chunks of ``CHUNK`` ions; chunk k always draws from the k-th child of the
stage's Generator (``Generator.spawn``), so the output is the same for any number of threads.
numpy releases the GIL in random fills and ufuncs on large arrays, so threads run in parallel.
``SYNTHAPT_THREADS`` sets the thread count (default: CPU count, at most 8).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

CHUNK = 1 << 18  # ions per chunk: small enough to stay in cache, large enough for numpy
TWO_PI = np.float32(2.0 * np.pi)


_local = threading.local()


def scratch(key: str, n: int, dtype: type) -> np.ndarray:
    """A reusable work array of ``n`` elements for the calling thread (contents undefined).

    Re-using one buffer per thread and key, instead of allocating per chunk, saves the page
    faults of fresh multi-megabyte allocations, which otherwise cost as much as the arithmetic.
    """
    arrays = getattr(_local, "arrays", None)
    if arrays is None:
        arrays = _local.arrays = {}
    buffer = arrays.get(key)
    if buffer is None or buffer.dtype != dtype or len(buffer) < n:
        buffer = arrays[key] = np.empty(max(n, CHUNK), dtype=dtype)
    return buffer[:n]


def thread_count() -> int:
    """Threads for chunked work: $SYNTHAPT_THREADS, else the CPU count capped at 8."""
    value = os.environ.get("SYNTHAPT_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(os.cpu_count() or 1, 8))


def chunk_slices(n: int) -> list[slice]:
    return [slice(start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]


def for_chunks(n: int, rng: np.random.Generator,
               work: Callable[[slice, np.random.Generator], None]) -> None:
    """Call ``work(chunk_slice, chunk_generator)`` for every chunk of ``n`` ions, in threads."""
    slices = chunk_slices(n)
    if not slices:
        return
    _run(work, slices, rng.spawn(len(slices)))


def map_chunks(n: int, work: Callable[[slice], object]) -> list:
    """``[work(chunk_slice) for every chunk of n ions]``, in threads, in chunk order."""
    slices = chunk_slices(n)
    return _run(work, slices) if slices else []


def _run(work: Callable, *columns: list) -> list:
    """``[work(*args) for args in zip(*columns)]``, in threads when there are several items."""
    workers = min(thread_count(), len(columns[0]))
    if workers <= 1:
        return [work(*args) for args in zip(*columns)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, *columns))


def compress_rows(mask: np.ndarray, arrays: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """``[a[mask] for a in arrays]`` (rows where the (n,) bool ``mask`` is set; None stays None),
    copied chunk by chunk in threads: the same arrays as numpy's boolean indexing."""
    slices = chunk_slices(len(mask))
    counts = _run(lambda s: int(np.count_nonzero(mask[s])), slices)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    outs = [None if a is None else np.empty((int(offsets[-1]),) + a.shape[1:], dtype=a.dtype)
            for a in arrays]

    def work(k: int) -> None:
        s, lo, hi = slices[k], int(offsets[k]), int(offsets[k + 1])
        rows = np.flatnonzero(mask[s])
        for a, out in zip(arrays, outs):
            if a is not None:
                np.take(a[s], rows, axis=0, out=out[lo:hi], mode="clip")  # unbuffered

    if slices:
        _run(work, list(range(len(slices))))
    return outs


def uniform_fill(g: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Fill the contiguous float32 array ``out`` with uniforms k / 2^24 in [0, 1) (k: the top 24
    bits of 32-bit words), the values ``Generator.random(dtype=np.float32)`` can take, cut from
    the bit generator's raw 64-bit outputs (two per word) with SIMD shifts and conversions, which
    is faster than numpy's per-value float32 path."""
    flat = out.reshape(-1)
    bits = g.bit_generator.random_raw((len(flat) + 1) // 2).view(np.uint32)[: len(flat)]
    np.right_shift(bits, np.uint32(8), out=bits)
    flat[...] = bits  # exact: below 2^24
    flat *= np.float32(2.0 ** -24)
    return out


def gaussian_fill(g: np.random.Generator, out: np.ndarray,
                  scale: np.ndarray | float | None = None) -> np.ndarray:
    """Fill the contiguous float32 array ``out`` with standard normal deviates (Box-Muller).

    z = sqrt(-2 ln(1 - u1)) (cos, sin)(2 pi u2) (G.E.P. Box, M.E. Muller, Ann. Math. Stat. 29
    (1958) 610) on float32 uniforms, vectorised with numpy's SIMD log/sin/cos: about twice as
    fast as numpy's float32 ziggurat here. Float32 uniforms bound |z| by sqrt(2 ln 2^24) = 5.77,
    i.e. the tail beyond 5.77 sigma (probability 6e-8 per pair) is not sampled.
    ``scale`` (scalar, or (C,) per column of a C-column ``out`` with an even number of rows)
    multiplies the deviates on the way (on the radii, half the work of scaling ``out``).
    """
    flat = out.reshape(-1)
    n = len(flat)
    half = (n + 1) // 2
    radius = uniform_fill(g, scratch("gaussian_radius", half, np.float32))
    np.subtract(np.float32(1.0), radius, out=radius)
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    if scale is not None:
        scale = np.asarray(scale, dtype=np.float32)
        if scale.ndim == 0:
            radius *= scale
        elif out.ndim == 2 and len(out) % 2 == 0 and out.shape[1] == len(scale):
            # rows even: flat i and i + half lie in the same column, i % C, so share a radius
            radius.reshape(-1, len(scale))[...] *= scale
        else:
            raise ValueError("gaussian_fill: per-column scale needs an (even, C) out array")
    angle = uniform_fill(g, scratch("gaussian_angle", half, np.float32))
    angle *= TWO_PI
    np.cos(angle, out=flat[:half])
    np.sin(angle[: n - half], out=flat[half:])
    flat[:half] *= radius
    flat[half:] *= radius[: n - half]
    return out
