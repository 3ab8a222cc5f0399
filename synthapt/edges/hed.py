"""Holistically-Nested Edge Detection (HED; Xie & Tu, ICCV 2015) in plain ``torch.nn``.

A VGG16 backbone (conv blocks 1-5, 3x3 convolutions with padding 1 and ReLU, 2x2 max-pooling with
stride 2 between blocks) with one side output per block: a 1x1 convolution of the block's last
conv features to one channel, upsampled bilinearly (half-pixel centres) to the input size. A 1x1
convolution over the five side logits gives the fused edge logit.

Input: (B, 3, H, W) float32 images in BGR channel order, 0-255 scale, minus the Caffe mean
``CAFFE_MEAN_BGR`` (see ``grey_to_hed_input``). The network runs without weights (PyTorch's default
random initialisation, for tests); ``synthapt.edges.weights.load_hed`` loads the BSDS500 weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
"""Per-channel mean (B, G, R) of the Caffe VGG16/HED training images, 0-255 scale."""

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
"""(output channels, number of 3x3 convolutions) of VGG16 conv blocks 1-5."""


def conv_names() -> list[str]:
    """Module names of the 13 VGG16 convolutions: ``block1_conv1`` ... ``block5_conv3``."""
    return [f"block{b}_conv{c}" for b, (_, n) in enumerate(VGG16_BLOCKS, 1) for c in range(1, n + 1)]


class HED(nn.Module):
    """HED edge network. ``forward(x (B,3,H,W)) -> (B, 6, H, W)`` logits: sides 1-5, then fused."""

    def __init__(self) -> None:
        super().__init__()
        in_channels = 3
        for b, (channels, n_convs) in enumerate(VGG16_BLOCKS, 1):
            for c in range(1, n_convs + 1):
                self.add_module(f"block{b}_conv{c}", nn.Conv2d(in_channels, channels, 3, padding=1))
                in_channels = channels
            self.add_module(f"dsn{b}", nn.Conv2d(channels, 1, 1))
        self.fuse = nn.Conv2d(len(VGG16_BLOCKS), 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"HED input must be (B, 3, H, W), got {tuple(x.shape)}")
        size = x.shape[-2:]
        sides = []
        features = x
        for b, (_, n_convs) in enumerate(VGG16_BLOCKS, 1):
            if b > 1:
                features = F.max_pool2d(features, kernel_size=2, stride=2, ceil_mode=True)
            for c in range(1, n_convs + 1):
                features = F.relu(getattr(self, f"block{b}_conv{c}")(features))
            side = getattr(self, f"dsn{b}")(features)
            if b > 1:
                side = F.interpolate(side, size=size, mode="bilinear", align_corners=False)
            sides.append(side)
        stacked = torch.cat(sides, dim=1)
        return torch.cat([stacked, self.fuse(stacked)], dim=1)

    def fused_probability(self, x: torch.Tensor) -> torch.Tensor:
        """Edge probability (B, H, W) in [0, 1]: sigmoid of the fused logit."""
        return torch.sigmoid(self.forward(x)[:, -1])


def grey_to_hed_input(grey: torch.Tensor) -> torch.Tensor:
    """Map grey images (B, H, W) in [0, 1] to HED input (B, 3, H, W): grey*255 in all three
    (B, G, R) channels minus the Caffe mean."""
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=grey.dtype, device=grey.device).view(1, 3, 1, 1)
    return grey.unsqueeze(1) * 255.0 - mean


def hed_macs(height: int, width: int) -> int:
    """Multiply-accumulates of one HED forward pass on an (height, width) input (convolutions,
    side outputs and fusion; ReLU, pooling and upsampling excluded). FLOPs ~ 2 x MACs."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    total, h, w, in_channels = 0, height, width, 3
    for b, (channels, n_convs) in enumerate(VGG16_BLOCKS, 1):
        if b > 1:
            h, w = -(-h // 2), -(-w // 2)
        for _ in range(n_convs):
            total += h * w * in_channels * channels * 9
            in_channels = channels
        total += h * w * channels  # side output 1x1 conv
    return total + height * width * len(VGG16_BLOCKS)
