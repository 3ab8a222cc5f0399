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


def profile_from_distance(distance: np.ndarray, species: np.ndarray,
                          species_names: tuple[str, ...], bin_width: float = 0.2) -> Profile:
    """Bin ions by signed distance (nm) and count each species per bin.

    distance: (N,) nm; species: (N,) int codes into ``species_names`` (negative codes, e.g.
    unranged or background ions, are not counted). Returns a ``Profile`` whose bins of width
    ``bin_width`` nm cover all finite distances.
    """
    if not bin_width > 0:
        raise SynthaptError(f"bin_width: must be > 0 nm, got {bin_width}")
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
    """Proxigram: element counts per signed-distance bin (nm, positive inside the precipitate) of
    the ions of ``dataset`` against ``mesh``. Molecular ions are decomposed into elements when the
    dataset has a range table; ``elements`` selects/orders the columns (default: all).

    method: "grid" (default) interpolates a signed-distance grid of ``spacing`` nm (exact near the
    surface, see ``mesh_distance_field``); "exact" computes every ion's point-triangle distance.
    """
    from synthapt.voxel import ion_elements

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
    """Write a profile as CSV: bin centre (nm), ions per bin, then at.% and its 1-sigma counting
    error for each element (empty fields for empty bins). Written atomically."""
    from synthapt.io.atomic import atomic_output

    conc, err = profile.concentration, profile.error
    header = ["distance_nm", "ions"] + [f"{e}_at_pct" for e in profile.species_names] + [
        f"{e}_err_at_pct" for e in profile.species_names]
    lines = [",".join(header)]
    for i, centre in enumerate(profile.centers):
        values = [f"{v:.4f}" if np.isfinite(v) else "" for v in (*conc[i], *err[i])]
        lines.append(",".join([f"{centre:.4f}", str(int(profile.totals[i])), *values]))
    with atomic_output(path, suffix=".csv") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def plateau(profile: Profile, lo: float | None, hi: float | None) -> dict[str, float]:
    """at.% of each element over the bins whose centres lie in [lo, hi] nm (None = open end),
    from the summed counts (NaN if those bins are empty)."""
    centers = profile.centers
    sel = np.ones(len(centers), bool)
    if lo is not None:
        sel &= centers >= lo
    if hi is not None:
        sel &= centers <= hi
    counts = profile.counts[sel].sum(axis=0)
    total = counts.sum()
    return {name: (100.0 * float(c) / float(total) if total else float("nan"))
            for name, c in zip(profile.species_names, counts)}


def proxigram_file(segmentation_path: Any, data_path: Any = None, ranges_path: Any = None,
                   bin_width: float = 0.2, progress: Any = None) -> Profile:
    """Proxigram of a segmentation file's mesh; the dataset (and range file) default to the
    paths recorded in it (relative paths are tried as given, then beside the segmentation file)."""
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
    dataset = load_dataset(data, ranges=locate(ranges_path, "ranges_path"))
    if dataset.n_ions != len(result.labels):
        raise SynthaptError(f"{data}: {dataset.n_ions} ions, but the segmentation labels "
                            f"{len(result.labels)}; not the segmented dataset")
    return proxigram(dataset, result.mesh, bin_width=bin_width, progress=progress)
