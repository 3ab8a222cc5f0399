"""Emulation stage: ePOS fields (voltages, time of flight, detector hits, delta-pulse, multiplicity).

Time of flight of an ion of mass-to-charge m/q (Da) over the flight path L at total voltage
V = V_dc + V_pulse: t = L sqrt(m u / (2 q e V)) (energy conservation q e V = m v^2 / 2). The DC
voltage rises linearly over the run (pulse number) from ``v_dc_start`` to ``v_dc_end``, as the
tip blunts (with the hits chain on, it is V = F k R of the tip state instead); ``v_pulse = pulse_fraction * v_dc`` (0 for laser pulsing). Delta-pulse counts the
pulses since the previous detected ion (0 within a multi-hit); ions-per-pulse is the event's
multiplicity on its first ion and 0 on the others (the CAMECA ePOS convention).
"""

from __future__ import annotations

import numpy as np

from synthapt.apt.bundle import IonBundle
from synthapt.apt.params import EmulationParams

ATOMIC_MASS_UNIT = 1.66053906660e-27  # kg (CODATA 2018)
ELEMENTARY_CHARGE = 1.602176634e-19  # C (exact, SI 2019)


def time_of_flight(mass_to_charge: np.ndarray, voltage: np.ndarray, flight_path_mm: float) -> np.ndarray:
    """(n,) time of flight in ns of ions of m/q (Da) accelerated through ``voltage`` (V)."""
    mq, volts = np.asarray(mass_to_charge), np.asarray(voltage)
    dtype = np.result_type(mq.dtype, volts.dtype, np.float32)
    factor = flight_path_mm * 1e-3 * np.sqrt(ATOMIC_MASS_UNIT / (2.0 * ELEMENTARY_CHARGE)) * 1e9
    return np.sqrt(mq / volts) * dtype.type(factor)


def pulse_counters(pulse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(delta_pulse, ions_per_pulse) uint32 arrays for a non-decreasing ``pulse`` (n,)."""
    n = len(pulse)
    if n == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint32)
    delta = np.diff(pulse, prepend=0)
    first = np.r_[True, pulse[1:] != pulse[:-1]]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, n])
    ipp = np.zeros(n, dtype=np.uint32)
    ipp[starts] = sizes
    return delta.astype(np.uint32), ipp


def voltage_stage(bundle: IonBundle, params: EmulationParams,
                  rng: np.random.Generator) -> IonBundle:
    """Attach the ePOS fields (TOF ns, V_dc, V_pulse V, detector x/y mm, delta-pulse, ipp)."""
    volt = params.voltage
    if not volt.enabled or bundle.n == 0:
        return bundle.with_stats("voltage", enabled=volt.enabled)
    pulse = bundle.pulse if bundle.pulse is not None else np.arange(bundle.n, dtype=np.int64)
    if bundle.v_dc is not None:  # from the tip state (synthapt.apt.hits)
        v_dc = bundle.v_dc
    else:
        span = max(int(pulse[-1] - pulse[0]), 1)
        progress = (pulse - pulse[0]).astype(np.float64) / span
        v_dc = (volt.v_dc_start + (volt.v_dc_end - volt.v_dc_start) * progress).astype(np.float32)
    v_pulse = v_dc * np.float32(volt.pulse_fraction)
    flight_path = params.resolved().detector.flight_path
    tof = time_of_flight(bundle.mass_to_charge, v_dc + v_pulse, flight_path)
    xy = bundle.detector_xy if bundle.detector_xy is not None else np.zeros((bundle.n, 2), np.float32)
    delta, ipp = pulse_counters(pulse)
    epos = {"tof": tof.astype(np.float32), "v_dc": v_dc,
            "v_pulse": v_pulse, "det_x": xy[:, 0].copy(),
            "det_y": xy[:, 1].copy(), "delta_pulse": delta, "ions_per_pulse": ipp}
    multi = int(np.count_nonzero(ipp > 1))
    return bundle.replace(epos=epos).with_stats(
        "voltage", v_dc_start=volt.v_dc_start, v_dc_end=volt.v_dc_end,
        pulse_fraction=volt.pulse_fraction, flight_path_mm=flight_path,
        events=int(np.count_nonzero(ipp)), multi_hit_events=multi)
