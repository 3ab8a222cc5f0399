"""validation/summarize.py: the README tables are computed from a campaign's results, not typed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "validation" / "summarize.py"


@pytest.fixture(scope="module")
def summarize():
    spec = importlib.util.spec_from_file_location("summarize", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(geometry: str, efficiency: float, bayes: float, accuracies: dict[str, float]) -> dict:
    scores = {"bayes": {"accuracy": bayes, "excess_error": 1.0}}
    for method, acc in accuracies.items():
        scores[method] = {"accuracy": acc, "excess_error": (1 - acc) / (1 - bayes)}
    return {"hash": f"{geometry}-{efficiency}", "scores": scores,
            "labels": {"geometry": geometry, "efficiency.value": str(efficiency)},
            "config": {"simulation": {"structure": {"geometry": {"kind": "isolated"}}}}}


def _two_slab_cases(canny_second: float) -> list[dict]:
    return [_record("slab", 0.37, 0.99, {"hed": 0.98, "canny": 0.985}),
            _record("slab", 0.52, 0.98, {"hed": 0.97, "canny": canny_second})]


def test_grid_labels_come_from_campaign_json(summarize):
    record = _record("slab-spheres", 0.37, 0.99, {})
    campaign = {"cases": [{"hash": record["hash"], "labels": {"geometry": "ellipsoids", "x": "1"}}]}
    assert summarize.grid_labels(summarize.with_labels([record], campaign)[0]) == \
        {"geometry": "ellipsoids", "x": "1"}
    assert "labels" in record and record["labels"]["geometry"] == "slab-spheres"  # not modified
    assert summarize.grid_labels(summarize.with_labels([record], {})[0]) == {"geometry": "isolated"}


def test_compact_table_means_and_excess_ranges(summarize):
    lines = summarize.compact_table(_two_slab_cases(0.975)).splitlines()
    assert lines[0] == "| geometry (cases) | Bayes | hed | canny |"
    # Bayes mean 0.985; hed accuracy mean 0.975, excess 2.0 and 1.5; canny 0.980, 1.5 and 1.25
    assert lines[2] == "| slab (2) | 0.985 | 0.975 [1.50-2.00] | 0.980 [1.25-1.50] |"


def test_cases_table_bolds_the_best_method_and_averages(summarize):
    lines = summarize.cases_table(_two_slab_cases(0.96)).splitlines()
    assert lines[0] == "| case | Bayes accuracy | hed | canny |"
    assert lines[2] == "| 0.37 | 0.9900 | 2.00 | **1.50** |"
    assert lines[3] == "| 0.52 | 0.9800 | **1.50** | 2.00 |"
    assert lines[4] == "| **mean** | | 1.75 | 1.75 |"
