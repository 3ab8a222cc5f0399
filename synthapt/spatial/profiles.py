"""Composition profiles against an interface mesh: proxigrams, profile CSV, plateau compositions
(the one definition of the plateau window, shared by ``synthapt proxigram --plateau`` and scoring).

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
from synthapt.spatial.distance_grid import grid_distance
from synthapt.spatial.mesh_distance import signed_distance_to_mesh
from synthapt.spatial.voxel import ion_elements
from synthapt.structures.truth import check_bin_width, profile_from_distance

DEFAULT_PLATEAU = (1.5, 5.0)
"""Plateau window (MIN, MAX) nm: bins with MIN <= |d| <= MAX on each side of the interface."""


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
    check_bin_width(bin_width)
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
    """Write a profile as CSV: bin centre (nm), atoms per bin (molecular ions decomposed, as
    counted by ``proxigram``), then at.% and its 1-sigma counting error for each element (empty
    fields for empty bins). Written atomically."""
    conc, err = profile.concentration, profile.error
    header = ["distance_nm", "atoms"] + [f"{e}_at_pct" for e in profile.species_names] + [
        f"{e}_err_at_pct" for e in profile.species_names]
    lines = [",".join(header)]
    for i, centre in enumerate(profile.centers):
        values = [f"{v:.4f}" if np.isfinite(v) else "" for v in (*conc[i], *err[i])]
        lines.append(",".join([f"{centre:.4f}", str(int(profile.totals[i])), *values]))
    with atomic_output(path, suffix=".csv") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


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
