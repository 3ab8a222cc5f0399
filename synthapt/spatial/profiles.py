"""Composition profiles against an interface mesh: proxigrams, profile CSV, plateau compositions.

Convention: signed distance in nm, positive inside the precipitate. Bins span the data (edges
are multiples of ``bin_width`` covering min..max distance), so nothing is clipped.
The point-to-mesh signed distances live in ``synthapt.spatial.mesh_distance``; the binning
(``profile_from_distance``) and the ground-truth profile in ``synthapt.structures.truth``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthapt.data import APTDataset, Profile
from synthapt.errors import SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.spatial.mesh_distance import grid_distance, signed_distance_to_mesh
from synthapt.spatial.voxel import ion_elements
from synthapt.structures.truth import profile_from_distance


def proxigram(dataset: APTDataset, mesh: Any, elements: tuple[str, ...] | None = None,
              bin_width: float = 0.2, method: str = "grid", spacing: float = 0.5,
              workers: int = 2, progress: Any = None) -> Profile:
    """Proxigram: element counts per signed-distance bin (nm, positive inside the precipitate) of
    the ions of ``dataset`` against ``mesh``. Molecular ions are decomposed into elements when the
    dataset has a range table; ``elements`` selects/orders the columns (default: all).

    method: "grid" (default) interpolates a signed-distance grid of ``spacing`` nm (exact near the
    surface, see ``mesh_distance_field``); "exact" computes every ion's point-triangle distance.
    """
    if mesh is None:
        raise SynthaptError("proxigram: no interface mesh (the segmentation found no interface)")
    if method not in ("grid", "exact"):
        raise SynthaptError(f"proxigram method: {method!r} is not 'grid' or 'exact'")
    names, table = ion_elements(dataset)
    if method == "exact":
        distance = signed_distance_to_mesh(dataset.positions, mesh, workers=workers, progress=progress)
    else:
        distance = grid_distance(dataset.positions, mesh, spacing, 1.5, workers)
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
