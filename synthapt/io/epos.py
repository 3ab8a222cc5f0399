"""ePOS files: 11 big-endian 4-byte values per ion, no header.

Columns: x, y, z (nm), m/q (Da), TOF (ns), DC voltage (V), pulse voltage (V), detector x, y (mm)
as float32, then pulses since the previous detected event ("delta pulse") and ions in this
multi-hit event ("ions per pulse", non-zero on the first ion of an event) as uint32.
The extra columns go to ``APTDataset.epos`` (keys ``synthapt.data.EPOS_FIELDS``); the absolute
pulse number is ``pulse = cumsum(delta_pulse)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.data import EPOS_FIELDS, APTDataset
from synthapt.errors import FormatError
from synthapt.io.pos import check_not_empty, check_plausible, read_fields, write_records

EPOS_COLUMNS = 11
FLOAT_FIELDS = EPOS_FIELDS[:5]  # tof, v_dc, v_pulse, det_x, det_y
UINT_FIELDS = EPOS_FIELDS[5:]  # delta_pulse, ions_per_pulse
EPOS_DTYPE = np.dtype([("xyz", ">f4", (3,)), ("mass_to_charge", ">f4")]
                      + [(name, ">f4") for name in FLOAT_FIELDS] + [(name, ">u4") for name in UINT_FIELDS])
"""Structured big-endian record of one ePOS ion (44 bytes)."""


def read_epos(path: str | os.PathLike) -> APTDataset:
    """Read an ePOS file -> APTDataset with positions, m/q, ``epos`` fields and ``pulse``."""
    p = Path(path)
    fields, stats = read_fields(p, EPOS_DTYPE, "ePOS")
    check_plausible(p, fields["xyz"], fields["mass_to_charge"], "ePOS", (stats["xyz"], stats["mass_to_charge"]))
    positions, mass_to_charge = fields.pop("xyz"), fields.pop("mass_to_charge")
    epos = {name: fields[name] for name in EPOS_FIELDS}
    pulse = np.cumsum(epos["delta_pulse"], dtype=np.int64)
    return APTDataset(positions=positions, mass_to_charge=mass_to_charge, epos=epos, pulse=pulse,
                      metadata={"source_file": p.name, "source_format": "ePOS"})


def epos_fields_of(dataset: APTDataset) -> dict[str, np.ndarray]:
    """All ePOS fields of ``dataset``; missing ones derived from ``pulse`` or set to defaults.

    Without ePOS data: TOF/voltages/detector positions are 0; delta pulse and ions per pulse
    come from ``pulse`` if present, else every ion is its own single-hit event (1, 1).
    """
    n = dataset.n_ions
    have = dict(dataset.epos or {})
    fields: dict[str, np.ndarray] = {}
    for name in FLOAT_FIELDS:
        fields[name] = np.asarray(have[name], dtype=np.float32) if name in have else np.zeros(n, np.float32)
    if dataset.pulse is not None and ("delta_pulse" not in have or "ions_per_pulse" not in have):
        pulse = dataset.pulse
        delta = np.diff(pulse, prepend=np.int64(0))
        if n and delta.min() < 0:
            raise FormatError("dataset pulse numbers decrease; cannot derive ePOS delta pulse")
        starts = np.flatnonzero(np.r_[True, delta[1:] != 0]) if n else np.zeros(0, np.int64)
        per_pulse = np.zeros(n, np.uint32)
        per_pulse[starts] = np.diff(np.r_[starts, n])
        derived = {"delta_pulse": delta, "ions_per_pulse": per_pulse}
    else:
        derived = {"delta_pulse": np.ones(n, np.uint32), "ions_per_pulse": np.ones(n, np.uint32)}
    for name in UINT_FIELDS:
        value = have.get(name, derived[name])
        arr = np.asarray(value)
        if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(np.uint32).max):
            raise FormatError(f"ePOS field {name}: values outside the uint32 range")
        fields[name] = arr.astype(np.uint32)
    return fields


def write_epos(path: str | os.PathLike, dataset: APTDataset) -> None:
    """Write ``dataset`` as ePOS (big-endian); missing ePOS fields via ``epos_fields_of``."""
    check_not_empty(path, dataset)
    fields = epos_fields_of(dataset)
    fields.update(xyz=dataset.positions, mass_to_charge=dataset.mass_to_charge)
    write_records(path, EPOS_DTYPE, fields, dataset.n_ions)
