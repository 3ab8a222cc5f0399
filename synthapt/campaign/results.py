"""Campaign results aggregation: one row per (case, method) with every scalar metric, written
as ``results.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from synthapt.campaign.suite import Suite
from synthapt.io.atomic import atomic_output


def flatten_scores(scores: dict, prefix: str = "") -> dict[str, Any]:
    """Scalar metrics as {dotted.name: value}; arrays and lists are left out."""
    flat = {}
    for key, value in scores.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_scores(value, f"{name}."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            flat[name] = value
    return flat


def result_rows(suite: Suite, results: list[dict]) -> list[dict]:
    """One row per (case, method) in suite order: case name, hash, grid labels, method, scalar
    metrics, and ``error`` for a method that could not be segmented or scored."""
    by_hash = {sc.hash: sc for sc in suite.cases}
    rows = []
    for result in results:
        sc = by_hash.get(result["hash"])
        scores, errors = result.get("scores", {}), result.get("errors") or {}
        methods = list(sc.case.segmentation.method_names) if sc else []
        methods += [m for m in list(scores) + list(errors) if m not in methods]
        for method in methods:
            if method not in scores and method not in errors:
                continue
            row = {"case": result["name"], "hash": result["hash"],
                   **(sc.labels if sc else {}), "method": method,
                   **flatten_scores(scores.get(method, {}))}
            if method in errors:
                row["error"] = errors[method]
            rows.append(row)
    return rows


def write_results_csv(path: Path, suite: Suite, results: list[dict]) -> None:
    rows = result_rows(suite, results)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue())
