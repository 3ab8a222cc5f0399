"""Training loop of the learned edge detector: seeded, reproducible, CPU or GPU.

Samples (``synthapt.training.data``) are split by specimen into training and validation sets
(the last ``validation_fraction`` of the samples). Every step draws ``batch_size`` random 2D slices
(axis and position), crops of at most ``crop`` x ``crop`` px with a random flip/transpose, padded
to the crop size (padding and voxels outside the specimen carry no loss), from a generator
seeded by ``seed``. The loss is the binary cross-entropy between the network's logit and the
target, averaged over voxels inside the specimen. Targets (``TrainParams.target``):

- ``edge``: the edge map of the true interface (``synthapt.training.data.edge_target``); validated
  by the edge F-score;
- ``phase``: the true phase at each voxel centre (1 where the exact signed distance is > 0, i.e.
  precipitate), so the network's sigmoid is the probability of precipitate (the
  ``learned-phase`` method); single-phase samples are left out (the method decides "one phase"
  before it runs the network); validated by the voxel accuracy of probability > 0.5.

Networks:

- ``unet``: ``synthapt.edges.learned.EdgeUNet`` (all weights trained);
- ``hed-side``: HED with the BSDS500 VGG trunk frozen, its five side outputs and the fusion
  trained (deep supervision: fused + mean side loss), input reflect-padded by 8 px as in the
  ``hed`` detector;
- ``unet3d``: ``synthapt.edges.phase3d.PhaseUNet3D`` on 3-D crops (``crop`` voxels per axis,
  ``batch_size`` crops per step; ``synthapt.training.volumes``), phase target only: the network
  of the ``learned-phase`` method.

Outputs in ``out_dir``: ``model.npz`` (U-Net weights, ``synthapt.edges.learned``, or 3-D U-Net
weights, ``synthapt.edges.phase3d``) or ``model.pt``
(HED side outputs), ``loss.csv``, ``loss.png``, ``record.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from synthapt.config import from_dict, read_toml, to_dict
from synthapt.edges.hed import HED, grey_to_hed_input
from synthapt.edges.learned import DEFAULT_PAD, EdgeUNet, padded_logits, save_learned
from synthapt.edges.phase3d import PhaseUNet3D, padded_logits3d, save_phase3d
from synthapt.edges.weights import load_hed
from synthapt.provenance import sha256_file
from synthapt.errors import ConfigError, SynthaptError
from synthapt.io.atomic import atomic_folder, atomic_output, check_new_folder
from synthapt.training.data import read_training_data
from synthapt.training.volumes import VolumeSet, is_two_phase, random_volume_batch, validate_volumes

MIN_MASKED_FRACTION = 0.2
"""Slices with fewer voxels inside the specimen than this are not used."""
HED_PAD = 8
WEIGHTS_RECORD_KEYS = ("params", "training_data_index_sha256", "samples", "trainable_parameters")
"""Items of the training record stored inside a U-Net weights file."""
VALIDATION_STRIDE = 3
"""Validation uses every third slice position along each axis (neighbours are near copies)."""


@dataclasses.dataclass(frozen=True)
class TrainParams:
    """Options of ``train``.

    network: "unet", "hed-side" or "unet3d". channels: U-Net widths. steps: optimiser steps.
    batch_size: slices (3-D crops for unet3d) per step. crop: crop size, px (voxels per axis). learning_rate: Adam. validation_fraction:
    share of samples held out. eval_every: steps between validation passes. seed: all random
    draws. threads: torch CPU threads (1 is fastest on a busy shared CPU). device: "auto" (CUDA when present), "cpu" or "cuda".
    target: "edge" (edge map; unet, hed-side) or "phase" (precipitate indicator; unet, unet3d);
    None = "phase" for unet3d, else "edge".
    """

    network: Literal["unet", "hed-side", "unet3d"] = "unet"
    channels: tuple[int, int, int] = (8, 16, 32)
    steps: int = 1500
    batch_size: int = 24
    crop: int = 32
    learning_rate: float = 2e-3
    validation_fraction: float = 0.15
    eval_every: int = 100
    seed: int = 0
    threads: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    target: Literal["edge", "phase"] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.target is None:
            object.__setattr__(self, "target", "phase" if self.network == "unet3d" else "edge")
        checks = {"network": self.network in ("unet", "hed-side", "unet3d"), "steps": self.steps >= 1,
                  "batch_size": self.batch_size >= 1, "crop": self.crop >= 8,
                  "learning_rate": self.learning_rate > 0, "validation_fraction": 0 < self.validation_fraction < 1,
                  "eval_every": self.eval_every >= 1, "seed": self.seed >= 0, "threads": 1 <= self.threads <= 16,
                  "device": self.device in ("auto", "cpu", "cuda"),
                  "target": (self.target, self.network) in {("edge", "unet"), ("edge", "hed-side"),
                                                            ("phase", "unet"), ("phase", "unet3d")},
                  "channels": len(self.channels) == 3 and min(self.channels) >= 1}
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"train.{name}: invalid value {getattr(self, name)!r}")


def load_train_params(path: str | Path | None = None, **overrides: Any) -> TrainParams:
    """TrainParams from an optional TOML file (its ``[train]`` table, or the whole file) with
    overrides (None values ignored)."""
    data: dict[str, Any] = {}
    if path is not None:
        raw = read_toml(path)
        data = dict(raw.get("train", raw))
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(TrainParams, data, "train")


@dataclasses.dataclass
class SliceSet:
    """2D slices of a set of samples: (sample, axis, position) for each usable slice."""

    samples: list[dict]
    keys: np.ndarray  # (S, 3) int
    target: str = "edge"

    @classmethod
    def of(cls, samples: list[dict], stride: int = 1, target: str = "edge") -> SliceSet:
        """Slices of ``samples`` with enough voxels inside the specimen; every ``stride``-th
        position along each axis. ``target`` "phase" leaves single-phase samples out."""
        keys = []
        for s, sample in enumerate(samples):
            if target == "phase" and not is_two_phase(sample):
                continue
            for axis in range(3):
                fraction = np.moveaxis(sample["mask"], axis, 0).reshape(sample["mask"].shape[axis], -1).mean(1)
                keys += [(s, axis, k) for k in np.flatnonzero(fraction >= MIN_MASKED_FRACTION) if k % stride == 0]
        if not keys:
            raise SynthaptError("training data: no slice has enough voxels inside the specimen"
                                + (" in a two-phase sample" if target == "phase" else ""))
        return cls(samples, np.asarray(keys, dtype=np.int64), target)

    def slice(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image, target, weight) 2D float32 arrays of one slice; the target is the edge map or
        the precipitate indicator (signed distance > 0)."""
        sample = self.samples[key[0]]
        take = lambda a: np.take(a, key[2], axis=key[1])  # noqa: E731
        target = take(sample["edge"]) if self.target == "edge" else take(sample["sdf"]) > 0
        return (take(sample["image"]).astype(np.float32), target.astype(np.float32),
                take(sample["mask"]).astype(np.float32))


