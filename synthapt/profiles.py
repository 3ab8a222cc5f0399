"""Composition profiles against an interface: proxigrams and the ground-truth profile.

Convention: signed distance in nm, positive inside the precipitate. Bins span the data (edges
are multiples of ``bin_width`` covering min..max distance), so nothing is clipped.
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
    distance = np.asarray(distance, dtype=np.float64)
    species = np.asarray(species)
    if distance.shape != species.shape:
        raise SynthaptError(f"profile: {distance.shape} distances but {species.shape} species")
    keep = np.isfinite(distance) & (species >= 0)
    d, s = distance[keep], species[keep].astype(np.int64)
    if d.size == 0:
        raise SynthaptError("profile: no ions with a finite distance and a known species")
    lo = np.floor(d.min() / bin_width)
    hi = np.floor(d.max() / bin_width) + 1
    edges = np.arange(lo, hi + 1) * bin_width
    index = np.clip(((d / bin_width) - lo).astype(np.int64), 0, len(edges) - 2)
    n_species = len(species_names)
    counts = np.bincount(index * n_species + s, minlength=(len(edges) - 1) * n_species)
    return Profile(edges, counts.reshape(len(edges) - 1, n_species), tuple(species_names))


def truth_profile(specimen: Specimen, bin_width: float = 0.2) -> Profile:
    """Ground-truth profile: every atom's species vs its exact signed distance to the geometry."""
    if specimen.geometry is None:
        raise SynthaptError("truth profile: the specimen has no geometry (true interface)")
    distance = specimen.geometry.signed_distance(specimen.positions)
    return profile_from_distance(distance, specimen.species, specimen.species_names, bin_width)
