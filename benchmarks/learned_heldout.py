"""Held-out per-ion accuracy of the segmentation with each edge detector (issue: learned detector).

    python benchmarks/learned_heldout.py [--weights model.npz] [--hed-side side.pt] [--csv out.csv]

Cases: ``synthapt.training.evaluate.heldout_cases`` (ellipsoids and a slab+sphere union - kinds
never seen in training - at 0.3 nm lateral resolution, efficiency 0.5/0.65/0.8) and
``single_phase_cases`` (uniform solid solutions, which must give "no interface"). Detectors at
their ``synthapt segment`` defaults: learned (packaged weights or --weights), hed (BSDS500),
canny (spread 1), sobel; --hed-side adds HED with fine-tuned side outputs. Each with refine = 1
(default) and refine = 0. ``oracle``: true geometry at the observed positions. Prints markdown
tables; ~10 min on 2 busy cores (HED dominates).
"""

from __future__ import annotations

import argparse
import csv
import math


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="learned weights file (default: packaged)")
    parser.add_argument("--hed-side", default=None, help="fine-tuned HED side outputs (synthapt train --network hed-side)")
    parser.add_argument("--detectors", nargs="+", default=["learned", "hed", "canny", "sobel"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", default=None)
    parser.add_argument("--skip-single-phase", action="store_true")
    args = parser.parse_args()

    import torch

    from synthapt.edges import get_detector
    from synthapt.training.evaluate import evaluate, heldout_cases, single_phase_cases

    torch.set_num_threads(args.threads)
    options = {"learned": {"weights": args.weights, "num_threads": args.threads},
               "hed": {"upsample": 2.0, "num_threads": args.threads}, "canny": {"spread": 1.0}, "sobel": {}}
    detectors = {name: get_detector(name, **options[name]) for name in args.detectors}
    if args.hed_side:
        from synthapt.training.train import load_hed_side

        detectors["hed-side"] = get_detector("hed", model=load_hed_side(args.hed_side), upsample=1.0,
                                             num_threads=args.threads)
    rows = evaluate(heldout_cases(), detectors, progress=lambda s: print(f"  {s}", flush=True))
    single = [] if args.skip_single_phase else evaluate(single_phase_cases(), detectors, refines=(1.0,))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows + single)
    print_tables(rows, single, list(detectors))


def print_tables(rows: list[dict], single: list[dict], names: list[str]) -> None:
    columns = [("oracle", math.nan)] + [(n, r) for r in (1.0, 0.0) for n in names]
    label = lambda n, r: n if math.isnan(r) else f"{n} r={r:g}"  # noqa: E731
    cases = list(dict.fromkeys(r["case"] for r in rows))
    find = {(r["case"], r["method"], r["refine"] if not math.isnan(r["refine"]) else -1.0): r for r in rows}
    print("\nper-ion accuracy (held-out, 0.3 nm lateral)\n")
    print("| case | " + " | ".join(label(n, r) for n, r in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    means = {c: [] for c in columns}
    for case in cases:
        cells = []
        for n, r in columns:
            row = find.get((case, n, -1.0 if math.isnan(r) else r))
            value = row["accuracy"] if row else math.nan
            means[(n, r)].append(value)
            cells.append(f"{value:.4f}")
        print(f"| {case} | " + " | ".join(cells) + " |")
    print("| **mean** | " + " | ".join(f"**{sum(v) / len(v):.4f}**" for v in means.values()) + " |")
    oracle = means[columns[0]]
    print("| mean excess error vs oracle | - | " + " | ".join(
        f"{sum((1 - a) / max(1 - o, 1e-9) for a, o in zip(v, oracle)) / len(v):.2f}" for v in list(means.values())[1:]) + " |")
    if single:
        print("\nsingle-phase specimens: interface reported (should be none)\n")
        print("| case | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for case in dict.fromkeys(r["case"] for r in single):
            marks = ["INTERFACE" if any(r["interface_found"] for r in single if r["case"] == case and r["method"] == n)
                     else "none" for n in names]
            print(f"| {case} | " + " | ".join(marks) + " |")


if __name__ == "__main__":
    main()
