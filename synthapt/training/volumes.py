"""3-D training batches and validation of the phase network (``network = "unet3d"``).

The target of a voxel is its true phase: 1 where the exact signed distance of the true interface
at the voxel centre is > 0 (precipitate), 0 elsewhere. Only two-phase samples are used: the
``learned-phase`` method decides "one phase" with the composition test before it runs the
network. The loss is the binary cross-entropy of the logit against that target, averaged over
voxels inside the specimen.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from synthapt.edges.phase3d import padded_logits3d
from synthapt.errors import SynthaptError


def is_two_phase(sample: dict) -> bool:
    """Whether a sample has an interface: precipitate (signed distance > 0) and matrix voxels
    inside its specimen."""
    inside = sample["sdf"][sample["mask"]]
    return bool((inside > 0).any() and (inside <= 0).any())


@dataclasses.dataclass
class VolumeSet:
    """The two-phase samples of a training-data split."""

    samples: list[dict]

    @classmethod
    def of(cls, samples: list[dict], where: str = "training") -> VolumeSet:
        kept = [s for s in samples if is_two_phase(s)]
        if not kept:
            raise SynthaptError(f"training data: the {where} split holds no two-phase sample")
        return cls(kept)


def phase_target(sample: dict) -> np.ndarray:
    """(X, Y, Z) float32: 1 where the voxel centre is in the precipitate, else 0."""
    return (sample["sdf"] > 0).astype(np.float32)


def random_volume_batch(volumes: VolumeSet, rng: np.random.Generator, batch_size: int,
                        crop: int) -> tuple[torch.Tensor, ...]:
    """(images, targets, weights), each (B, 1, crop, crop, crop) float32: random crops of at most
    ``crop`` voxels per axis, flipped along each axis and x/y swapped at random (z, the tip axis,
    stays z), padded to the crop size (padding carries no loss, nor do voxels outside the specimen)."""
    out = np.zeros((3, batch_size, crop, crop, crop), dtype=np.float32)
    for b in range(batch_size):
        sample = volumes.samples[int(rng.integers(len(volumes.samples)))]
        arrays = np.stack([sample["image"], phase_target(sample), sample["mask"].astype(np.float32)])
        window = []
        for n in arrays.shape[1:]:
            start = int(rng.integers(max(n - crop, 0) + 1))
            window.append(slice(start, start + crop))
        arrays = arrays[(slice(None), *window)]
        for axis in (1, 2, 3):
            if rng.uniform() < 0.5:
                arrays = np.flip(arrays, axis)
        if rng.uniform() < 0.5:
            arrays = arrays.transpose(0, 2, 1, 3)
        size = arrays.shape[1:]
        out[:2, b] = np.pad(arrays[:2], ((0, 0), *((0, crop - n) for n in size)), mode="edge")
        out[2, b, :size[0], :size[1], :size[2]] = arrays[2]
    return tuple(torch.from_numpy(np.ascontiguousarray(a[:, None])) for a in out)


def validate_volumes(model: torch.nn.Module, volumes: VolumeSet, device: torch.device) -> tuple[float, float]:
    """(masked BCE, voxel accuracy of probability > 0.5) over the whole validation volumes."""
    loss_sum = weight_sum = correct = 0.0
    with torch.inference_mode():
        for sample in volumes.samples:
            image = torch.from_numpy(sample["image"])[None, None].to(device)
            target = torch.from_numpy(phase_target(sample))[None, None].to(device)
            weight = torch.from_numpy(sample["mask"].astype(np.float32))[None, None].to(device)
            logit = padded_logits3d(model, image)
            loss_sum += float((F.binary_cross_entropy_with_logits(logit, target, reduction="none") * weight).sum())
            correct += float((((logit > 0).float() == target).float() * weight).sum())
            weight_sum += float(weight.sum())
    return loss_sum / max(weight_sum, 1.0), correct / max(weight_sum, 1.0)
