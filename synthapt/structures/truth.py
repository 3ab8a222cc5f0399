"""Composition profile binning and the ground-truth profile of a specimen (every atom's species
against its exact signed distance to the specimen's geometry, nm, positive inside the precipitate).

Bins span the data (edges are multiples of ``bin_width`` covering min..max distance), so nothing
is clipped.
"""

from __future__ import annotations

import numpy as np

from synthapt.data import Profile, Specimen
from synthapt.errors import SynthaptError

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
