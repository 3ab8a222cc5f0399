"""HTML validation reports: metric tables, proxigram overlays, label maps, edge slices, provenance.

``synthapt.report.results.load_results(path)`` reads case results (``synthapt score --json``
output, a campaign's per-case ``result.json``, a folder of either, or segmentation files to
score), and ``write_report(cases, out_dir)`` writes ``out_dir/index.html`` plus PNG figures, atomically
(built in a temporary folder, then renamed). The page needs no network: CSS is inline, images
are local files. ``write_campaign_report(path, results)`` writes one self-contained HTML file
(images embedded) for a campaign folder.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from synthapt.data import Profile
from synthapt.errors import SynthaptError
from synthapt.io.atomic import atomic_folder, atomic_output, check_new_folder
from synthapt.io.hdf5 import read_dataset
from synthapt.io.labels import read_labels
from synthapt.report import figures as rf
from synthapt.report.html import GENERATOR, case_html, esc, grid_slice, page, summary_table
from synthapt.report.results import CaseResult
from synthapt.scoring.case_scores import UserSegmentation, recovered_profile
from synthapt.scoring.metrics import TARGETS, ScoreParams
from synthapt.scoring.score import truth_profile_of_dataset
from synthapt.segmentation.result import read_segmentation
from synthapt.spatial.mesh import read_mesh

Progress = Callable[[int, int], None]
"""progress(done, total): called after each case section is written."""

REPORT_MARKER = ".synthapt-report"
"""File that marks a folder as a report written by ``write_report`` (the next report may replace
it)."""

PROFILE_IONS = 2_000_000
"""Profiles computed for figures only (results without stored profiles) use at most this many
ions, a fixed random subset."""
# ----------------------------------------------------------------------------- writing


def write_report(cases: list[CaseResult], out_dir: str | Path, title: str = "synthapt report",
                 progress: Progress | None = None) -> Path:
    """Write ``out_dir/index.html`` and its PNG figures; returns the index path.

    ``out_dir`` must be new, empty or a previous report (it holds ``REPORT_MARKER``): only a
    previous report is replaced, never other files (SynthaptError before any work). The folder
    is built next to ``out_dir`` and renamed into place only when complete."""
    out_dir = Path(out_dir)
    if not cases:
        raise SynthaptError(f"{out_dir}: no case results to report")
    check_report_folder(out_dir)
    with atomic_folder(out_dir, marker=REPORT_MARKER, parents=True) as tmp:
        body = _render(cases, tmp, title, progress)
        (tmp / "index.html").write_text(body, encoding="utf-8")
    return out_dir / "index.html"


def check_report_folder(out_dir: str | Path) -> Path:
    """SynthaptError unless ``out_dir`` is a new folder (its parent existing), an empty one or a
    previous report folder; call before any work."""
    return check_new_folder(out_dir, marker=REPORT_MARKER, parents=True)


def check_campaign_report(path: str | Path) -> Path:
    """SynthaptError unless ``path`` is new or a report that synthapt wrote (its head names
    synthapt as generator, or is titled 'synthapt campaign'); call before any work."""
    path = Path(path)
    if path.exists():
        head = path.read_bytes()[:4096] if path.is_file() else b""
        if (f'name="generator" content="{GENERATOR}"'.encode() not in head
                and b"<title>synthapt campaign" not in head):
            raise SynthaptError(f"{path}: exists and was not written by synthapt; move it away "
                                "(the campaign writes its report there)")
    return path


def write_campaign_report(path: str | Path, results: list[dict], title: str = "synthapt campaign",
                          progress: Progress | None = None) -> Path:
    """One self-contained HTML file (images embedded) for a campaign's per-case results; case
    files are looked up in ``path.parent/<hash>/``."""
    path = check_campaign_report(path)
    cases = []
    for data in results:
        folder = path.parent / str(data.get("hash", ""))
        cases.append(CaseResult(data, folder if folder.is_dir() and data.get("hash") else None,
                                str(folder)))
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".report-") as tmp:
        html = _render(sorted(cases, key=lambda c: c.name), Path(tmp), title, progress)
        for png in sorted(Path(tmp).glob("*.png")):
            uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
            html = html.replace(f'src="{png.name}"', f'src="{uri}"')
        with atomic_output(path) as out:
            out.write_text(html, encoding="utf-8")
            out.chmod(0o644)  # a page to share (the temporary file is private)
    return path


def _render(cases: list[CaseResult], folder: Path, title: str, progress: Progress | None) -> str:

    sections = []
    if len(cases) > 1:
        sections.append(_overview(cases, folder))
    for index, case in enumerate(cases):
        sections.append(_case_section(case, folder, f"case{index:03d}"))
        if progress is not None:
            progress(index + 1, len(cases))
    return page(title, summary_table(cases), sections)


KEY_METRICS = ("excess_error", "accuracy", "mcc", "dice", "interface_distance_mean", "profile_rmse",
               "plateau_error")
"""The metrics of the report's figures: the excess error over the Bayes rule leads."""


