"""A compact edge network trained on synthetic atom-probe concentration slices (``learned``).

``EdgeUNet`` is a two-level U-Net (``UNet``, shared with the 3-D network of ``learned-phase``
in ``synthapt.edges.phase3d``: 3x3 convolutions with zero padding and ReLU, 2x2 max-pooling,
bilinear upsampling with skip connections, a 1x1 head) mapping a grey slice
(B, 1, H, W) in [0, 1] to an edge logit (B, 1, H, W). It is trained by ``synthapt.training``
on the normalised concentration slices the segmentation feeds its detector, with the true
interface (a Gaussian of the exact signed distance at voxel centres) as target.

The default weights ship with the package (``weights/learned_v1.npz``, SHA-256 pinned below and
checked on load). A weights file is an ``.npz`` (no pickles) with ``format`` =
"synthapt-edge-unet", ``channels`` (3,), ``record`` (JSON of the training parameters) and one
``state/<name>`` array per parameter; written with fixed timestamps, so byte-reproducible.
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

from synthapt.errors import ConfigError, SynthaptError
from synthapt.io.atomic import atomic_output
from synthapt.io.npz import save_npz
from synthapt.provenance import sha256_file

WEIGHTS_FORMAT = "synthapt-edge-unet"
DEFAULT_CHANNELS = (8, 16, 32)
DEFAULT_PAD = 4
"""Reflected border (px) added to each slice before the network, in training and in use."""
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "learned_v1.npz"
DEFAULT_WEIGHTS_SHA256 = "9e1f1b36c5f59448c9fcb5df4131ab07ef7fcda100ee7016dbc37c7fda0a6fc5"
"""SHA-256 of the committed default weights; a mismatch refuses to load them."""


class UNet(nn.Module):
    """Two-level U-Net in 2 or 3 dimensions (``ndim``): 3x3(x3) convolutions with zero padding
    and ReLU, 2x2(x2) max-pooling, bi/trilinear upsampling with skip connections, a 1x1(x1)
    head. ``channels``: widths at full, 1/2 and 1/4 resolution.
    ``forward(x (B, 1, *size) in [0, 1]) -> (B, 1, *size)`` logits; any size >= 1."""

    ndim = 2

    def __init__(self, channels: tuple[int, int, int] = DEFAULT_CHANNELS) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        if min(c1, c2, c3) < 1:
            raise ConfigError(f"{type(self).__name__}.channels: must be positive, got {channels}")
        self.channels = (c1, c2, c3)
        self.enc1, self.enc2, self.bottom = self._block(1, c1), self._block(c1, c2), self._block(c2, c3)
        self.dec2, self.dec1 = self._block(c3 + c2, c2), self._block(c2 + c1, c1)
        self.head = (nn.Conv2d if self.ndim == 2 else nn.Conv3d)(c1, 1, 1)

    def _block(self, c_in: int, c_out: int) -> nn.Sequential:
        conv = nn.Conv2d if self.ndim == 2 else nn.Conv3d
        return nn.Sequential(conv(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True),
                             conv(c_out, c_out, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.ndim + 2 or x.shape[1] != 1:
            raise ValueError(f"{type(self).__name__} input must be (B, 1, {'H, W' if self.ndim == 2 else 'X, Y, Z'}),"
                             f" got {tuple(x.shape)}")
        pool = F.max_pool2d if self.ndim == 2 else F.max_pool3d
        mode = "bilinear" if self.ndim == 2 else "trilinear"
        e1 = self.enc1(x - 0.5)
        e2 = self.enc2(pool(e1, 2, ceil_mode=True))
        bottom = self.bottom(pool(e2, 2, ceil_mode=True))
        up2 = F.interpolate(bottom, size=e2.shape[2:], mode=mode, align_corners=False)
        d2 = self.dec2(torch.cat([up2, e2], dim=1))
        up1 = F.interpolate(d2, size=e1.shape[2:], mode=mode, align_corners=False)
        return self.head(self.dec1(torch.cat([up1, e1], dim=1)))

    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.parameters()))


class EdgeUNet(UNet):
    """The 2-D U-Net of the ``learned`` edge detector: (B, 1, H, W) slices -> edge logits."""

    ndim = 2


def save_unet(model: UNet, path: str | os.PathLike, weights_format: str, record: dict | None = None) -> str:
    """Write ``model`` as a weights file tagged ``weights_format`` (identical weights and record ->
    identical bytes); returns its SHA-256."""
    arrays = {"format": np.array(weights_format), "channels": np.array(model.channels, dtype=np.int64),
              "record": np.array(json.dumps(record or {}, sort_keys=True))}
    for key, value in model.state_dict().items():
        arrays[f"state/{key}"] = value.detach().cpu().numpy()
    with atomic_output(path, suffix=".npz") as tmp:
        save_npz(tmp, arrays)
    return sha256_file(path)


def read_weights(target: Path, weights_format: str, what: str) -> dict[str, np.ndarray]:
    """The arrays of a weights file tagged ``weights_format`` (SynthaptError naming ``what``
    otherwise)."""
    try:
        with np.load(target, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if str(arrays["format"]) != weights_format:
            raise ValueError("wrong format tag")
        return arrays
    except Exception as exc:  # zipfile/numpy raise many types for damaged files
        raise SynthaptError(f"{target}: not a {what} weights file ({type(exc).__name__})") from None


def load_unet(cls: type[UNet], path: str | os.PathLike | None, sha256: str | None, packaged: Path,
              packaged_sha256: str, weights_format: str, what: str) -> UNet:
    """A ``cls`` network in eval mode, its parameters frozen, from the weights file ``path``
    (checked against ``sha256`` if given) or, for None, from the ``packaged`` file (checked
    against ``packaged_sha256``). Missing, corrupt or foreign files raise SynthaptError naming
    ``what``."""
    target = Path(path) if path is not None else packaged
    expected_sha256 = sha256 if sha256 is not None else (packaged_sha256 if path is None else None)
    if not target.is_file():
        raise SynthaptError(f"{target}: {what} weights not found")
    if expected_sha256 is not None and sha256_file(target) != expected_sha256:
        raise SynthaptError(f"{target}: SHA-256 does not match {expected_sha256[:12]}... (corrupt or replaced "
                            "weights; reinstall synthapt or pass another weights file)")
    arrays = read_weights(target, weights_format, what)
    try:
        model = cls(tuple(int(c) for c in arrays["channels"]))
        state = {k[len("state/"):]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("state/")}
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, ConfigError) as exc:
        raise SynthaptError(f"{target}: not a {what} weights file ({type(exc).__name__})") from None
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def save_learned(model: EdgeUNet, path: str | os.PathLike, record: dict | None = None) -> str:
    """Write ``model`` as a ``learned`` weights file; returns its SHA-256."""
    return save_unet(model, path, WEIGHTS_FORMAT, record)


def load_learned(path: str | os.PathLike | None = None, sha256: str | None = None) -> EdgeUNet:
    """An ``EdgeUNet`` in eval mode from a weights file (default: the packaged
    ``learned_v1.npz``, checked against ``DEFAULT_WEIGHTS_SHA256``; another file is checked
    against ``sha256`` if given). Missing, corrupt or foreign files raise SynthaptError."""
    return load_unet(EdgeUNet, path, sha256, DEFAULT_WEIGHTS, DEFAULT_WEIGHTS_SHA256, WEIGHTS_FORMAT,
                     "learned edge-detector")


def weights_record(path: str | os.PathLike | None = None) -> dict:
    """The ``record`` (training provenance) stored in a weights file."""
    target = Path(path) if path is not None else DEFAULT_WEIGHTS
    return dict(json.loads(str(read_weights(target, WEIGHTS_FORMAT, "learned edge-detector")["record"])))


def padded_logits(model: nn.Module, images: torch.Tensor, pad: int = DEFAULT_PAD) -> torch.Tensor:
    """Logits (B, 1, H, W) of (B, 1, H, W) images reflect-padded by ``pad`` px (at most the image
    size - 1) before ``model`` and cropped after."""
    height, width = images.shape[-2:]
    pad = max(0, min(pad, height - 1, width - 1))
    if not pad:
        return model(images)
    return model(F.pad(images, (pad, pad, pad, pad), mode="reflect"))[..., pad:pad + height, pad:pad + width]


def run_network(model: nn.Module, images: np.ndarray, pad: int, batch_size: int,
                progress: Callable[[int], None] = lambda n: None) -> np.ndarray:
    """Edge probability (B, H, W) float32 of ``model`` on (B, H, W) float32 slices (see
    ``padded_logits``), ``batch_size`` slices per pass."""
    out = np.empty(images.shape, dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size]))[:, None]
            prob = torch.sigmoid(padded_logits(model, batch, pad))[:, 0]
            out[start:start + len(prob)] = prob.numpy()
            progress(len(prob))
    return out