def random_batch(slices: SliceSet, rng: np.random.Generator, batch_size: int, crop: int) -> tuple[torch.Tensor, ...]:
    """(images, targets, weights), each (B, 1, crop, crop) float32, of random augmented crops."""
    out = np.zeros((3, batch_size, crop, crop), dtype=np.float32)
    for b, pick in enumerate(rng.integers(len(slices.keys), size=batch_size)):
        arrays = np.stack(slices.slice(slices.keys[pick]))
        h, w = arrays.shape[1:]
        i = int(rng.integers(max(h - crop, 0) + 1))
        j = int(rng.integers(max(w - crop, 0) + 1))
        arrays = arrays[:, i:i + crop, j:j + crop]
        if rng.uniform() < 0.5:
            arrays = arrays[:, ::-1]
        if rng.uniform() < 0.5:
            arrays = arrays[:, :, ::-1]
        if rng.uniform() < 0.5:
            arrays = arrays.transpose(0, 2, 1)
        h, w = arrays.shape[1:]
        out[:2, b] = np.pad(arrays[:2], ((0, 0), (0, crop - h), (0, crop - w)), mode="edge")
        out[2, b, :h, :w] = arrays[2]
    return tuple(torch.from_numpy(np.ascontiguousarray(a[:, None])) for a in out)


# --- networks -----------------------------------------------------------------------------------

def build_network(params: TrainParams) -> torch.nn.Module:
    if params.network == "unet":
        return EdgeUNet(params.channels)
    if params.network == "unet3d":
        return PhaseUNet3D(params.channels)
    model = load_hed()  # frozen BSDS500 trunk; side outputs and fusion trained
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(("dsn", "fuse")))
    return model


def load_hed_side(path: str | Path) -> HED:
    """HED with the BSDS500 trunk and the side outputs/fusion from a ``hed-side`` ``model.pt``."""
    model = load_hed()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing = set(model.state_dict()) - set(state)
        if set(state) - set(model.state_dict()) or any(not k.startswith(("dsn", "fuse")) for k in state) \
                or {k for k in model.state_dict() if k.startswith(("dsn", "fuse"))} & missing:
            raise ValueError("not HED side outputs")
        model.load_state_dict(state, strict=False)
    except Exception as exc:  # torch raises many types for damaged files
        raise SynthaptError(f"{path}: not a hed-side weights file ({type(exc).__name__})") from None
    return model.eval()


