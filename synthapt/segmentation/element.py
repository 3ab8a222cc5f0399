"""Which element to image: the one that partitions most between the phases, measured against
counting noise; never a trace element unless asked for.

``choose_element(counts, elements, requested)`` is a pure function of per-block atom counts;
``block_counts`` sums a voxel grid's raw counts into blocks of about ``BLOCK_NM``.
"""

from __future__ import annotations

import numpy as np

from synthapt.errors import SynthaptError

TRACE_AT_PCT = 0.5
"""Elements below this overall fraction (at.%) are trace elements: chosen only when asked for."""
MIN_BLOCK_ATOMS = 5
"""Blocks with fewer atoms (outside or at the rim of the specimen) are left out."""
BLOCK_NM = 1.0
"""Edge of the blocks ``block_counts`` sums voxels into, nm (at least one voxel)."""


def match_elements(requested: str | tuple[str, ...] | list[str], available: tuple[str, ...]) -> tuple[str, ...]:
    """``requested`` names spelled as in ``available``, ignoring letter case ("ni" -> "Ni");
    raises SynthaptError naming the unknown ones and the available elements."""
    wanted = [requested] if isinstance(requested, str) else list(requested)
    lookup = {name.lower(): name for name in available}
    missing = [name for name in wanted if name.strip().lower() not in lookup]
    if missing or not wanted:
        raise SynthaptError(f"element {', '.join(missing) or '(none)'}: not among the dataset's elements "
                            f"{', '.join(available)} (any letter case)")
    return tuple(lookup[name.strip().lower()] for name in wanted)


def block_counts(counts: np.ndarray, voxel_size: float, block_nm: float = BLOCK_NM) -> np.ndarray:
    """(E, B) atoms per element in blocks of k x k x k voxels (k = round(block_nm / voxel_size),
    at least 1) of (E, nx, ny, nz) raw counts; partial blocks at the far faces are kept."""
    k = max(1, int(round(block_nm / voxel_size)))
    blocks = np.asarray(counts)
    for axis in (1, 2, 3):  # sum every k-th voxel slab along each axis (no padded copy)
        take = [slice(None)] * 4
        take[axis] = slice(0, None, k)
        summed = blocks[tuple(take)].copy()
        for offset in range(1, k):
            take[axis] = slice(offset, None, k)
            part = blocks[tuple(take)]
            head = [slice(None)] * 4
            head[axis] = slice(0, part.shape[axis])
            summed[tuple(head)] += part
        blocks = summed
    return blocks.reshape(blocks.shape[0], -1).astype(np.float64)


def contrast_over_noise(part: np.ndarray, total: np.ndarray) -> tuple[float, float, float]:
    """(ratio, contrast at.%, noise at.%) of one element (or sum of elements) over blocks.

    part, total: (B,) atoms of the element(s) and of all elements per block. contrast: the
    standard deviation of the block concentrations beyond counting noise,
    sqrt(max(var_observed - noise^2, 0)), with var_observed weighted by atoms; noise: the
    binomial counting noise of one block, sqrt(c (1 - c) / mean atoms per block), c the overall
    fraction (the model of ``synthapt.segmentation.regions.concentration_noise``). In a uniform solid
    solution the ratio is ~0 for every element; a partitioning element has ratio >> 0.
    """
    keep = total >= MIN_BLOCK_ATOMS
    part, total = part[keep].astype(np.float64), total[keep].astype(np.float64)
    atoms = total.sum()
    if atoms <= 0:
        return 0.0, 0.0, 0.0
    c = part.sum() / atoms
    noise_var = c * (1.0 - c) * len(total) / atoms
    if noise_var <= 0:
        return 0.0, 0.0, 0.0
    observed = float(np.sum(total * (part / total - c) ** 2) / atoms)
    contrast = float(np.sqrt(max(observed - noise_var, 0.0)))
    return contrast / float(np.sqrt(noise_var)), 100.0 * contrast, 100.0 * float(np.sqrt(noise_var))


def choose_element(counts: np.ndarray, elements: tuple[str, ...], requested: tuple[str, ...] = (),
                   trace_at_pct: float = TRACE_AT_PCT) -> tuple[tuple[str, ...], float, str]:
    """The element(s) to image, their partitioning contrast over counting noise, and why.

    counts: (E, B) atoms of each of ``elements`` per block (voxels or groups of voxels).
    requested: element names (any letter case; several are imaged as their sum); empty = choose
    the non-trace element (overall >= ``trace_at_pct`` at.%) with the largest
    ``contrast_over_noise``; ties (a binary alloy) go to the less abundant element.
    Returns (element names as spelled in ``elements``, ratio, one-line reason).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != len(elements):
        raise SynthaptError(f"element choice: counts of shape {counts.shape} do not match "
                            f"{len(elements)} elements")
    total = counts.sum(axis=0)
    overall = 100.0 * counts.sum(axis=1) / max(float(total.sum()), 1.0)
    if requested:
        names = match_elements(tuple(requested), elements)
        idx = [elements.index(n) for n in names]
        if counts[idx].sum() == 0:
            raise SynthaptError(f"element {'+'.join(names)}: no atoms of it in the dataset")
        ratio, contrast, noise = contrast_over_noise(counts[idx].sum(axis=0), total)
        return names, ratio, (f"given; contrast {contrast:.2f} at.% = {ratio:.2f} x the counting noise "
                              f"({noise:.2f} at.% per block)")
    if not elements or total.sum() == 0:
        raise SynthaptError("element choice: the dataset has no ranged atoms")
    candidates = [i for i in range(len(elements)) if overall[i] >= trace_at_pct]
    scores = {i: contrast_over_noise(counts[i], total) for i in candidates}
    ranked = sorted(candidates, key=lambda i: (-round(scores[i][0], 6), overall[i]))
    best = ranked[0]
    ratio, contrast, noise = scores[best]
    reason = (f"largest partitioning contrast: {contrast:.2f} at.% = {ratio:.2f} x the counting noise "
              f"({noise:.2f} at.% per block)")
    others = [f"{elements[i]} {scores[i][0]:.2f} x" for i in ranked[1:]]
    if others:
        reason += f"; others: {', '.join(others)}"
    trace = [elements[i] for i in range(len(elements)) if i not in scores and overall[i] > 0]
    if trace:
        reason += f"; trace (< {trace_at_pct:g} at.%, not considered): {', '.join(trace)}"
    return (elements[best],), ratio, reason
