"""Compiled per-ion loops of the hits chain and the reconstruction (numba, parallel over ions).

Each kernel fuses what would be a dozen numpy passes over 10 M-element temporaries into one loop
per ion. Only element-wise loops run in parallel (``prange``: every ion writes its own output),
so results do not depend on the thread count; the histogram and the prefix sum run serially.
The formulas are documented in ``synthapt.apt.hits`` and ``synthapt.apt.reconstruct``. The loops
are plain Python here; ``compiled()`` imports numba (a slow import, so only on first use: ``import
synthapt.apt`` stays fast) and compiles them, with the machine code cached on disk.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

from synthapt.apt.chunks import thread_count

JIT = {"nogil": True, "cache": True, "error_model": "numpy", "fastmath": True}
F32 = np.float32  # transcendentals in single precision (2x faster; 1e-7 relative is plenty)
prange = range  # numba.prange once compiled (parallel loops)
PARALLEL = ("surface_directions", "surface_cells", "project", "place_ions")
SERIAL = ("cell_counts", "voltage_depths")


@functools.cache
def _compile() -> SimpleNamespace:
    import numba  # heavy third-party import, on first use only

    globals()["prange"] = numba.prange
    loops = {name: numba.njit(parallel=True, **JIT)(globals()[name]) for name in PARALLEL}
    loops.update({name: numba.njit(**JIT)(globals()[name]) for name in SERIAL})
    return SimpleNamespace(set_num_threads=numba.set_num_threads,
                           max_threads=numba.config.NUMBA_NUM_THREADS, **loops)


def compiled() -> SimpleNamespace:
    """The compiled loops (attributes named as the functions below), set to run on
    ``synthapt.apt.chunks.thread_count()`` threads."""
    loops = _compile()
    loops.set_num_threads(max(1, min(thread_count(), loops.max_threads)))
    return loops


def surface_directions(positions, axis_x, axis_y, apex_z, r0, g, wx, wy, travel, radius):
    """Per ion: apex travel u (larger root of the tip-state quadratic), R = r0 + g u, polar
    angle theta = atan2(rho, z - c) and angular coordinates w = theta (dx, dy) / rho."""
    quad_a = 1.0 + 2.0 * g
    for i in prange(positions.shape[0]):
        dx = positions[i, 0] - axis_x
        dy = positions[i, 1] - axis_y
        rho2 = dx * dx + dy * dy
        b = positions[i, 2] - apex_z + r0
        quad_b = (1.0 + g) * b - g * r0
        quad_c = (b - r0) * (b + r0) + rho2
        disc = quad_b * quad_b - quad_a * quad_c
        root = math.sqrt(disc) if disc > 0.0 else 0.0
        if quad_b > 0.0:
            u = -quad_c / (quad_b + root)
        else:
            u = (root - quad_b) / quad_a
        u = max(u, 0.0)
        r = r0 + g * u
        rho = math.sqrt(rho2)
        theta = math.atan2(F32(rho), F32(positions[i, 2] - (apex_z - u - r)))
        scale = theta / rho if rho > 0.0 else 0.0
        wx[i] = dx * scale
        wy[i] = dy * scale
        travel[i] = u
        radius[i] = r


def surface_cells(wx, wy, travel, extent, step, cells, window, flat):
    """Per ion: flat index (window, ix, iy) of its cell on the surface maps."""
    for i in prange(wx.shape[0]):
        ix = min(max(int((wx[i] + extent) / step), 0), cells - 1)
        iy = min(max(int((wy[i] + extent) / step), 0), cells - 1)
        flat[i] = (int(travel[i] / window) * cells + ix) * cells + iy


def cell_counts(flat, other, size):
    """(all ions, non-matrix ions) per cell: two (size,) int64 histograms in one serial pass."""
    total = np.zeros(size, np.int64)
    marked = np.zeros(size, np.int64)
    for i in range(flat.shape[0]):
        total[flat[i]] += 1
        if other[i]:
            marked[flat[i]] += 1
    return total, marked


def project(wx, wy, flat, tilt_x, tilt_y, tilted, inverse_icf, flight_path, largest, out):
    """Per ion: launch direction w (+ the tilt of its cell if ``tilted``), flight angle
    |w| / ICF (at most ``largest``), hit at L tan(angle) along the azimuth of w (mm)."""
    for i in prange(wx.shape[0]):
        x = wx[i]
        y = wy[i]
        if tilted:
            x += tilt_x[flat[i]]
            y += tilt_y[flat[i]]
        angle = math.sqrt(x * x + y * y)
        if angle > 0.0:
            scale = math.tan(F32(min(angle * inverse_icf, largest))) * flight_path / angle
        else:
            scale = 0.0
        out[i, 0] = x * scale
        out[i, 1] = y * scale


def voltage_depths(v_dc, to_radius, c, depth):
    """Apex depth (nm) when each ion leaves: running sum of c / R^2, R = V to_radius (serial)."""
    total = 0.0
    for i in range(v_dc.shape[0]):
        depth[i] = total
        r = v_dc[i] * to_radius
        total += c / (r * r)


def place_ions(xy, v_dc, depth, voltage_mode, to_radius, r0, g, c, icf, flight_path, origin, out):
    """Per ion: R from the voltage (or the shank law at its index), theta = ICF atan(D / L),
    position on the sphere below the apex at ``depth`` (or the shank closed form), nm."""
    for i in prange(xy.shape[0]):
        if voltage_mode:
            d = depth[i]
            r = v_dc[i] * to_radius
        else:
            if g > 0.0:
                d = ((r0 * r0 * r0 + 3.0 * g * c * i) ** (1.0 / 3.0) - r0) / g
            else:
                d = c * i / (r0 * r0)
            r = r0 + g * d
        x = xy[i, 0]
        y = xy[i, 1]
        distance = math.sqrt(x * x + y * y)
        theta = F32(icf * math.atan(F32(distance / flight_path)))
        lateral = r * math.sin(theta) / distance if distance > 0.0 else 0.0
        out[i, 0] = origin[0] + x * lateral
        out[i, 1] = origin[1] + y * lateral
        out[i, 2] = origin[2] - d - r * (1.0 - math.cos(theta))
