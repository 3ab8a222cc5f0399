"""Matplotlib (Agg) figures of the HTML report; each function writes one PNG and returns its path.

Figures: proxigram overlays (truth vs each method, 1-sigma counting error bars), a metric
comparison across methods, label maps of a slab through the data (true phase, recovered labels,
misclassified ions), and a concentration slice with the detected edge field overlaid.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from synthapt.data import Profile  # noqa: E402

PNG_META = {"Software": None}  # nothing time- or version-dependent in the files
TRUTH_STYLE = {"color": "black", "lw": 2.0}
DPI = 90


MAX_COLUMNS = 5
"""Panels per row of the per-method figures (more methods wrap onto further rows)."""
UNREFINED_SUFFIX = "-edge"
"""``synthapt.segmentation.params.UNREFINED_SUFFIX`` (not imported here: that module loads torch)."""


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, metadata=PNG_META)
    plt.close(fig)
    return path


def method_colors(names: list[str]) -> dict[str, tuple]:
    """An RGB colour per method name from matplotlib's paired "tab20": one hue per method in order
    of first appearance, the dark shade for "<m>" and the light one for its unrefined variant
    "<m>-edge", so the two read as a pair; beyond 10 hues the colours repeat."""
    palette = plt.get_cmap("tab20").colors
    hues: dict[str, int] = {}
    colors = {}
    for name in names:
        base = name[: -len(UNREFINED_SUFFIX)] if name.endswith(UNREFINED_SUFFIX) else name
        hue = hues.setdefault(base, len(hues))
        colors[name] = palette[2 * (hue % 10) + (base != name)]
    return colors


def _panels(n: int, width: float, height: float):
    """(figure, the first ``n`` axes): a grid of ``n`` panels, at most ``MAX_COLUMNS`` per row,
    each ``width`` x ``height`` inches; the unused cells of the last row are hidden."""
    columns = max(1, min(n, MAX_COLUMNS))
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def proxigram_overlay(profiles: dict[str, Profile], elements: list[str], path: Path,
                      window: float = 6.0, title: str = "") -> Path:
    """One panel per element: at.% vs signed distance (nm) for the truth and every method."""
    fig, axes = plt.subplots(1, len(elements), figsize=(4.6 * len(elements), 3.6), squeeze=False)
    colors = method_colors([name for name in profiles if name != "truth"])
    for ax, element in zip(axes[0], elements):
        for name, prof in profiles.items():
            if element not in prof.species_names:
                continue
            col = prof.column(element)
            ok = (prof.totals > 0) & (np.abs(prof.centers) <= window)
            style = TRUTH_STYLE if name == "truth" else {"color": colors[name], "lw": 1.2}
            ax.errorbar(prof.centers[ok], prof.concentration[ok, col], yerr=prof.error[ok, col],
                        label=name, capsize=1.5, elinewidth=0.7, **style)
        ax.axvline(0.0, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("distance to interface (nm, + inside precipitate)")
        ax.set_ylabel(f"{element} (at.%)")
        ax.set_xlim(-window, window)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def metric_bars(scores: dict[str, dict[str, Any]], metrics: list[tuple[str, float | None]],
                path: Path, title: str = "") -> Path:
    """Bar chart per metric (one bar per method), with the target value as a dashed line."""
    methods = list(scores)
    colors = method_colors(methods)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 3.2), squeeze=False)
    for ax, (name, target) in zip(axes[0], metrics):
        values = [np.nan if scores[m].get(name) is None else abs(float(scores[m][name]))
                  for m in methods]
        ax.bar(range(len(methods)), np.nan_to_num(values), color=[colors[m] for m in methods])
        if target is not None:
            ax.axhline(target, color="tab:red", ls="--", lw=1)
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=7)
        ax.set_title(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def slab_mask(positions: np.ndarray, axis: int = 1, thickness: float = 2.0) -> np.ndarray:
    """(M,) bool: ions within +-thickness/2 nm of the middle plane normal to ``axis``."""
    coord = positions[:, axis]
    mid = 0.5 * (float(coord.min()) + float(coord.max()))
    return np.abs(coord - mid) <= thickness / 2


def label_maps(positions: np.ndarray, truth_phase: np.ndarray, labels: dict[str, np.ndarray],
               path: Path, axis: int = 1, thickness: float = 2.0, max_points: int = 40_000,
               title: str = "") -> Path:
    """Ions of a central slab (normal ``axis``, nm) coloured by true phase, by each method's
    labels, with misclassified ions in red. At most ``max_points`` ions drawn (fixed subsample)."""
    keep = np.flatnonzero(slab_mask(positions, axis, thickness) & (truth_phase >= 0))
    if len(keep) > max_points:
        keep = np.sort(np.random.default_rng(0).choice(keep, max_points, replace=False))
    u, v = [k for k in range(3) if k != axis]
    x, y = positions[keep, u], positions[keep, v]
    panels = [("truth", truth_phase[keep], None)] + [
        (name, lab[keep], lab[keep] != truth_phase[keep]) for name, lab in labels.items()]
    fig, axes = _panels(len(panels), 3.4, 3.6)
    size = float(np.clip(2e4 / max(len(keep), 1), 0.3, 6.0))
    for ax, (name, lab, wrong) in zip(axes, panels):
        ax.scatter(x, y, c=np.where(lab == 1, "tab:orange", "tab:blue"), s=size, linewidths=0)
        if wrong is not None and wrong.any():
            ax.scatter(x[wrong], y[wrong], c="red", s=3 * size, linewidths=0)
        share = 0.0 if wrong is None else float(wrong.mean())
        ax.set_title(name if wrong is None else f"{name} ({100 * share:.2f} % wrong)", fontsize=8)
        ax.set_aspect("equal")
        ax.set_xlabel("xyz"[u] + " (nm)")
        ax.set_ylabel("xyz"[v] + " (nm)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def concentration_slice(positions: np.ndarray, is_element: np.ndarray, counted: np.ndarray,
                        axis: int, thickness: float, pixel: float):
    """2-D at.% image of a central slab: (image (H,W) with NaN where empty, extent tuple)."""
    keep = slab_mask(positions, axis, thickness) & counted
    u, v = [k for k in range(3) if k != axis]
    lo = positions[:, [u, v]].min(axis=0)
    hi = positions[:, [u, v]].max(axis=0)
    # at least ~20 ions per pixel on average, so the at.% image is not pure counting noise
    pixel = max(pixel, float(np.sqrt(np.prod(hi - lo) * 20.0 / max(int(keep.sum()), 1))))
    bins = [np.arange(lo[0], hi[0] + pixel, pixel), np.arange(lo[1], hi[1] + pixel, pixel)]
    total, _, _ = np.histogram2d(positions[keep, u], positions[keep, v], bins=bins)
    elem, _, _ = np.histogram2d(positions[keep & is_element, u], positions[keep & is_element, v],
                                bins=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = np.where(total > 0, 100.0 * elem / total, np.nan)
    return image.T, (bins[0][0], bins[0][-1], bins[1][0], bins[1][-1])


def edge_slice(panels: dict[str, dict[str, Any]], path: Path, title: str = "") -> Path:
    """One panel per method: a concentration slice (``conc`` (H,W) at.%, ``conc_extent``,
    ``label``) with the detected edge probability (``edges`` (H,W) in [0,1], ``edge_extent``)
    drawn in red with opacity = probability."""
    fig, axes = _panels(max(1, len(panels)), 4.2, 3.8)
    for ax, (name, panel) in zip(axes, panels.items()):
        conc = panel["conc"]
        finite = conc[np.isfinite(conc)]
        lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 100.0)
        shown = ax.imshow(conc, origin="lower", extent=panel["conc_extent"], cmap="viridis",
                          vmin=lo, vmax=max(hi, lo + 1e-6))
        edges = panel.get("edges")
        if edges is not None:
            rgba = np.zeros(edges.shape + (4,), dtype=np.float32)
            rgba[..., 0] = 1.0
            rgba[..., 3] = 0.9 * np.clip(np.nan_to_num(edges), 0.0, 1.0)
            ax.imshow(rgba, origin="lower", extent=panel["edge_extent"])
        ax.set_title(f"{name}: {panel['label']}" if edges is not None else panel["label"], fontsize=8)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="at.%")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def label_projections(positions: np.ndarray, truth_phase: np.ndarray,
                      labels: dict[str, np.ndarray], path: Path, axis: int = 1,
                      pixel: float = 0.5, title: str = "") -> Path:
    """Fraction of ions labelled precipitate in each column along ``axis`` (whole depth), for
    the truth and each method: (H,W) images with ``pixel`` nm pixels."""
    keep = truth_phase >= 0
    u, v = [k for k in range(3) if k != axis]
    lo, hi = positions[:, [u, v]].min(axis=0), positions[:, [u, v]].max(axis=0)
    bins = [np.arange(lo[0], hi[0] + pixel, pixel), np.arange(lo[1], hi[1] + pixel, pixel)]
    extent = (bins[0][0], bins[0][-1], bins[1][0], bins[1][-1])
    total, _, _ = np.histogram2d(positions[keep, u], positions[keep, v], bins=bins)
    panels = [("truth", truth_phase)] + list(labels.items())
    fig, axes = _panels(len(panels), 3.4, 3.6)
    for ax, (name, lab) in zip(axes, panels):
        inside = keep & (np.asarray(lab) == 1)
        count, _, _ = np.histogram2d(positions[inside, u], positions[inside, v], bins=bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(total > 0, count / total, np.nan)
        shown = ax.imshow(frac.T, origin="lower", extent=extent, cmap="magma", vmin=0, vmax=1)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("xyz"[u] + " (nm)")
        ax.set_ylabel("xyz"[v] + " (nm)")
    fig.colorbar(shown, ax=axes, fraction=0.02, pad=0.02, label="precipitate fraction")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def campaign_overview(cases: list[tuple[str, dict[str, dict[str, Any]]]],
                      metrics: list[tuple[str, float | None]], path: Path) -> Path:
    """Grouped bars: one group per case, one bar per method, one panel per metric (|value|),
    with the target as a dashed line."""
    methods: list[str] = []
    for _, scores in cases:
        methods += [m for m in scores if m not in methods]
    width = 0.8 / max(1, len(methods))
    colors = method_colors(methods)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(6.0, 0.9 * len(cases) + 2), 2.3 * len(metrics)),
                             squeeze=False)
    x = np.arange(len(cases))
    for ax, (metric, target) in zip(axes[:, 0], metrics):
        for k, method in enumerate(methods):
            values = [abs(float(s[method][metric])) if method in s and s[method].get(metric) is not None
                      else np.nan for _, s in cases]
            ax.bar(x + (k - (len(methods) - 1) / 2) * width, np.nan_to_num(values), width,
                   label=method, color=colors[method])
        if target is not None:
            ax.axhline(target, color="tab:red", ls="--", lw=1)
        ax.set_ylabel(metric, fontsize=7)
        ax.set_xticks(x, [])
    # case names without the suite prefix, on the bottom axis only
    short = [name.split("[", 1)[-1].rstrip("]") if "[" in name else name for name, _ in cases]
    axes[-1, 0].set_xticks(x, short, rotation=30, ha="right", fontsize=6)
    axes[0, 0].legend(fontsize=7, ncol=min(6, len(methods)))
    with warnings.catch_warnings():  # many long case names: best effort, not an error
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    return _save(fig, path)
