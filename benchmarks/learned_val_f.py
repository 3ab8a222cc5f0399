"""Edge F-score and masked BCE on the validation split of a training-data folder, per network.

    python benchmarks/learned_val_f.py DATA [--weights model.npz] [--hed-side side.pt]

Networks: the learned U-Net (packaged weights or --weights), HED-BSDS500 as published, and HED
with fine-tuned side outputs (--hed-side). Validation = the last 15 % of the samples, every third
slice (as in ``synthapt train``). F-score: ``synthapt.training.train.edge_f_score`` (p > 0.5 vs
target > 0.5, 1 px tolerance, voxels inside the specimen).
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--hed-side", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from synthapt.edges import load_hed, load_learned
    from synthapt.training import read_training_data
    from synthapt.training.train import VALIDATION_STRIDE, SliceSet, TrainParams, load_hed_side, split_samples, validate

    torch.set_num_threads(args.threads)
    samples, _ = read_training_data(args.data)
    _, val = split_samples(samples, TrainParams().validation_fraction)
    slices = SliceSet.of(val, VALIDATION_STRIDE)
    networks = {"learned (U-Net)": load_learned(args.weights), "HED-BSDS500": load_hed()}
    if args.hed_side:
        networks["HED side outputs fine-tuned"] = load_hed_side(args.hed_side)
    print(f"{len(val)} validation specimens, {len(slices.keys)} slices")
    print("| network | masked BCE | edge F |\n|---|---:|---:|")
    for name, model in networks.items():
        loss, f = validate(model.eval(), slices, torch.device("cpu"))
        print(f"| {name} | {loss:.4f} | {f:.3f} |", flush=True)


if __name__ == "__main__":
    main()
