"""Small ground-truth specimens built directly from numpy (tests, benchmarks, examples).

``lattice_specimen`` fills an orthorhombic box with an fcc lattice and draws each atom's species
at random from the composition of its phase (matrix, or precipitate where ``geometry`` says so).
It is a random solid solution, not a relaxed MD structure (``synthapt.md`` makes those).
"""

from __future__ import annotations

import numpy as np

from synthapt.data import MATRIX, PRECIPITATE, Specimen
from synthapt.errors import ConfigError

FCC_BASIS = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])


def fcc_positions(cells: tuple[int, int, int], lattice: float) -> np.ndarray:
    """(4 nx ny nz, 3) float64 fcc site positions in nm for ``cells`` unit cells of edge ``lattice``."""
    grid = np.stack(np.meshgrid(*(np.arange(c) for c in cells), indexing="ij"), axis=-1).reshape(-1, 1, 3)
    return ((grid + FCC_BASIS[None]) * lattice).reshape(-1, 3)


def lattice_specimen(cells: tuple[int, int, int], species_names: tuple[str, ...] = ("Ni", "Al"),
                     matrix_fractions: tuple[float, ...] = (0.9, 0.1),
                     precipitate_fractions: tuple[float, ...] | None = (0.75, 0.25),
                     geometry=None, lattice: float = 0.352, seed: int = 0) -> Specimen:
    """An fcc random-solid-solution Specimen of ``cells`` unit cells (lattice parameter in nm).

    Atoms where ``geometry.signed_distance > 0`` are precipitate and draw their species from
    ``precipitate_fractions`` (None: same as the matrix); the others from ``matrix_fractions``
    (fractions sum to 1).
    """
    if precipitate_fractions is None or geometry is None:
        precipitate_fractions = matrix_fractions
    for label, fr in (("matrix_fractions", matrix_fractions), ("precipitate_fractions", precipitate_fractions)):
        if len(fr) != len(species_names) or abs(sum(fr) - 1.0) > 1e-9 or min(fr) < 0:
            raise ConfigError(f"{label}: need {len(species_names)} non-negative fractions summing to 1")
    rng = np.random.default_rng(seed)
    positions = fcc_positions(cells, lattice)
    phase = np.full(len(positions), MATRIX, dtype=np.int8)
    if geometry is not None:
        phase[geometry.signed_distance(positions) > 0] = PRECIPITATE
    species = np.where(phase == PRECIPITATE,
                       rng.choice(len(species_names), len(positions), p=precipitate_fractions),
                       rng.choice(len(species_names), len(positions), p=matrix_fractions))
    box = np.array(cells, dtype=np.float64) * lattice
    return Specimen(positions=positions, species=species.astype(np.int16), species_names=species_names,
                    phase=phase, box=box, geometry=geometry,
                    provenance={"builder": "synthapt.apt.specimens.lattice_specimen", "seed": seed,
                                "cells": list(cells), "lattice_nm": lattice})
