"""Excess error over the Bayes rule of ``learned-phase`` with candidate weights, on the datasets
of a finished campaign (e.g. ``synthapt campaign run heldout --out campaign_heldout``), beside the
campaign's own methods; no campaign rerun needed.

    python benchmarks/learned_phase_heldout.py campaign_heldout [model.npz ...]

Without weights files, the packaged ones. Prints one row per case: the Bayes accuracy, the excess
error (1 - accuracy) / (1 - Bayes accuracy) of iso-auto, of the best classical method of the case
(HED, Canny, Sobel, each refined or -edge, iso-auto) and of each weights file, then the means.
"""

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from synthapt.edges.phase3d import load_phase3d
from synthapt.io import load_dataset
from synthapt.scoring.labels import label_scores
from synthapt.segmentation.params import SegmentParams
from synthapt.segmentation.phase_net import learned_phase_segment

CLASSICAL = ("hed", "canny", "sobel", "hed-edge", "canny-edge", "sobel-edge", "iso-auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("weights", nargs="*", type=Path)
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.campaign / "results.csv")))
    accuracy = {(r["case"], r["method"]): float(r["accuracy"]) for r in rows}
    models = [load_phase3d(w) for w in args.weights] or [load_phase3d()]
    names = [w.name for w in args.weights] or ["packaged"]
    table = []
    for folder in sorted(p for p in args.campaign.iterdir() if (p / "dataset.h5").is_file()):
        case = json.loads((folder / "result.json").read_text())["name"]
        dataset = load_dataset(folder / "dataset.h5")
        bayes = accuracy[(case, "bayes")]
        excess = {m: (1 - accuracy[(case, m)]) / (1 - bayes) for m in CLASSICAL if (case, m) in accuracy}
        row = [excess["iso-auto"], min(excess.values())]
        for model in models:
            labels = learned_phase_segment(dataset, SegmentParams(), model=model).labels
            row.append((1 - label_scores(labels, dataset.truth.phase)["accuracy"]) / (1 - bayes))
        table.append(row)
        print(f"{case:<60} Bayes {bayes:.4f} | " + " ".join(f"{v:.3f}" for v in row), flush=True)
    means = np.mean(table, axis=0)
    print("columns: iso-auto, best classical of the case, " + ", ".join(names))
    print("mean: " + " ".join(f"{v:.3f}" for v in means))


if __name__ == "__main__":
    main()
