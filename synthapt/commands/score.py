"""``synthapt score`` (segmentations vs ground truth) and ``synthapt report`` (HTML report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from synthapt.commands.common import console, progress_bar, quiet_option
from synthapt.io.atomic import check_outputs
from synthapt.report.build import check_report_folder, write_report
from synthapt.report.results import load_results
from synthapt.io.jsonio import write_json
from synthapt.scoring.case_scores import failed_thresholds, load_score_params, parse_thresholds, score_files
from synthapt.scoring.ceilings import REFERENCES
from synthapt.scoring.record import CaseRecord
from synthapt.scoring.metrics import metric_info, metric_order


def score_table(case: CaseRecord) -> Table:
    """A rich table: one row per metric, one column per method."""
    scores = case.scores
    table = Table(title=f"scores: {case.name}")
    table.add_column("metric")
    table.add_column("unit")
    table.add_column("better")
    for method in scores:
        table.add_column(method, justify="right")
    names: list[str] = []
    for values in scores.values():
        names += [k for k in values if k not in names]
    names.sort(key=metric_order)
    for name in names:
        info = metric_info(name)
        if info is None and not name.startswith("n_"):
            continue
        cells = [_fmt(values.get(name)) for values in scores.values()]
        table.add_row(name, info.unit if info else "", info.better if info else "", *cells)
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def score_inputs(segmentations: list[Path], truth: Path | None, labels: str | None,
                 mesh: Path | None, params: Path | None) -> list[Path]:
    """Every file ``score`` reads (``--labels file.h5:/path`` gives file.h5; the default truth is
    dataset.h5 beside the first segmentation): no output may be one of them."""
    inputs = [*segmentations, truth, mesh, params]
    if labels:
        inputs.append(Path(labels.split(":/", 1)[0]) if ":/" in labels else Path(labels))
    if segmentations:
        inputs.append(Path(segmentations[0]).parent / "dataset.h5")
    return [p for p in inputs if p is not None]


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_command(
        segmentations: list[Path] = typer.Argument(
            None, help="Segmentation files (.h5 from 'synthapt segment'); the dataset.h5 beside "
                       "the first is the ground truth unless --truth is given."),
        truth: Optional[Path] = typer.Option(None, "--truth", help="Dataset .h5 with per-ion ground truth."),
        labels: Optional[str] = typer.Option(
            None, "--labels", help="Your own per-ion labels (0 matrix, 1 precipitate) in the "
                                   "dataset's ion order: .npy, .csv (one column) or file.h5:/path."),
        mesh: Optional[Path] = typer.Option(None, "--mesh", help="Your interface mesh (.ply, .obj, .stl; nm)."),
        method: str = typer.Option("user", "--method", help="Name of your method in the output."),
        json_out: Optional[Path] = typer.Option(None, "--json", help="Write all scores (case-result JSON)."),
        params: Optional[Path] = typer.Option(
            None, "--params", help="Scoring settings (TOML: profile_window, plateau = [MIN, MAX], ..., nm)."),
        fail_under: list[str] = typer.Option(
            [], "--fail-under", help="METRIC=VALUE: exit 1 if any method scores worse (repeatable)."),
        references: bool = typer.Option(
            True, "--references/--no-references",
            help="Also score the ceilings oracle, bayes and truth-mesh, and every method's "
                 "excess error over the Bayes rule (needs the true geometry)."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Score segmentations against the ground truth of a synthetic dataset, beside the
        ceilings no method can beat (oracle, bayes, truth-mesh)."""
        thresholds = parse_thresholds(fail_under)
        check_outputs({"--json": json_out}, score_inputs(segmentations or [], truth, labels, mesh, params))
        case = score_files(segmentations or [], truth, labels, mesh, method, load_score_params(params),
                           references=REFERENCES if references else ())
        if json_out is not None:
            write_json(json_out, case.to_dict())
        if (case.inputs or {}).get(f"{method}.mesh_flipped"):
            console(quiet).print(f"note: the normals of {mesh} pointed into the precipitate; "
                                 "scored with the mesh flipped (synthapt: out of the precipitate)")
        if not quiet:
            Console().print(score_table(case))
        failures = failed_thresholds(case.scores, thresholds)
        for line in failures:
            console().print(f"[red]below threshold[/red] {line}")
        if failures:
            raise typer.Exit(1)

    @app.command("report")
    def report_command(
        results: Path = typer.Argument(
            ..., help="A case-result JSON (synthapt score --json), a segmentation .h5, a folder of "
                      "them, or a campaign output folder."),
        out: Path = typer.Option(..., "-o", "--out", help="Report folder to write (index.html + PNG figures): a new or empty folder, "
                 "or a previous report folder (replaced); any other folder is refused."),
        title: str = typer.Option("synthapt validation report", "--title", help="Page title."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Write an offline HTML report (figures, metric tables, provenance)."""
        check_report_folder(out)
        cases = load_results(results)
        with progress_bar(quiet) as bar:
            task = bar.add_task("report", total=len(cases))
            index = write_report(cases, out, title=title,
                                 progress=lambda done, total: bar.update(task, completed=done))
        console(quiet).print(f"report: {index} ({len(cases)} case(s))")
