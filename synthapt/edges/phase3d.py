"""A compact 3-D network that gives the probability of precipitate at every voxel
(``learned-phase``), trained on synthetic atom-probe concentration images.

``PhaseUNet3D`` is the two-level U-Net of ``synthapt.edges.learned`` in 3-D (3x3x3 convolutions
with zero padding and ReLU, 2x2x2 max-pooling, trilinear upsampling with skip connections, a
1x1x1 head) mapping a
normalised concentration volume (B, 1, X, Y, Z) in [0, 1] to a precipitate logit
(B, 1, X, Y, Z). It is trained by ``synthapt.training`` (``network = "unet3d"``) with the true
phase at the voxel centres as target, so its sigmoid is a probability of precipitate, not an
edge map. Where 2-D slices see one cut through a particle, the 3-D network sees the particle
whole: a 3 nm thick ellipsoid is thin in the slices along its short axis only.

The default weights ship with the package (``weights/learned_phase_v1.npz``, SHA-256 pinned
below and checked on load). A weights file is an ``.npz`` (no pickles) with ``format`` =
"synthapt-phase-unet3d", ``channels`` (3,), ``record`` (JSON of the training parameters) and one
``state/<name>`` array per parameter, written with fixed timestamps (byte-reproducible).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthapt.edges.learned import UNet, load_unet, read_weights, save_unet

WEIGHTS_FORMAT = "synthapt-phase-unet3d"
PAD = 4
"""Reflected border (voxels) added to a volume before the network, in training and in use."""
TILE = 64
"""Volumes larger than this (voxels per axis) run in overlapping tiles of this core size."""
HALO = 24
"""Context (voxels) around each tile, a multiple of 4 (the two poolings) so that tiles pool on the
same grid as the whole volume; it covers the receptive field up to weights below 1e-4 of the
output."""
INPUT_DELOCALIZATION = 0.5
"""Gaussian delocalization (nm) of the concentration image the network sees, in training
(0.4-0.6 nm) and in use, whatever the segmentation's own delocalization: the network does its own
smoothing, and less blur in its input leaves it more to work with."""
PHASE_WEIGHTS = Path(__file__).parent / "weights" / "learned_phase_v1.npz"
PHASE_WEIGHTS_SHA256 = "a2bbd45b5ed8344498ef024aa6ac5527de4659987c3ba8be33f0a1f410e85ced"
"""SHA-256 of the committed default weights; a mismatch refuses to load them."""


class PhaseUNet3D(UNet):
    """The 3-D U-Net of ``learned-phase``: (B, 1, X, Y, Z) volumes -> precipitate logits."""

    ndim = 3


def padded_logits3d(model: nn.Module, volumes: torch.Tensor, pad: int = PAD) -> torch.Tensor:
    """Logits (B, 1, X, Y, Z) of (B, 1, X, Y, Z) volumes reflect-padded by ``pad`` voxels (at most
    the size - 1 along each axis) before ``model`` and cropped after."""
    shape = volumes.shape[-3:]
    pad = max(0, min(pad, *(n - 1 for n in shape)))
    if not pad:
        return model(volumes)
    out = model(F.pad(volumes, (pad,) * 6, mode="reflect"))
    return out[..., pad:pad + shape[0], pad:pad + shape[1], pad:pad + shape[2]]


def _tiles(n: int, core: int) -> list[tuple[int, int]]:
    """(start, stop) of the cores covering 0..n."""
    return [(start, min(start + core, n)) for start in range(0, n, core)]


def precipitate_probability3d(model: nn.Module, image: np.ndarray, tile: int = TILE, halo: int = HALO,
                              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(X, Y, Z) float32 probability of precipitate of the (X, Y, Z) [0, 1] ``image``: the whole
    volume at once when it fits ``tile`` along every axis, else overlapping tiles (cores of
    ``tile`` voxels with ``halo`` voxels of context, which covers the receptive field).
    ``progress(done, total)`` after each tile. ``image`` is not modified."""
    volume = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    out = np.empty(image.shape, dtype=np.float32)
    cores = [(a, b, c) for a in _tiles(image.shape[0], tile) for b in _tiles(image.shape[1], tile)
             for c in _tiles(image.shape[2], tile)]
    with torch.inference_mode():
        for done, core in enumerate(cores, 1):
            outer = [(max(lo - halo, 0), min(hi + halo, n)) for (lo, hi), n in zip(core, image.shape)]
            block = volume[tuple(slice(lo, hi) for lo, hi in outer)][None, None]
            prob = torch.sigmoid(padded_logits3d(model, block))[0, 0].numpy()
            inner = tuple(slice(lo - olo, hi - olo) for (lo, hi), (olo, _) in zip(core, outer))
            out[tuple(slice(lo, hi) for lo, hi in core)] = prob[inner]
            if progress is not None:
                progress(done, len(cores))
    return out


WHAT = "learned-phase"


def save_phase3d(model: PhaseUNet3D, path: str | os.PathLike, record: dict | None = None) -> str:
    """Write ``model`` as a learned-phase weights file (identical weights and record -> identical
    bytes); returns its SHA-256."""
    return save_unet(model, path, WEIGHTS_FORMAT, record)


def load_phase3d(path: str | os.PathLike | None = None, sha256: str | None = None) -> PhaseUNet3D:
    """A ``PhaseUNet3D`` in eval mode from a weights file (default: the packaged
    ``learned_phase_v1.npz``, checked against ``PHASE_WEIGHTS_SHA256``; another file is checked
    against ``sha256`` if given). Missing, corrupt or foreign files raise SynthaptError."""
    return load_unet(PhaseUNet3D, path, sha256, PHASE_WEIGHTS, PHASE_WEIGHTS_SHA256, WEIGHTS_FORMAT, WHAT)


def phase_weights_record(path: str | os.PathLike | None = None) -> dict:
    """The ``record`` (training provenance) stored in a learned-phase weights file."""
    target = Path(path) if path is not None else PHASE_WEIGHTS
    return dict(json.loads(str(read_weights(target, WEIGHTS_FORMAT, WHAT)["record"])))
