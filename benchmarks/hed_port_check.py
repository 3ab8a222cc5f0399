"""Print how closely the torch HED port matches the original Keras model on the reference input
(tests/data/hed_bsds500_reference.npz): max abs difference of the fused probability and of
each side/fused logit map. Needs the cached weights (`synthapt weights fetch`).

    .venv/bin/python benchmarks/hed_port_check.py
"""

from pathlib import Path

import numpy as np
import torch

from synthapt.edges.weights import load_hed

REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "hed_bsds500_reference.npz"


def main() -> None:
    ref = np.load(REFERENCE)
    x = torch.from_numpy(ref["input_bgr_minus_mean"]).permute(2, 0, 1)[None].contiguous()
    model = load_hed()
    with torch.inference_mode():
        logits = model(x)[0].numpy()
        prob = model.fused_probability(x)[0].numpy()
    print(f"fused probability: max abs diff {np.abs(prob - ref['fused_probability']).max():.2e}")
    diffs = np.abs(logits - ref["logits_side1_to_5_and_fused"]).max(axis=(1, 2))
    for name, d in zip(["side1", "side2", "side3", "side4", "side5", "fused"], diffs):
        print(f"{name} logits: max abs diff {d:.2e}")


if __name__ == "__main__":
    main()
