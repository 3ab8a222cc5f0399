"""Composition profiles against an interface: proxigrams and the ground-truth profile.

Convention: signed distance in nm, positive inside the precipitate. Bins span the data (edges
are multiples of ``bin_width`` covering min..max distance), so nothing is clipped.
The point-to-mesh signed distances live in ``synthapt.mesh_distance`` (importable from here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.data import APTDataset, Profile, Specimen
from synthapt.errors import SynthaptError
from synthapt.mesh_distance import (MeshDistance, _grid_distance, closest_point_on_triangles,
                                     mesh_distance_field, signed_distance_grid, signed_distance_to_mesh)


def check_bin_width(bin_width: float, where: str = "bin_width") -> float:
    """``bin_width`` (nm) as a float; SynthaptError naming ``where`` unless finite and > 0."""
    try:
        value = float(bin_width)
    except (TypeError, ValueError):
        raise SynthaptError(f"{where}: expected a number of nm, got {bin_width!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise SynthaptError(f"{where}: must be a finite bin width > 0 nm, got {bin_width!r}")
    return value


def profile_from_distance(distance: np.ndarray, species: np.ndarray,
                          species_names: tuple[str, ...], bin_width: float = 0.2) -> Profile:
    """Bin ions by signed distance (nm) and count each species per bin.

    distance: (N,) nm; species: (N,) int codes into ``species_names`` (negative codes, e.g.
    unranged or background ions, are not counted). Returns a ``Profile`` whose bins of width
    ``bin_width`` nm cover all finite distances.
    """
    check_bin_width(bin_width)
    distance = np.asarray(distance)
    if distance.dtype.kind not in "fiu":
        distance = distance.astype(np.float64)
    species = np.asarray(species)
    if distance.shape != species.shape:
        raise SynthaptError(f"profile: {distance.shape} distances but {species.shape} species")
    distance, species = distance.ravel(), species.ravel()
    lo, hi = np.inf, -np.inf
    for start in range(0, distance.size, _CHUNK):
        d = distance[start:start + _CHUNK].astype(np.float64)
        d = d[np.isfinite(d) & (species[start:start + _CHUNK] >= 0)]
        if d.size:
            lo, hi = min(lo, float(d.min())), max(hi, float(d.max()))
    if lo > hi:
        raise SynthaptError("profile: no ions with a finite distance and a known species")
    first = np.floor(lo / bin_width)
    edges = np.arange(first, np.floor(hi / bin_width) + 2) * bin_width
    n_bins, n_species = len(edges) - 1, len(species_names)
    counts = np.zeros(n_bins * n_species, dtype=np.int64)
    for start in range(0, distance.size, _CHUNK):
        d, s = distance[start:start + _CHUNK].astype(np.float64), species[start:start + _CHUNK]
        keep = np.isfinite(d) & (s >= 0)
        if not keep.all():
            d, s = d[keep], s[keep]
        index = np.clip(((d / bin_width) - first).astype(np.int64), 0, n_bins - 1)
        index *= n_species
        index += s
        counts += np.bincount(index, minlength=n_bins * n_species)
    return Profile(edges, counts.reshape(n_bins, n_species), tuple(species_names))


_CHUNK = 1 << 20  # ions per chunk of the per-ion passes (keeps temporaries in cache-sized pieces)


def truth_profile(specimen: Specimen, bin_width: float = 0.2) -> Profile:
    """Ground-truth profile: every atom's species vs its exact signed distance to the geometry."""
    if specimen.geometry is None:
        raise SynthaptError("truth profile: the specimen has no geometry (true interface)")
    distance = specimen.geometry.signed_distance(specimen.positions)
    return profile_from_distance(distance, specimen.species, specimen.species_names, bin_width)


def proxigram(dataset: APTDataset, mesh: Any, elements: tuple[str, ...] | None = None,
              bin_width: float = 0.2, method: str = "grid", spacing: float = 0.5,
              workers: int = 2, progress: Any = None) -> Profile:
    """Proxigram: atom counts per element and signed-distance bin (nm, positive inside the
    precipitate) of the ions of ``dataset`` against ``mesh``. Molecular ions are decomposed into
    their atoms when the dataset has a range table (without one, each ion counts as one atom of
    its species); ``elements`` selects/orders the columns (default: all).

    method: "grid" (default) interpolates a signed-distance grid of ``spacing`` nm (exact near the
    surface, see ``mesh_distance_field``); "exact" computes every ion's point-triangle distance.
    """
    from synthapt.voxel import ion_elements

    check_bin_width(bin_width)
    if mesh is None:
        raise SynthaptError("proxigram: no interface mesh (the segmentation found no interface)")
    if method not in ("grid", "exact"):
        raise SynthaptError(f"proxigram method: {method!r} is not 'grid' or 'exact'")
    names, table = ion_elements(dataset)
    if method == "exact":
        distance = signed_distance_to_mesh(dataset.positions, mesh, workers=workers, progress=progress)
    else:
        distance = _grid_distance(dataset.positions, mesh, spacing, 1.5, workers)
        if progress is not None:
            progress(dataset.n_ions, dataset.n_ions)
    species = np.asarray(dataset.species)  # int codes; binned in chunks (no int64 copy)
    if np.array_equal(table, np.eye(len(names), dtype=table.dtype)):
        profile = profile_from_distance(distance, species, names, bin_width)
    else:
        profile = _element_profile(distance, species, table, names, bin_width)
    if elements is None:
        return profile
    cols = [profile.column(e) for e in elements]
    return Profile(profile.edges, profile.counts[:, cols], tuple(elements))