def network_logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Edge logits (B, K, H, W) of (B, 1, H, W) images in [0, 1]: K = 1 (U-Net) or 6 (HED sides
    1-5 and fused), input reflect-padded (``DEFAULT_PAD``, ``HED_PAD`` px) as by the detectors;
    (B, 1, X, Y, Z) phase logits of volumes for the 3-D U-Net."""
    if isinstance(model, PhaseUNet3D):
        return padded_logits3d(model, images)
    if not isinstance(model, HED):
        return padded_logits(model, images, DEFAULT_PAD)
    h, w = images.shape[-2:]
    pad = min(HED_PAD, h - 1, w - 1)
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect") if pad else images
    return model(grey_to_hed_input(padded[:, 0]))[..., pad:pad + h, pad:pad + w]


def batch_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Masked mean BCE; for HED the fused loss plus the mean of the side losses."""
    total = weight.sum().clamp(min=1.0)
    losses = [(F.binary_cross_entropy_with_logits(logits[:, k:k + 1], target, reduction="none") * weight).sum() / total
              for k in range(logits.shape[1])]
    return losses[-1] if len(losses) == 1 else losses[-1] + sum(losses[:-1]) / (len(losses) - 1)


def edge_f_score(prob: np.ndarray, target: np.ndarray, weight: np.ndarray, tolerance: int = 1) -> float:
    """F1 of ``prob > 0.5`` against ``target > 0.5`` inside ``weight > 0``, a detection counting
    as correct within ``tolerance`` px of the other map (arrays (..., H, W))."""
    inside = weight > 0
    pred, true = (prob > 0.5) & inside, (target > 0.5) & inside
    grow = np.zeros((1,) * (pred.ndim - 2) + (2 * tolerance + 1,) * 2, dtype=bool)
    grow[..., :, :] = True
    near_true = ndimage.binary_dilation(true, grow)
    near_pred = ndimage.binary_dilation(pred, grow)
    precision = (pred & near_true).sum() / max(pred.sum(), 1)
    recall = (true & near_pred).sum() / max(true.sum(), 1)
    return float(2 * precision * recall / (precision + recall)) if precision + recall > 0 else 0.0


def phase_accuracy(prob: np.ndarray, target: np.ndarray, weight: np.ndarray) -> float:
    """Fraction of voxels inside ``weight > 0`` where ``prob > 0.5`` equals ``target > 0.5``."""
    inside = weight > 0
    return float(np.mean((prob[inside] > 0.5) == (target[inside] > 0.5))) if inside.any() else 0.0


def score_name(params: TrainParams) -> str:
    """Column of the validation score in loss.csv: "val_edge_f" or "val_phase_accuracy"."""
    return "val_edge_f" if params.target == "edge" else "val_phase_accuracy"


def validate(model: torch.nn.Module, slices: SliceSet, device: torch.device,
             chunk: int = 32) -> tuple[float, float]:
    """(masked BCE, score) of the fused output over all validation slices (whole slices); the
    score is the edge F-score (edge target) or the voxel accuracy (phase target)."""
    losses, weights, scores = [], [], []
    order = np.lexsort((slices.keys[:, 2], slices.keys[:, 1], slices.keys[:, 0]))
    groups: dict[tuple[int, int], list] = {}
    for key in slices.keys[order]:
        groups.setdefault((int(key[0]), int(key[1])), []).append(key)
    with torch.inference_mode():
        for keys in groups.values():
            for start in range(0, len(keys), chunk):
                arrays = np.stack([np.stack(slices.slice(k)) for k in keys[start:start + chunk]], axis=1)
                image, target, weight = (torch.from_numpy(a[:, None]).to(device) for a in arrays)
                logit = network_logits(model, image)[:, -1:]
                loss = F.binary_cross_entropy_with_logits(logit, target, reduction="none") * weight
                losses.append(float(loss.sum()))
                weights.append(float(weight.sum()))
                prob = torch.sigmoid(logit).cpu().numpy()
                score = edge_f_score if slices.target == "edge" else phase_accuracy
                scores.append((score(prob[:, 0], arrays[1], arrays[2]), float(arrays[2].sum())))
    f = sum(s * w for s, w in scores) / max(sum(w for _, w in scores), 1.0)
    return sum(losses) / max(sum(weights), 1.0), float(f)


# --- the loop -----------------------------------------------------------------------------------

def split_samples(samples: list[dict], fraction: float) -> tuple[list[dict], list[dict]]:
    """(training, validation): the last ``fraction`` of the samples (at least one) validate."""
    if len(samples) < 2:
        raise SynthaptError(f"training data: {len(samples)} sample(s); at least 2 are needed for a "
                            "validation split")
    n_val = min(max(1, int(round(fraction * len(samples)))), len(samples) - 1)
    return samples[:-n_val], samples[-n_val:]


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: 'cuda' requested but no CUDA device is available")
    return torch.device("cuda" if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()) else "cpu")


