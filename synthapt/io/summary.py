"""What is in a data file: ion/atom counts, extent, mass-spectrum peaks, composition, truth.

``summarize(path, ranges=None) -> dict`` (JSON-ready) backs ``synthapt info``;
``format_summary(summary) -> list[str]`` renders it as text lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import find_peaks

from synthapt.data import APTDataset, Specimen
from synthapt.io import RANGE_FORMATS, load_dataset, load_ranges
from synthapt.io.hdf5 import file_kind, read_specimen

PEAK_BIN_DA = 0.05
MAX_PEAKS = 8


def mass_spectrum_peaks(mass_to_charge: np.ndarray, bin_width: float = PEAK_BIN_DA,
                        max_peaks: int = MAX_PEAKS) -> list[tuple[float, int]]:
    """Main peaks of the m/q histogram: [(centroid Da, ions within +-2 bins)], by position.

    A peak must rise above the background (median bin over the occupied m/q span, bg) by
    6 Poisson sigma (bin >= bg + 6 sqrt(bg + 1)) and stand out by 1 % of the highest bin
    (scipy.signal.find_peaks prominence); the ``max_peaks`` highest are kept.
    """
    mq = np.asarray(mass_to_charge)
    if mq.size == 0:
        return []
    top = float(mq.max())
    n_bins = int(top / bin_width) + 2
    counts = np.bincount((np.clip(mq, 0, None) / bin_width).astype(np.int64), minlength=n_bins)
    padded = np.r_[0, counts, 0]  # so that peaks in the first/last bin are found too
    first = int(np.clip(mq, 0, None).min() / bin_width)
    background = float(np.median(counts[first:]))
    idx, _ = find_peaks(padded, height=max(10.0, background + 6.0 * np.sqrt(background + 1.0)),
                        prominence=max(5.0, 0.01 * counts.max()))
    idx = idx - 1
    idx = idx[np.argsort(counts[idx])[::-1][:max_peaks]]
    peaks = []
    for i in sorted(idx):
        lo, hi = max(i - 2, 0), min(i + 3, len(counts))
        window = counts[lo:hi]
        centres = (np.arange(lo, hi) + 0.5) * bin_width
        peaks.append((float(np.dot(window, centres) / window.sum()), int(window.sum())))
    return peaks


def summarize_dataset(ds: APTDataset) -> dict[str, Any]:
    """Ion count, bounding box (nm), m/q span and peaks (Da), compositions (at.%), truth."""
    out: dict[str, Any] = {"kind": "dataset", "ions": ds.n_ions}
    if ds.n_ions:
        out["bounding_box_nm"] = [[float(a), float(b)] for a, b in
                                  zip(ds.positions.min(axis=0), ds.positions.max(axis=0))]
        out["mass_to_charge_da"] = [float(ds.mass_to_charge.min()), float(ds.mass_to_charge.max())]
    out["peaks_da"] = mass_spectrum_peaks(ds.mass_to_charge)
    if ds.species is not None:
        out["ion_composition"] = ds.composition()
        out["unranged_percent"] = 100.0 * float(np.mean(ds.species < 0)) if ds.n_ions else 0.0
        if ds.ranges is not None and ds.ranges.elements:
            atoms = ds.ranges.element_counts(ds.species).sum(axis=0)
            total = atoms.sum()
            out["element_composition"] = {el: 100.0 * float(n) / float(total) if total else float("nan")
                                          for el, n in zip(ds.ranges.elements, atoms)}
    out["epos_fields"] = sorted(ds.epos) if ds.epos else []
    out["ground_truth"] = ds.truth is not None
    if ds.truth is not None and ds.n_ions:
        phases, counts = np.unique(ds.truth.phase, return_counts=True)
        out["truth_phase_percent"] = {int(p): 100.0 * float(c) / ds.n_ions for p, c in zip(phases, counts)}
    return out


def summarize_specimen(sp: Specimen) -> dict[str, Any]:
    """Atom count, box (nm), composition (at.%) overall and per phase, geometry kind."""
    phases = sorted(int(p) for p in np.unique(sp.phase))
    return {
        "kind": "specimen", "atoms": sp.n_atoms, "box_nm": [float(b) for b in sp.box],
        "composition": sp.composition(),
        "phases": {p: {"atoms": int(np.count_nonzero(sp.phase == p)), "composition": sp.composition(p)}
                   for p in phases},
        "geometry": None if sp.geometry is None else getattr(sp.geometry, "kind", type(sp.geometry).__name__),
    }


def summarize(path: str | os.PathLike, ranges: Any = None) -> dict[str, Any]:
    """Summary of a dataset (.h5/.pos/.epos/.apt), specimen (.h5) or range (.rrng/.rng) file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in RANGE_FORMATS:
        table = load_ranges(p)
        out = {"kind": "ranges", "ranges": len(table.ranges), "ions": list(table.ion_names),
               "elements": list(table.elements)}
    elif suffix in (".h5", ".hdf5"):
        if file_kind(p) == "specimen":
            out = summarize_specimen(read_specimen(p))
        else:
            out = summarize_dataset(load_dataset(p, ranges))
    else:
        out = summarize_dataset(load_dataset(p, ranges))
    return {"file": str(p), **out}


