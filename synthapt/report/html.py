"""HTML of the report: one page, inline CSS, no scripts or external resources (works offline)."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from synthapt import __version__
from synthapt.scoring.metrics import SUMMARY_METRICS, TARGETS, metric_info, metric_order, worse_than

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 7px; text-align: right; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
td.pass { background: #dff3df; } td.fail { background: #f8d7d7; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 0.78em; overflow-x: auto; }
.wide { overflow-x: auto; }
.note { color: #8a5a00; font-size: 0.85em; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool) or isinstance(value, str):
        return esc(value)
    if isinstance(value, int):
        return str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return esc(value)
    return "&ndash;" if not np.isfinite(x) else f"{x:.4g}"


def verdict(name: str, value: Any) -> str:
    """CSS class 'pass'/'fail' for metrics with a suite target, '' otherwise."""
    if name not in TARGETS or value is None or isinstance(value, str):
        return ""
    return "fail" if worse_than(name, float(value), TARGETS[name]) else "pass"


GENERATOR = "synthapt"
"""``<meta name=generator>`` of every page: how a later run recognises its own HTML."""


def page(title: str, summary: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"{GENERATOR}\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n<p>synthapt {esc(__version__)}. Green / red cells meet / miss "
        "the validation targets (accuracy &ge; 0.98, Dice &ge; 0.97, mean interface distance "
        "&le; 0.3 nm, profile RMSE &le; 1.5 at.%, plateau error &le; 0.5 at.%).</p>\n"
        f"<h2>Summary</h2>\n{summary}\n" + "\n".join(sections) + "\n</body>\n</html>\n")


def summary_table(cases: list) -> str:
    """One row per (case, method) with the key metrics."""
    cols = [m for m in SUMMARY_METRICS if any(m in s for c in cases for s in c.scores.values())]
    rows = ["<table>\n<tr><th class=\"name\">case</th><th class=\"name\">method</th>"
            + "".join(f"<th>{esc(m)}</th>" for m in cols) + "</tr>"]
    for index, case in enumerate(cases):
        for method, scores in case.scores.items():
            cells = "".join(f"<td class=\"{verdict(m, scores.get(m))}\">{fmt(scores.get(m))}</td>"
                            for m in cols)
            rows.append(f"<tr><td class=\"name\"><a href=\"#case{index:03d}\">{esc(case.name)}"
                        f"</a></td><td class=\"name\">{esc(method)}</td>{cells}</tr>")
    return "<div class=\"wide\">" + "\n".join(rows) + "\n</table></div>"


def metric_table(scores: dict[str, dict[str, Any]]) -> str:
    """Every metric (rows) of every method (columns), with units and direction."""
    names: list[str] = []
    for values in scores.values():
        names += [k for k in values if k not in names]
    names.sort(key=metric_order)
    out = ["<table>\n<tr><th class=\"name\">metric</th><th>unit</th><th>better</th>"
           + "".join(f"<th>{esc(m)}</th>" for m in scores) + "</tr>"]
    for name in names:
        info = metric_info(name)
        cells = "".join(f"<td class=\"{verdict(name, s.get(name))}\">{fmt(s.get(name))}</td>"
                        for s in scores.values())
        out.append(f"<tr><td class=\"name\">{esc(name)}</td><td>{esc(info.unit if info else '')}"
                   f"</td><td>{esc(info.better if info else '')}</td>{cells}</tr>")
    return "\n".join(out) + "\n</table>"


def case_html(case, figures: list[tuple[str, str]], notes: list[str], anchor: str,
              extra: dict[str, Any] | None = None) -> str:
    """Section of one case: metrics, figures, notes, configuration and provenance; ``extra``
    maps further collapsible titles to JSON-able data (e.g. the dataset's own provenance)."""
    parts = [f"<h2 id=\"{esc(anchor)}\">{esc(case.name)}</h2>"]
    facts = [f"{k}: {fmt(case.data[k])}" for k in ("hash", "n_atoms", "n_ions") if k in case.data]
    if facts:
        parts.append(f"<p>{' &middot; '.join(facts)}</p>")
    if case.scores:
        parts.append(metric_table(case.scores))
    for name, caption in figures:
        parts.append(f"<figure><img src=\"{esc(name)}\" alt=\"{esc(caption)}\">"
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    for note in notes:
        parts.append(f"<p class=\"note\">{esc(note)}</p>")
    for key, label in (("config", "Configuration"), ("score_params", "Scoring parameters"),
                       ("provenance", "Provenance (versions, seeds, command)"),
                       ("files", "Files (SHA-256)"), ("inputs", "Inputs")):
        if case.data.get(key):
            parts.append(_details(label, case.data[key]))
    for label, data in (extra or {}).items():
        if data:
            parts.append(_details(label, data))
    return "\n".join(parts)


def _details(label: str, data: Any) -> str:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    return f"<details><summary>{esc(label)}</summary><pre>{esc(text)}</pre></details>"


def grid_slice(result: Any, name: str, axis: int = 2) -> tuple[np.ndarray, tuple] | None:
    """(2-D middle slice normal to ``axis`` of the 3-D grid ``result.<name>``, extent in nm),
    using the result's ``origin`` (nm) and ``voxel_size`` (nm); None if it has no such grid."""
    field = getattr(result, name, None)
    origin = getattr(result, "origin", None)
    voxel = getattr(result, "voxel_size", None)
    if field is None or np.ndim(field) != 3 or origin is None or voxel is None:
        return None
    field = np.asarray(field, dtype=np.float32)
    image = np.take(field, field.shape[axis] // 2, axis=axis)
    u, v = [k for k in range(3) if k != axis]
    origin = np.asarray(origin, dtype=np.float64)
    extent = (origin[u], origin[u] + voxel * field.shape[u],
              origin[v], origin[v] + voxel * field.shape[v])
    return image.T, extent