def _element_profile(distance: np.ndarray, species: np.ndarray, table: np.ndarray,
                     names: tuple[str, ...], bin_width: float) -> Profile:
    """Profile of element atoms: per-species profile multiplied by the (S, E) element table."""
    per_species = profile_from_distance(distance, species, tuple(str(i) for i in range(len(table))),
                                        bin_width)
    return Profile(per_species.edges, per_species.counts @ table, names)


def write_profile_csv(path: Any, profile: Profile) -> None:
    """Write a profile as CSV: bin centre (nm), atoms per bin (molecular ions decomposed, as
    counted by ``proxigram``), then at.% and its 1-sigma counting error for each element (empty
    fields for empty bins). Written atomically."""
    from synthapt.io.atomic import atomic_output

    conc, err = profile.concentration, profile.error
    header = ["distance_nm", "atoms"] + [f"{e}_at_pct" for e in profile.species_names] + [
        f"{e}_err_at_pct" for e in profile.species_names]
    lines = [",".join(header)]
    for i, centre in enumerate(profile.centers):
        values = [f"{v:.4f}" if np.isfinite(v) else "" for v in (*conc[i], *err[i])]
        lines.append(",".join([f"{centre:.4f}", str(int(profile.totals[i])), *values]))
    with atomic_output(path, suffix=".csv") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


DEFAULT_PLATEAU = (1.5, 5.0)
"""Plateau window (MIN, MAX) nm: bins with MIN <= |d| <= MAX on each side of the interface."""


def check_plateau(window: Any, where: str = "plateau") -> tuple[float, float]:
    """``window`` as (MIN, MAX) nm floats; SynthaptError naming ``where`` unless it is two finite
    numbers with 0 <= MIN < MAX."""
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise SynthaptError(f"{where}: expected two numbers MIN MAX (nm), got {window!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo < hi):
        raise SynthaptError(f"{where}: MIN MAX must be finite distances (nm) with 0 <= MIN < MAX, "
                            f"got {lo:g} {hi:g}")
    return lo, hi


def plateau_composition(profile: Profile, window: Any = DEFAULT_PLATEAU) -> dict[str, dict[str, float]]:
    """Plateau compositions: at.% of each element over the bins whose centres lie within the
    plateau window MIN <= |d| <= MAX nm (``check_plateau``), from the summed counts.

    Returns {"precipitate": {El: at.%}, "matrix": {El: at.%}} (d > 0 precipitate side);
    NaN where a side has no ions. The one definition used by ``synthapt proxigram --plateau``
    and by scoring (``ScoreParams.plateau``).
    """
    lo, hi = check_plateau(window)
    c = profile.centers
    out = {}
    for phase, side in (("precipitate", (c >= lo) & (c <= hi)), ("matrix", (c <= -lo) & (c >= -hi))):
        counts = profile.counts[side].sum(axis=0)
        total = counts.sum()
        out[phase] = {name: (100.0 * float(n) / total if total else float("nan"))
                      for name, n in zip(profile.species_names, counts)}
    return out


def proxigram_inputs(segmentation_path: Any, data_path: Any = None,
                     ranges_path: Any = None) -> tuple[APTDataset, Any]:
    """(dataset, interface mesh) of a segmentation file; the dataset (and range file) default to
    the paths recorded in it (relative paths are tried as given, then beside the segmentation
    file). A recorded file that is gone raises an error naming it and the option overriding it."""
    from pathlib import Path

    from synthapt.io import load_dataset
    from synthapt.segment import read_segmentation

    result = read_segmentation(segmentation_path)
    if result.mesh is None:
        raise SynthaptError(f"{segmentation_path}: {result.message or 'no interface mesh'}")

    def locate(given: Any, key: str) -> Path | None:
        if given is not None:
            return Path(given)
        recorded = result.source.get(key)
        if recorded is None:
            return None
        p = Path(recorded)
        if not p.is_absolute() and not p.exists():
            beside = Path(segmentation_path).parent / p.name
            if beside.exists():
                return beside
        return p

    data = locate(data_path, "dataset_path")
    if data is None:
        raise SynthaptError(f"{segmentation_path}: no dataset recorded; give --data")
    ranges = locate(ranges_path, "ranges_path")
    for given, found, what, option in ((data_path, data, "dataset", "--data"),
                                       (ranges_path, ranges, "range file", "--ranges")):
        if given is None and found is not None and not found.exists():
            raise SynthaptError(f"{segmentation_path}: the recorded {what} {found} is not found (moved?); "
                                f"{option} FILE overrides it")
    dataset = load_dataset(data, ranges=ranges)
    if dataset.species is None:
        raise SynthaptError(f"{data}: the dataset is not ranged; pass --ranges FILE.rrng")
    if dataset.n_ions != len(result.labels):
        raise SynthaptError(f"{data}: {dataset.n_ions} ions, but the segmentation labels "
                            f"{len(result.labels)}; not the segmented dataset")
    return dataset, result.mesh


def proxigram_file(segmentation_path: Any, data_path: Any = None, ranges_path: Any = None,
                   bin_width: float = 0.2, progress: Any = None) -> Profile:
    """Proxigram of a segmentation file's mesh (inputs as ``proxigram_inputs``)."""
    check_bin_width(bin_width)
    dataset, mesh = proxigram_inputs(segmentation_path, data_path, ranges_path)
    return proxigram(dataset, mesh, bin_width=bin_width, progress=progress)
