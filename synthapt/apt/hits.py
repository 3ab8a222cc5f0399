"""Emulation stage: detector hits and DC voltage from the tip shape at each moment.

Tip state. The tip is a sphere of radius R(u) = R0 + g u whose top stands at apex_z - u after
an apex travel u; g = sin(a) / (1 - sin(a)) for a sphere sliding down a cone of half-angle a
(the specimen model of the standard reconstruction: P. Bas et al., Appl. Surf. Sci. 87/88
(1995) 298; B. Gault et al., "Atom Probe Microscopy", Springer 2012, ch. 7). Each atom leaves
when the descending surface reaches it (``synthapt.apt.tip.apex_travel``), at polar angle
theta on the sphere and azimuth phi. The DC voltage that keeps the matrix evaporation field F
at that radius is V = F k R (field factor k).

Local curvature at a second phase (M.K. Miller, M.G. Hetherington, Surf. Sci. 246 (1991) 442;
F. Vurpillot, A. Bostel, D. Blavette, Appl. Phys. Lett. 76 (2000) 3127). A phase that
evaporates at f = F_p / F_m times the matrix field keeps, at the same voltage, a local radius
R / f: a high-field phase (f > 1) protrudes, a low-field one (f < 1) flattens. Writing the
surface directions as angular coordinates w = theta (cos phi, sin phi), the change of the surface
normal caused by a curvature change (f - 1) / R over the phase's footprint P on the surface is
the 2D field of a uniform charge (small-slope Poisson equation of the surface height):

    t(w) = (f - 1) / pi * integral_P (w - w') / |w - w'|^2 dA(w')

(the surface height h obeys laplacian(h) = -2 (f - 1) / R over P, both principal curvatures
changing; t = grad h in angular units).
Inside a circular footprint of angular radius A this gives t = (f - 1) w (directions scaled by
f about its centre: magnification f), outside t = (f - 1) A^2 / |w| (radially, decaying), so a
low-field precipitate is imaged laterally compressed by f (density x 1 / f^2) and matrix ions
near it are pulled towards it; a high-field one is dilated (less dense). The footprint is mapped
from the ions themselves (fraction of non-matrix ions on angular cells of ``surface_cell`` nm,
per ``surface_window`` nm of apex travel) and the integral is an FFT convolution. f = 1 leaves
every direction unchanged. The ion then flies at |w + t| / ICF (image compression factor) and
hits the detector at L tan(|w + t| / ICF) from its centre (flight path L, mm).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from synthapt.apt.bundle import IonBundle, TipModel
from synthapt.apt.chunks import thread_count
from synthapt.apt.kernels import compiled
from synthapt.apt.params import EmulationParams
from synthapt.apt.tip import tip_model

MAX_CELLS = 128  # surface-map cells across, at most (FFT of 256^2 per window)
WINDOW_BATCH = 16  # windows convolved at once (memory)
LARGEST_FLIGHT_ANGLE = np.float32(np.radians(89.0))


def surface_directions(positions: np.ndarray, tip: TipModel) -> tuple[np.ndarray, ...]:
    """(wx, wy, travel, radius) of atoms at (n, 3) float32 ``positions`` (nm) when they leave:
    angular surface coordinates theta (cos phi, sin phi) in rad, apex travel u (nm, as
    ``synthapt.apt.tip.apex_travel``) and tip radius R(u) (nm), each (n,) float32."""
    n = len(positions)
    wx, wy, travel, radius = (np.empty(n, np.float32) for _ in range(4))
    compiled().surface_directions(np.ascontiguousarray(positions, dtype=np.float32),
                                 float(tip.axis_xy[0]), float(tip.axis_xy[1]), float(tip.apex_z),
                                 float(tip.apex_radius), float(tip.shank_growth),
                                 wx, wy, travel, radius)
    return wx, wy, travel, radius


def poisson_kernel_spectrum(cells: int, step: float) -> np.ndarray:
    """(2, P, P // 2 + 1) rfft2 of the 2D kernel (w / |w|^2) dA / pi on a (P, P) grid of
    ``step`` rad (P = 2 cells: zero padding, so the convolution is not periodic)."""
    size = 2 * cells
    offsets = np.fft.fftfreq(size, 1.0 / size)  # 0, 1, ..., -1 cells
    ix, iy = np.meshgrid(offsets, offsets, indexing="ij")
    r2 = ix * ix + iy * iy
    r2[0, 0] = 1.0
    kernel = np.stack([ix, iy]) * (step / np.pi) / r2  # (step ix) step^2 / (pi step^2 r2)
    kernel[:, 0, 0] = 0.0
    return np.fft.rfft2(kernel)


def surface_tilt(wx: np.ndarray, wy: np.ndarray, travel: np.ndarray, other_phase: np.ndarray,
                 field_ratio: float, window: float, step: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Launch-direction change (rad) of ions at angular surface coordinates (wx, wy) rad, apex
    travel ``travel`` nm, ``other_phase`` (n,) bool (not matrix), for a field ratio f: (f - 1) / pi
    times the 2D field of the non-matrix fraction mapped on cells of about ``step`` rad per
    ``window`` nm of travel (see the module docstring). Returns (tilt_x, tilt_y, cell): tilts
    per map cell (flat float32 arrays) and each ion's (n,) cell index, or None (no change)."""
    n = len(wx)
    if n == 0 or field_ratio == 1.0 or not other_phase.any():
        return None
    loops = compiled()
    extent = float(max(np.abs(wx).max(), np.abs(wy).max())) + step
    cells = int(min(MAX_CELLS, np.ceil(2.0 * extent / step)))
    step = 2.0 * extent / cells
    windows = int(travel.max() / window) + 1
    flat = np.empty(n, np.int64)
    loops.surface_cells(wx, wy, travel, extent, step, cells, float(window), flat)
    total, other = loops.cell_counts(flat, other_phase, windows * cells * cells)
    fraction = (other / np.maximum(total, 1)).astype(np.float32).reshape(windows, cells, cells)
    spectrum = (poisson_kernel_spectrum(cells, step) * (field_ratio - 1.0)).astype(np.complex64)
    size = 2 * cells
    tilt = np.zeros((2, windows, cells, cells), np.float32)
    busy = np.flatnonzero(fraction.reshape(windows, -1).any(axis=1))  # windows with the phase
    for start in range(0, len(busy), WINDOW_BATCH):
        batch = busy[start:start + WINDOW_BATCH]
        part = scipy.fft.rfft2(fraction[batch], s=(size, size), workers=thread_count())
        for axis in range(2):
            field = scipy.fft.irfft2(part * spectrum[axis], s=(size, size), workers=thread_count())
            tilt[axis, batch] = field[:, :cells, :cells]
    return tilt[0].reshape(-1), tilt[1].reshape(-1), flat


def project_directions(wx: np.ndarray, wy: np.ndarray, flight_path: float,
                       image_compression: float,
                       tilt: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n, 2) float32 detector hits (mm) of ions launched along angular coordinates (wx, wy)
    (rad) plus ``tilt`` (from ``surface_tilt``): flight angle |w| / ICF (at most 89 degrees),
    distance L tan(|w| / ICF), azimuth kept."""
    out = np.empty((len(wx), 2), np.float32)
    tilted = tilt is not None
    if not tilted:
        none = np.zeros(1, np.float32)
        tilt = (none, none, np.zeros(1, np.int64))
    compiled().project(wx, wy, tilt[2], tilt[0], tilt[1], tilted, 1.0 / image_compression,
                      float(flight_path), float(LARGEST_FLIGHT_ANGLE), out)
    return out


def hits_stage(bundle: IonBundle, params: EmulationParams, rng: np.random.Generator) -> IonBundle:
    """Detector hits (mm) and DC voltage (V) of every ion from the tip state (off: unchanged)."""
    hits = params.hits
    if not hits.enabled:
        return bundle.with_stats("hits", enabled=False)
    det = params.resolved().detector
    tip = bundle.tip or tip_model(bundle, params)
    positions = np.take(bundle.source_positions(), bundle.atom, axis=0)
    wx, wy, travel, radius = surface_directions(positions, tip)
    other = np.take(bundle.specimen.phase, bundle.atom) > 0
    step = hits.surface_cell / tip.apex_radius
    tilt = surface_tilt(wx, wy, travel, other, hits.field_ratio, hits.surface_window, step)
    xy = project_directions(wx, wy, det.flight_path, det.image_compression, tilt)
    v_dc = radius * np.float32(hits.evaporation_field * hits.field_factor)
    largest_tilt = 0.0 if tilt is None else float(np.hypot(tilt[0], tilt[1]).max())
    return bundle.replace(tip=tip, detector_xy=xy, v_dc=v_dc).with_stats(
        "hits", evaporation_field=hits.evaporation_field, field_factor=hits.field_factor,
        field_ratio=hits.field_ratio, apex_travel_nm=float(travel.max()) if len(travel) else 0.0,
        final_radius_nm=float(radius.max()) if len(radius) else tip.apex_radius,
        v_dc_range=[float(v_dc.min()), float(v_dc.max())] if len(v_dc) else [],
        max_tilt_deg=float(np.degrees(largest_tilt)))