def _overview(cases: list[CaseResult], folder: Path) -> str:
    """Grouped-bar figure of the key metrics over all cases and methods."""
    wanted = [(m, TARGETS.get(m)) for m in KEY_METRICS
              if any(m in s for c in cases for s in c.scores.values())]
    if not wanted:
        return ""
    rf.campaign_overview([(c.name, c.scores) for c in cases], wanted, folder / "overview.png")
    caption = "Key metrics of every case and method (oracle, bayes and truth-mesh are the ceilings); dashed: targets."
    return (f"<figure><img src=\"overview.png\" alt=\"{esc(caption)}\">"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _case_section(case: CaseResult, folder: Path, prefix: str) -> str:
    """HTML of one case: metric table, figures (where the data allow), config, provenance."""

    figures: list[tuple[str, str]] = []
    notes = [f"{method}: no scores ({message})"
             for method, message in (case.data.get("errors") or {}).items()]
    profiles = case.profiles()
    artifacts = _load_artifacts(case, notes)
    if not profiles and artifacts:
        profiles = _profiles_from_artifacts(artifacts, notes)
    if profiles:
        elements = _profile_elements(profiles)
        name = f"{prefix}_proxigram.png"
        rf.proxigram_overlay(profiles, elements, folder / name, title=case.name)
        figures.append((name, "Composition profiles vs distance to the interface: ground truth "
                              "(black) and each method's proxigram; bars: 1-sigma counting error."))
    else:
        notes.append("no profiles in the result and no dataset/segmentation files to compute them")
    if case.scores:
        name = f"{prefix}_metrics.png"
        wanted = [(m, TARGETS.get(m)) for m in KEY_METRICS
                  if any(m in s for s in case.scores.values())]
        if wanted:
            rf.metric_bars(case.scores, wanted, folder / name, title=case.name)
            figures.append((name, "Key metrics per method; dashed: target of the validation "
                                  "suite (interface shift shown as |value|)."))
    extra = {}
    if artifacts:
        figures += _artifact_figures(artifacts, folder, prefix, case.name, notes)
        extra["Dataset provenance (emulation, specimen, seeds)"] = artifacts["dataset"].metadata
        extra["Segmentation parameters"] = {
            m: getattr(r, "params", None) for m, r in artifacts["segmentations"].items()
            if getattr(r, "params", None)}
    return case_html(case, figures, notes, prefix, extra)


def _profile_elements(profiles: dict[str, Profile]) -> list[str]:
    truth = profiles.get("truth") or next(iter(profiles.values()))
    return [n for n in truth.species_names
            if any(n in p.species_names for k, p in profiles.items() if k != "truth")] or \
        list(truth.species_names)


def _load_artifacts(case: CaseResult, notes: list[str]) -> dict[str, Any] | None:
    """Dataset and segmentations (or user labels/meshes) of a case, read from its files."""
    if case.dataset is not None:
        return {"dataset": case.dataset, "segmentations": dict(case.segmentations or {})}
    inputs = case.data.get("inputs") or {}
    folder = case.folder
    dataset_path = _resolve(inputs["dataset"], folder) if "dataset" in inputs else (
        folder / "dataset.h5" if folder else None)
    if dataset_path is None or not Path(dataset_path).is_file():
        return None
    dataset = read_dataset(dataset_path)
    segs = {}
    for method in case.scores:
        try:
            result = _method_result(method, inputs, folder)
        except (ImportError, SynthaptError) as exc:
            notes.append(f"{method}: segmentation not loaded ({exc})")
            continue
        if result is not None:
            segs[method] = result
    return {"dataset": dataset, "segmentations": segs}


def _resolve(spec: str, folder: Path | None) -> str:
    """A file named in a result's ``inputs``: as given if it exists (relative to the working
    folder), else relative to the result's folder. ``file.h5:/inner`` specs keep their suffix."""
    path, sep, inner = spec.partition(".h5:")
    file_part = path + ".h5" if sep else spec
    if Path(file_part).exists() or folder is None or Path(file_part).is_absolute():
        return spec
    return str(folder / file_part) + (":" + inner if sep else "")


def _method_result(method: str, inputs: dict[str, str], folder: Path | None):
    """A method's segmentation file, or its user labels (+ mesh) named in ``inputs``."""
    if f"{method}.labels" in inputs:
        mesh = inputs.get(f"{method}.mesh")
        mesh = None if mesh is None else read_mesh(_resolve(mesh, folder))
        if mesh is not None and inputs.get(f"{method}.mesh_flipped"):
            mesh = mesh.flipped()
        return UserSegmentation(read_labels(_resolve(inputs[f"{method}.labels"], folder)), mesh,
                                method)
    seg_path = Path(_resolve(inputs[method], folder)) if method in inputs else (
        folder / f"seg_{method}.h5" if folder else None)
    if seg_path is None or not seg_path.is_file():
        return None
    return read_segmentation(seg_path)


def _profiles_from_artifacts(artifacts: dict[str, Any], notes: list[str]) -> dict[str, Profile]:

    dataset = artifacts["dataset"]
    if dataset.truth is None or dataset.truth.geometry is None:
        return {}
    if dataset.n_ions > PROFILE_IONS:
        pick = np.sort(np.random.default_rng(0).choice(dataset.n_ions, PROFILE_IONS, replace=False))
        dataset = dataset.subset(pick)
        notes.append(f"profiles drawn from a fixed random {PROFILE_IONS} of the ions "
                     "(the scores use all ions)")
    params = ScoreParams()
    profiles = {"truth": truth_profile_of_dataset(dataset, params.bin_width)}
    for method, result in artifacts["segmentations"].items():
        try:
            profile = recovered_profile(result, dataset, params)
        except SynthaptError as exc:
            notes.append(f"{method}: no proxigram ({exc})")
            continue
        if profile is not None:
            profiles[method] = profile
    return profiles


def _artifact_figures(artifacts: dict[str, Any], folder: Path, prefix: str, title: str,
                      notes: list[str]) -> list[tuple[str, str]]:

    dataset, segs = artifacts["dataset"], artifacts["segmentations"]
    figures = []
    if dataset.truth is not None and segs:
        name = f"{prefix}_labels.png"
        labels = {m: np.asarray(r.labels) for m, r in segs.items()}
        rf.label_maps(dataset.positions, dataset.truth.phase, labels, folder / name, title=title)
        figures.append((name, "Ions of a 2 nm slab through the middle (normal y): true phase, "
                              "each method's labels (orange precipitate, blue matrix), "
                              "misclassified ions in red."))
        name = f"{prefix}_projections.png"
        rf.label_projections(dataset.positions, dataset.truth.phase, labels, folder / name,
                             title=title)
        figures.append((name, "Label projections along y (whole depth): fraction of the ions "
                              "in each column that are (truly / labelled) precipitate."))
    edge_fig = _edge_figure(dataset, segs, folder / f"{prefix}_edges.png", title, notes)
    if edge_fig is not None:
        figures.append((edge_fig.name, "Middle z slice of the concentration each method segmented, "
                                       "with its detected edge probability in red (opacity = "
                                       "probability)."))
    return figures


def _edge_figure(dataset, segs: dict[str, Any], path: Path, title: str, notes: list[str]):
    """Middle z slice of each method's concentration grid with its edge field overlaid; methods
    without grids (e.g. user labels) share a concentration slice of the ions. None if unranged."""
    panels = {}
    for method, result in segs.items():
        edges = grid_slice(result, "edge_field")
        conc = grid_slice(result, "concentration")
        if edges is not None and conc is not None:
            elements = "+".join(getattr(result, "elements", ()) or ("",))
            panels[method] = {"conc": conc[0], "conc_extent": conc[1], "edges": edges[0],
                              "edge_extent": edges[1], "label": f"edges over {elements} at.%"}
    if not panels:
        if dataset.species is None or not dataset.species_names:
            return None
        element = _partitioning_ion(dataset)
        code = dataset.species_names.index(element)
        conc, extent = rf.concentration_slice(dataset.positions, dataset.species == code,
                                              dataset.species >= 0, axis=2, thickness=1.0,
                                              pixel=0.5)
        panels["ions"] = {"conc": conc, "conc_extent": extent, "label": f"{element} at.% (ions)"}
        notes.append("no edge fields stored with the segmentations (concentration slice only)")
    return rf.edge_slice(panels, path, title=title)


def _partitioning_ion(dataset) -> str:
    """The ranged species with (nearly, >= 90 %) the largest concentration contrast between true
    precipitate and matrix; among those, the one rarer in the matrix (the solute)."""
    names = dataset.species_names
    if dataset.truth is None or len(names) == 1:
        return names[-1]
    inside, outside = dataset.truth.phase == 1, dataset.truth.phase == 0
    contrast, matrix = [], []
    for code in range(len(names)):
        is_it = dataset.species == code
        a = float(is_it[inside].mean()) if inside.any() else 0.0
        matrix.append(float(is_it[outside].mean()) if outside.any() else 0.0)
        contrast.append(abs(a - matrix[-1]))
    top = [k for k in range(len(names)) if contrast[k] >= 0.9 * max(contrast)]
    return names[min(top, key=matrix.__getitem__)]
