"""Per-ion label checks and label scores (accuracy, precipitate Dice / IoU / precision / recall)."""

from __future__ import annotations

import numpy as np

from synthapt.data import NO_PHASE, PRECIPITATE
from synthapt.errors import SynthaptError
from synthapt.scoring.metrics import ALLOWED_LABELS


def check_labels(labels: np.ndarray, n_ions: int, where: str = "labels") -> np.ndarray:
    """Validate per-ion labels: length ``n_ions``, values 0 (matrix) / 1 (precipitate) only."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise SynthaptError(f"{where}: expected one label per ion (1-D), got shape {arr.shape}")
    if len(arr) != n_ions:
        raise SynthaptError(f"{where}: {len(arr)} labels but the dataset has {n_ions} ions")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
            raise SynthaptError(f"{where}: labels must be integers 0 (matrix) or 1 (precipitate)")
    elif arr.dtype.kind not in "iub":
        raise SynthaptError(f"{where}: labels must be integers, got dtype {arr.dtype}")
    values = np.unique(arr)
    bad = [v for v in values.tolist() if v not in ALLOWED_LABELS]
    if bad:
        raise SynthaptError(
            f"{where}: unknown label values {bad[:5]} (allowed: 0 matrix, 1 precipitate)")
    return arr.astype(np.int8)


def label_scores(labels: np.ndarray, truth_phase: np.ndarray) -> dict[str, float]:
    """Accuracy, Dice, IoU, precision, recall and Matthews correlation (MCC) of precipitate
    labels; (M,) arrays.

    Ions with true phase -1 (background) are excluded. Dice/IoU are 1 when neither the truth nor
    the labels contain any precipitate ion.
    """
    labels = np.asarray(labels)
    truth_phase = np.asarray(truth_phase)
    if labels.shape != truth_phase.shape:
        raise SynthaptError(f"labels: shape {labels.shape} differs from truth {truth_phase.shape}")
    keep = truth_phase != NO_PHASE
    n = int(keep.sum())
    if n == 0:
        raise SynthaptError("labels: no ion has a true phase to score against")
    pred = labels[keep] == PRECIPITATE
    true = truth_phase[keep] == PRECIPITATE
    tp = int(np.count_nonzero(pred & true))
    fp = int(np.count_nonzero(pred & ~true))
    fn = int(np.count_nonzero(~pred & true))
    correct = int(np.count_nonzero(labels[keep] == truth_phase[keep]))
    tn = n - tp - fp - fn
    denominator = float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn)
    return {
        "accuracy": correct / n,
        "dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        # Matthews correlation: 0 for "everything matrix" or any guess, 1 for perfect labels
        "mcc": (tp * tn - fp * fn) / np.sqrt(denominator) if denominator > 0 else 0.0,
        "n_scored_ions": n,
    }
