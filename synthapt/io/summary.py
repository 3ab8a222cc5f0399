"""What is in a data file: ion/atom counts, extent, mass-spectrum peaks, composition, truth.

``summarize(path, ranges=None) -> dict`` (JSON-ready) backs ``synthapt info``;
``summarize_segmentation(result, path)`` does the same for a segmentation result;
``format_summary(summary, max_peaks) -> list[str]`` renders either as text lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import find_peaks

from synthapt.data import EPOS_FIELDS, APTDataset, Specimen
from synthapt.io import RANGE_FORMATS, load_dataset, load_ranges
from synthapt.io.hdf5 import file_kind, read_specimen

PEAK_BIN_DA = 0.05
PEAK_SIGMA = 6.0
PEAK_PROMINENCE = 0.01
SHOWN_PEAKS = 20
"""Peaks ``format_summary`` lists by default (the largest; the rest are counted)."""
PEAK_RULE = (f"{PEAK_BIN_DA:g} Da bins; > {PEAK_SIGMA:g} Poisson sigma above the median background "
             f"and {100 * PEAK_PROMINENCE:g} % of the highest bin")


def mass_spectrum_peaks(mass_to_charge: np.ndarray, bin_width: float = PEAK_BIN_DA) -> list[tuple[float, int]]:
    """All peaks of the m/q histogram: [(centroid Da, ions within +-2 bins)], by position.

    A peak must rise above the background (median bin over the occupied m/q span, bg) by
    ``PEAK_SIGMA`` Poisson sigma (bin >= bg + 6 sqrt(bg + 1), and >= 10 ions) and stand out by
    ``PEAK_PROMINENCE`` (1 %) of the highest bin (scipy.signal.find_peaks prominence).
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
    idx, _ = find_peaks(padded, height=max(10.0, background + PEAK_SIGMA * np.sqrt(background + 1.0)),
                        prominence=max(5.0, PEAK_PROMINENCE * counts.max()))
    peaks = []
    for i in idx - 1:
        lo, hi = max(i - 2, 0), min(i + 3, len(counts))
        window = counts[lo:hi]
        centres = (np.arange(lo, hi) + 0.5) * bin_width
        peaks.append((float(np.dot(window, centres) / window.sum()), int(window.sum())))
    return peaks


def all_zero_epos_fields(epos: dict[str, np.ndarray] | None) -> list[str]:
    """Names of the ePOS fields whose values are all 0 (not recorded by the instrument/software)."""
    return [name for name in EPOS_FIELDS if epos and name in epos and len(epos[name])
            and not np.any(epos[name])]


def summarize_dataset(ds: APTDataset) -> dict[str, Any]:
    """Ion count, bounding box (nm), m/q span and peaks (Da), ion fractions (% of ranged ions),
    atomic fractions (at.%, molecular ions decomposed by the range table), ePOS fields, truth."""
    out: dict[str, Any] = {"kind": "dataset", "ions": ds.n_ions}
    if ds.n_ions:
        out["bounding_box_nm"] = [[float(a), float(b)] for a, b in
                                  zip(ds.positions.min(axis=0), ds.positions.max(axis=0))]
        out["mass_to_charge_da"] = [float(ds.mass_to_charge.min()), float(ds.mass_to_charge.max())]
    out["peaks_da"] = mass_spectrum_peaks(ds.mass_to_charge)
    out["peak_rule"] = PEAK_RULE
    if ds.species is not None:
        out["ion_fraction_percent"] = ds.composition()
        out["unranged_percent"] = 100.0 * float(np.mean(ds.species < 0)) if ds.n_ions else 0.0
        if ds.ranges is not None and ds.ranges.elements:
            atoms = ds.ranges.element_counts(ds.species).sum(axis=0)
            total = atoms.sum()
            out["atomic_percent"] = {el: 100.0 * float(n) / float(total) if total else float("nan")
                                     for el, n in zip(ds.ranges.elements, atoms)}
            out["molecular_ions"] = [ion for ion in ds.ranges.ion_names
                                     if sum(ds.ranges.ion_composition(ion).values()) > 1]
    out["epos_fields"] = [name for name in EPOS_FIELDS if ds.epos and name in ds.epos]
    out["epos_all_zero"] = all_zero_epos_fields(ds.epos)
    out["ground_truth"] = ds.truth is not None
    if ds.truth is not None and ds.n_ions:
        phases, counts = np.unique(ds.truth.phase, return_counts=True)
        out["truth_phase_percent"] = {int(p): 100.0 * float(c) / ds.n_ions for p, c in zip(phases, counts)}
    return out


