"""Summarise a campaign's results as Markdown tables: per geometry and method, the mean (min-max)
of the headline metrics over the grid, and how many cases meet each accuracy target.

    .venv/bin/python validation/summarize.py campaign_paper/ > reports/paper/summary.md
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

# metric, label, target, True if higher is better (targets from the project's design)
METRICS = [
    ("accuracy", "accuracy", 0.98, True),
    ("dice", "Dice", 0.97, True),
    ("interface_distance_mean", "mean dist. (nm)", 0.3, False),
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
        f"{label} (target {'>=' if up else '<='} {target})" for _, label, target, up in METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(METRICS))]
    for (geometry, method), values in sorted(groups.items()):
        cells = []
        for key, _, target, up in METRICS:
            v = _finite(values[key])
            if not v:
                cells.append("n/a")
                continue
            met = sum((x >= target) if up else (x <= target) for x in v)
            cells.append(f"{sum(v) / len(v):.3g} [{min(v):.3g}-{max(v):.3g}] ({met}/{len(v)})")
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