def train(data_dir: str | Path, out_dir: str | Path, params: TrainParams = TrainParams(),
          progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Train on the samples in ``data_dir``; write ``model.npz`` (U-Net) or ``model.pt`` (hed-side), ``loss.csv``, ``loss.png`` and
    ``record.json`` into the new folder ``out_dir``. ``progress(step, steps, loss)`` after each
    step. Returns the record (losses, validation scores, SHA-256 of the weights)."""
    target = Path(out_dir)
    check_new_folder(target)
    samples, index = read_training_data(data_dir)
    train_samples, val_samples = split_samples(samples, params.validation_fraction)
    if params.network == "unet3d":
        train_set, val_set = VolumeSet.of(train_samples), VolumeSet.of(val_samples, "validation")
        draw = random_volume_batch
    else:
        train_set = SliceSet.of(train_samples, target=params.target)
        val_set = SliceSet.of(val_samples, VALIDATION_STRIDE, params.target)
        draw = random_batch
    device = pick_device(params.device)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(params.threads)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        torch.manual_seed(params.seed)
        rng = np.random.default_rng(params.seed)
        model = build_network(params).to(device)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.Adam(trainable, lr=params.learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, params.steps)
        rows, started = [], time.perf_counter()
        for step in range(1, params.steps + 1):
            model.train()
            image, edge, weight = (t.to(device) for t in draw(train_set, rng, params.batch_size, params.crop))
            loss = batch_loss(network_logits(model, image), edge, weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            row = {"step": step, "train_loss": loss.item(), "val_loss": "", score_name(params): ""}
            if step % params.eval_every == 0 or step == params.steps:
                model.eval()
                check = validate_volumes if isinstance(val_set, VolumeSet) else validate
                row["val_loss"], row[score_name(params)] = check(model, val_set, device)
            rows.append(row)
            if progress is not None:
                progress(step, params.steps, row["train_loss"])
        seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(deterministic)
    model = model.cpu().eval()
    return write_outputs(target, model, rows, params, index, Path(data_dir), seconds)


def write_outputs(target: Path, model: torch.nn.Module, rows: list[dict], params: TrainParams,
                  index: dict, data_dir: Path, seconds: float) -> dict:
    """model.npz/.pt, loss.csv, loss.png and record.json, all written in a temporary folder first."""
    with atomic_folder(target) as tmp:
        last = [r for r in rows if r["val_loss"] != ""][-1]
        record: dict[str, Any] = {
            "params": to_dict(params), "training_data": str(data_dir.resolve()),
            "training_data_index_sha256": sha256_file(data_dir / "index.json"),
            "samples": len(index["samples"]), "seconds": round(seconds, 1),
            "final_train_loss": rows[-1]["train_loss"], "final_val_loss": last["val_loss"],
            f"final_{score_name(params)}": last[score_name(params)],
            "trainable_parameters": int(sum(p.numel() for n, p in model.named_parameters()
                                            if params.network != "hed-side" or n.startswith(("dsn", "fuse")))),
        }
        if isinstance(model, (EdgeUNet, PhaseUNet3D)):
            # only what determines the weights, so that a rerun gives a byte-identical file
            weights_record = {k: record[k] for k in WEIGHTS_RECORD_KEYS}
            save = save_learned if isinstance(model, EdgeUNet) else save_phase3d
            record["sha256"] = save(model, tmp / "model.npz", weights_record)
        else:
            state = {k: v for k, v in model.state_dict().items() if k.startswith(("dsn", "fuse"))}
            buffer = io.BytesIO()
            torch.save(state, buffer)
            (tmp / "model.pt").write_bytes(buffer.getvalue())
            record["sha256"] = sha256_file(tmp / "model.pt")
        with open(tmp / "loss.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        plot_losses(rows, tmp / "loss.png")
        (tmp / "record.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def plot_losses(rows: list[dict], path: Path) -> None:
    """Training loss (per step, and its running mean) and validation loss against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in rows])
    train_loss = np.array([r["train_loss"] for r in rows])
    window = max(1, len(rows) // 50)
    smooth = np.convolve(train_loss, np.ones(window) / window, mode="valid")
    val = [(r["step"], r["val_loss"]) for r in rows if r["val_loss"] != ""]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, train_loss, color="0.8", lw=0.5, label="training (per step)")
    ax.plot(steps[window - 1:], smooth, color="C0", label=f"training ({window}-step mean)")
    ax.plot(*zip(*val), "o-", color="C1", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("masked BCE")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, metadata={"Software": None})
    plt.close(fig)