def summarize_segmentation(result: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Summary of a segmentation result (``read_segmentation``): method, element(s) and why they
    were chosen, voxel size (nm), ions per phase, interface mesh area (nm^2), phase
    compositions (at.%), message, recorded source files."""
    labels = np.asarray(result.labels)
    phases, counts = np.unique(labels, return_counts=True)
    info = dict(result.phase_composition)
    return {
        "file": str(path), "kind": "segmentation", "method": result.method,
        "elements": list(result.elements), "element_choice": info.get("element_choice", ""),
        "voxel_size_nm": float(result.voxel_size), "grid_shape": [int(n) for n in np.shape(result.voxel_labels)],
        "ions": int(len(labels)), "ions_per_phase": {int(p): int(c) for p, c in zip(phases, counts)},
        "interface_found": result.mesh is not None,
        "mesh_area_nm2": None if result.mesh is None else float(result.mesh.area),
        "mesh_faces": 0 if result.mesh is None else int(len(result.mesh.faces)),
        "specimen_voxel_fraction": info.get("specimen_voxel_fraction"),
        "specimen_volume_nm3": info.get("specimen_volume_nm3"),
        "phase_composition_at_pct": {k: info[k] for k in ("matrix_at_pct", "precipitate_at_pct") if k in info},
        "message": result.message, "source": dict(result.source),
    }


def is_segmentation_file(path: str | os.PathLike) -> bool:
    """True for a synthapt HDF5 file of kind "segmentation"."""
    if Path(path).suffix.lower() not in (".h5", ".hdf5"):
        return False
    return file_kind(path) == "segmentation"


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


def _peak_lines(s: dict[str, Any], max_peaks: int) -> list[str]:
    peaks = s["peaks_da"]
    shown = peaks if max_peaks <= 0 or len(peaks) <= max_peaks else sorted(
        sorted(peaks, key=lambda p: -p[1])[:max_peaks])
    line = f"m/q peaks (Da; {s['peak_rule']}): " + (", ".join(f"{c:.2f} ({n})" for c, n in shown) or "none")
    lines = [line]
    if len(shown) < len(peaks):
        lines.append(f"  {len(peaks) - len(shown)} smaller peaks not shown; --peaks 0 lists all "
                     f"{len(peaks)}")
    return lines


def _segmentation_lines(s: dict[str, Any]) -> list[str]:
    lines = [f"method: {s['method']}, element(s): {'+'.join(s['elements'])}"
             + (f" ({s['element_choice']})" if s["element_choice"] else ""),
             f"voxel size: {s['voxel_size_nm']:g} nm, grid {' x '.join(map(str, s['grid_shape']))}"]
    per_phase = ", ".join(f"{PHASE_NAMES.get(p, f'phase {p}')} {n} ({100.0 * n / max(s['ions'], 1):.2f} %)"
                          for p, n in s["ions_per_phase"].items())
    lines.append(f"ions: {s['ions']} ({per_phase})")
    if s["interface_found"]:
        lines.append(f"interface mesh: {s['mesh_area_nm2']:.1f} nm^2, {s['mesh_faces']} triangles")
    else:
        lines.append(f"interface mesh: none ({s['message'] or 'no interface found'})")
    if s.get("specimen_volume_nm3") is not None:
        lines.append(f"specimen: {s['specimen_volume_nm3']:.0f} nm^3, "
                     f"{100 * s['specimen_voxel_fraction']:.1f} % of the grid's voxels (the mesh is clipped to it)")
    comp = s["phase_composition_at_pct"]
    if comp:
        lines.append(f"{'+'.join(s['elements'])} (at.%): " + ", ".join(
            f"{k.removesuffix('_at_pct')} {v:.2f}" for k, v in comp.items()))
    for key in ("dataset_path", "ranges_path"):
        if s["source"].get(key):
            lines.append(f"{key.replace('_path', '')} file: {s['source'][key]}")
    return lines


def format_summary(s: dict[str, Any], max_peaks: int = SHOWN_PEAKS) -> list[str]:
    """Human-readable lines of a ``summarize`` / ``summarize_segmentation`` result; at most
    ``max_peaks`` m/q peaks are listed (0: all), with a line saying how many are not shown."""
    lines = [f"file: {s['file']} ({s['kind']})"]
    if s["kind"] == "ranges":
        lines += [f"ranges: {s['ranges']}", f"ions: {', '.join(s['ions'])}",
                  f"elements: {', '.join(s['elements'])}"]
    elif s["kind"] == "segmentation":
        lines += _segmentation_lines(s)
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
        lines += _peak_lines(s, max_peaks)
        if "ion_fraction_percent" in s:
            lines.append(f"ion fraction (% of ranged ions): {_composition(s['ion_fraction_percent'])}; "
                         f"unranged {s['unranged_percent']:.2f} % of all ions")
            if "atomic_percent" in s:
                split = (f", molecular ions {', '.join(s['molecular_ions'])} decomposed"
                         if s["molecular_ions"] else "")
                lines.append(f"atomic fraction (at.%{split}): {_composition(s['atomic_percent'])}")
        else:
            lines.append("composition: not ranged (give --ranges FILE.rrng)")
        if s["epos_fields"]:
            lines.append(f"ePOS fields: {', '.join(s['epos_fields'])}")
        if s["epos_all_zero"]:
            lines.append(f"ePOS fields that are all zero (not recorded): {', '.join(s['epos_all_zero'])}")
        truth = "absent"
        if s["ground_truth"]:
            parts = [f"{PHASE_NAMES.get(p, f'phase {p}')} {v:.2f} %" for p, v in s.get("truth_phase_percent", {}).items()]
            truth = "present" + (f" (ions by true phase: {', '.join(parts)})" if parts else "")
        lines.append(f"ground truth: {truth}")
    return lines
