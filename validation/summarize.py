"""Summarise a campaign's results as Markdown tables: per geometry and method, the mean (min-max)
of the headline metrics over the grid, and how many cases meet each target. The table leads with
the ceiling: the Bayes rule's accuracy on the same datasets and each method's excess error over it
((1 - accuracy) / (1 - Bayes accuracy); 1 is the best any method can do). The reference methods
oracle, bayes and truth-mesh are listed first in each geometry.

    .venv/bin/python validation/summarize.py campaign_paper/ > reports/paper/summary.md
    .venv/bin/python validation/summarize.py campaign_paper/ --table compact   # README table
    .venv/bin/python validation/summarize.py campaign_heldout/ --table cases   # one row per case

``--table compact``: one row per geometry, one column per method, each cell the mean accuracy and
[the range of the excess error] over the geometry's cases. ``--table cases``: one row per case,
one column per method, each cell the excess error, the best non-reference method in bold.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

from synthapt.scoring.ceilings import REFERENCES


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


def grid_labels(record: dict) -> dict[str, str]:
    """The grid labels of a case (``labels``, from the campaign's ``campaign.json``, see
    ``with_labels``), e.g. {"geometry": "layered", "efficiency.value": "0.37"}; the geometry kind
    of its config stands in for a missing ``geometry`` label."""
    labels = dict(record.get("labels") or {})
    labels.setdefault("geometry", record["config"]["simulation"]["structure"]["geometry"]["kind"])
    return labels


def with_labels(results: list[dict], campaign: dict) -> list[dict]:
    """Copies of the ``results`` records, each with the ``labels`` that ``campaign`` (the
    contents of ``campaign.json``) lists for its hash."""
    by_hash = {case["hash"]: case.get("labels", {}) for case in campaign.get("cases", [])}
    return [{**record, "labels": by_hash.get(record.get("hash"), {})} for record in results]


FAMILIES = ("learned", "hed", "canny", "sobel", "iso-auto")
"""Column order after the references: each detector refined, then its ``-edge`` variant, then
iso-auto and the fixed iso values."""


def _method_order(results: list[dict]) -> list[str]:
    methods = [m for m in REFERENCES if any(m in r["scores"] for r in results)]
    others = {m for r in results for m in r["scores"] if m not in REFERENCES}

    def key(method: str) -> tuple:
        base = method.removesuffix("-edge")
        return (FAMILIES.index(base) if base in FAMILIES else len(FAMILIES), method != base, method)
    return methods + sorted(others, key=key)


def _excess(scores: dict) -> float:
    value = scores.get("excess_error")
    return float(value) if value is not None and math.isfinite(float(value)) else math.nan


def compact_table(results: list[dict]) -> str:
    """Markdown: one row per geometry; per method the mean accuracy and [min-max] excess error."""
    methods = _method_order(results)
    by_geometry: dict[str, list[dict]] = defaultdict(list)
    for record in results:
        by_geometry[grid_labels(record)["geometry"]].append(record)
    lines = ["| geometry (cases) | Bayes | " + " | ".join(m for m in methods if m != "bayes") + " |",
             "|---|---|" + "---|" * (len(methods) - ("bayes" in methods))]
    for geometry, records in by_geometry.items():
        bayes = _finite([r["scores"].get("bayes", {}).get("accuracy") for r in records])
        cells = [f"{sum(bayes) / len(bayes):.3f}" if bayes else "n/a"]
        for method in (m for m in methods if m != "bayes"):
            acc = _finite([r["scores"].get(method, {}).get("accuracy") for r in records])
            ex = [x for x in (_excess(r["scores"].get(method, {})) for r in records) if math.isfinite(x)]
            cells.append("n/a" if not acc else f"{sum(acc) / len(acc):.3f}"
                         + (f" [{min(ex):.2f}-{max(ex):.2f}]" if ex else ""))
        lines.append(f"| {geometry} ({len(records)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cases_table(results: list[dict]) -> str:
    """Markdown: one row per case, the excess error of every method (best non-reference in bold),
    and a last row with the mean over the cases."""
    methods = [m for m in _method_order(results) if m != "bayes"]
    varying = sorted((k for k in grid_labels(results[0]) if len({grid_labels(r).get(k) for r in results}) > 1),
                     key=lambda k: k != "geometry")  # geometry first, then the grid keys in order
    lines = ["| case | Bayes accuracy | " + " | ".join(methods) + " |",
             "|---|---|" + "---|" * len(methods)]
    columns: dict[str, list[float]] = defaultdict(list)
    for record in results:
        labels = grid_labels(record)
        values = {m: _excess(record["scores"].get(m, {})) for m in methods}
        candidates = [values[m] for m in methods if m not in REFERENCES and math.isfinite(values[m])]
        best = min(candidates) if candidates else math.nan
        cells = []
        for method in methods:
            columns[method].append(values[method])
            text = "n/a" if not math.isfinite(values[method]) else f"{values[method]:.2f}"
            cells.append(f"**{text}**" if method not in REFERENCES and values[method] == best else text)
        bayes = record["scores"].get("bayes", {}).get("accuracy")
        name = " ".join(labels[k] for k in varying) or record.get("name", "?")
        lines.append(f"| {name} | {bayes:.4f} | " if bayes is not None else f"| {name} | n/a | ")
        lines[-1] += " | ".join(cells) + " |"
    means = []
    for method in methods:
        finite = [x for x in columns[method] if math.isfinite(x)]
        means.append(f"{sum(finite) / len(finite):.2f}" if finite else "n/a")
    lines.append("| **mean** | | " + " | ".join(means) + " |")
    return "\n".join(lines)


def summarize(results: list[dict]) -> str:
    """Markdown: one row per (geometry, method) with mean [min-max] and cases meeting targets."""
    groups: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for record in results:
        geometry = grid_labels(record)["geometry"]
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
    parser.add_argument("--table", choices=("full", "compact", "cases"), default="full",
                        help="full: every metric per geometry and method (default); compact: the "
                             "README table; cases: excess error per case")
    args = parser.parse_args()
    data = json.loads((args.campaign / "results.json").read_text())
    index = args.campaign / "campaign.json"
    results = with_labels(data["results"], json.loads(index.read_text()) if index.is_file() else {})
    if args.table != "full":
        print((compact_table if args.table == "compact" else cases_table)(results))
        return
    print(f"Suite `{data.get('suite', '?')}` (suite_version {data.get('suite_version', '?')}), "
          f"{len(data['results'])} cases. Each cell: mean [min-max] over the cases "
          "(cases meeting the target).\n")
    print(summarize(results))


if __name__ == "__main__":
    main()