def _composition(comp: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in comp.items())


PHASE_NAMES = {0: "matrix", 1: "precipitate", -1: "background"}


def format_summary(s: dict[str, Any]) -> list[str]:
    """Human-readable lines of a ``summarize`` result."""
    lines = [f"file: {s['file']} ({s['kind']})"]
    if s["kind"] == "ranges":
        lines += [f"ranges: {s['ranges']}", f"ions: {', '.join(s['ions'])}",
                  f"elements: {', '.join(s['elements'])}"]
    elif s["kind"] == "specimen":
        lines += [f"atoms: {s['atoms']}", "box (nm): " + " x ".join(f"{b:.3f}" for b in s["box_nm"]),
                  f"composition (at.%): {_composition(s['composition'])}"]
        for phase, info in s["phases"].items():
            lines.append(f"  phase {phase} ({PHASE_NAMES.get(phase, 'phase')}): {info['atoms']} atoms, "
                         f"{_composition(info['composition'])}")
        lines.append(f"geometry: {s['geometry'] or 'none'}")
    else:
        lines.append(f"ions: {s['ions']}")
        if "bounding_box_nm" in s:
            lines.append("bounding box (nm): " + "  ".join(
                f"{ax} [{lo:.2f}, {hi:.2f}]" for ax, (lo, hi) in zip("xyz", s["bounding_box_nm"])))
            lo, hi = s["mass_to_charge_da"]
            lines.append(f"mass-to-charge (Da): [{lo:.3f}, {hi:.3f}]")
        lines.append("main m/q peaks (Da): " + (", ".join(f"{c:.2f} ({n})" for c, n in s["peaks_da"]) or "none"))
        if "ion_composition" in s:
            lines.append(f"ion composition (at.% of ranged ions): {_composition(s['ion_composition'])}; "
                         f"unranged {s['unranged_percent']:.2f} %")
            if "element_composition" in s:
                lines.append(f"element composition (at.%): {_composition(s['element_composition'])}")
        else:
            lines.append("composition: not ranged (give --ranges FILE.rrng)")
        if s["epos_fields"]:
            lines.append(f"ePOS fields: {', '.join(s['epos_fields'])}")
        truth = "absent"
        if s["ground_truth"]:
            parts = [f"{PHASE_NAMES.get(p, f'phase {p}')} {v:.2f} %" for p, v in s.get("truth_phase_percent", {}).items()]
            truth = "present" + (f" (ions by true phase: {', '.join(parts)})" if parts else "")
        lines.append(f"ground truth: {truth}")
    return lines
