"""Summarise a campaign's results as Markdown tables: per geometry and method, the mean (min-max)
of the headline metrics over the grid, and how many cases meet each target. The table leads with
the ceiling: the Bayes rule's accuracy on the same datasets and each method's excess error over it
((1 - accuracy) / (1 - Bayes accuracy); 1 is the best any method can do). The reference methods
oracle, bayes and truth-mesh are listed first in each geometry.

    .venv/bin/python validation/summarize.py campaign_paper/ > reports/paper/summary.md
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

REFERENCES = ("oracle", "bayes", "truth-mesh")

# metric, label, target, True if higher is better (targets from the project's design)
METRICS = [
    ("excess_error", "excess error", 1.15, False),
    ("bayes_accuracy", "Bayes accuracy", None, True),
    ("accuracy", "accuracy", None, True),
    ("mcc", "MCC", None, True),
    ("excess_error_dice", "excess error (Dice)", 1.15, False),
    ("interface_distance_mean", "mean dist. (nm)", 0.3, False),
    ("interface_area_excluded_fraction", "excluded area", 0.1, False),
    ("profile_rmse", "profile RMSE (at.%)", 1.5, False),
    ("plateau_error", "plateau error (at.%)", 0.5, False),
]


def _finite(values: list) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def summarize(results: list[dict]) -> str:
    """Markdown: one row per (geometry, method) with mean [min-max] and cases meeting targets."""
    groups: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for record in results:
        geometry = record["config"]["simulation"]["structure"]["geometry"]["kind"]
        for method, scores in record["scores"].items():
            for key, *_ in METRICS:
                groups[(geometry, method)][key].append(scores.get(key))
    header = "| geometry | method | cases | " + " | ".join(
        label if target is None else f"{label} (target {'>=' if up else '<='} {target})"
        for _, label, target, up in METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(METRICS))]
    order = {name: k for k, name in enumerate(REFERENCES)}
    for (geometry, method), values in sorted(groups.items(),
                                             key=lambda kv: (kv[0][0], order.get(kv[0][1], 9), kv[0][1])):
        cells = []
        for key, _, target, up in METRICS:
            v = _finite(values[key])
            if not v:
                cells.append("n/a")
                continue
            cell = f"{sum(v) / len(v):.3g} [{min(v):.3g}-{max(v):.3g}]"
            if target is not None:
                cell += f" ({sum((x >= target) if up else (x <= target) for x in v)}/{len(v)})"
            cells.append(cell)
        n = max(len(values[k]) for k, *_ in METRICS)
        lines.append(f"| {geometry} | {method} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", type=Path, help="campaign output folder (results.json)")
    args = parser.parse_args()
    data = json.loads((args.campaign / "results.json").read_text())
    print(f"Suite `{data.get('suite', '?')}` (suite_version {data.get('suite_version', '?')}), "
          f"{len(data['results'])} cases. Each cell: mean [min-max] over the cases "
          "(cases meeting the target).\n")
    print(summarize(data["results"]))


if __name__ == "__main__":
    main()
