"""``synthapt segment`` (edge-detection or iso-surface segmentation) and ``synthapt proxigram``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from synthapt.commands.common import console, progress_bar, quiet_option
from synthapt.io import load_dataset
from synthapt.io.atomic import atomic_outputs, check_output_file, check_outputs
from synthapt.segmentation.methods import check_segment_inputs, run_segmentation
from synthapt.segmentation.params import METHOD_NAMES, load_segment_params
from synthapt.segmentation.proxigram import proxigram_inputs
from synthapt.segmentation.result import write_segmentation
from synthapt.spatial.mesh import write_mesh
from synthapt.spatial.profiles import (DEFAULT_PLATEAU, check_plateau, plateau_composition, proxigram,
                                       write_profile_csv)
from synthapt.structures.truth import check_bin_width


def register(app: typer.Typer) -> None:
    @app.command("segment")
    def segment_command(
        data: Path = typer.Argument(..., help="Dataset: synthapt .h5, or .pos/.epos/.apt (with --ranges)."),
        output: Path = typer.Option(..., "-o", "--output", help="Segmentation file to write (.h5)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", help="Range file (.rrng/.rng)."),
        method: str = typer.Option("hed", "--method", help=f"{', '.join(METHOD_NAMES)} (-edge: the "
                                   "detector's own boundary, refine = 0; learned-phase: a 3-D network's "
                                   "probability of precipitate > 0.5; iso-auto: iso value at the "
                                   "midpoint of the two phase compositions)."),
        element: Optional[str] = typer.Option(
            None, "--element", help="Partitioning element(s), any letter case, e.g. Al or Al+Ti "
                                    "(default: the non-trace element with the largest partitioning "
                                    "contrast over counting noise; required for iso)."),
        iso_value: float = typer.Option(12.0, "--iso-value", help="Iso-concentration, at.% (iso; "
                                                                  "iso-auto finds its own)."),
        voxel: Optional[float] = typer.Option(None, "--voxel", help="Voxel size, nm."),
        delocalization: Optional[float] = typer.Option(None, "--delocalization",
                                                       help="Gaussian delocalization sigma, nm."),
        params: Optional[Path] = typer.Option(None, "--params", help="Segmentation parameters (TOML)."),
        mesh: Optional[Path] = typer.Option(None, "--mesh", help="Also write the interface mesh "
                                                                 "(.ply/.obj/.stl)."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Segment a dataset into matrix and precipitate; write labels, mesh and edge field."""
        seg_params = load_segment_params(params, method, element, voxel, delocalization)
        check_outputs({"--output": output, "--mesh": mesh}, inputs=[data, ranges, params])
        dataset = load_dataset(data, ranges=ranges)
        check_segment_inputs(dataset, seg_params, method, iso_value, where=data)
        with progress_bar(quiet) as bar:
            task = bar.add_task(f"segment ({method})", total=None)
            result = run_segmentation(dataset, seg_params, method, iso_value, progress=lambda stage, done, total:
                                      bar.update(task, completed=done, total=total,
                                                 description=f"segment: {stage}"))
        targets = [output] + ([mesh] if mesh is not None and result.mesh is not None else [])
        with atomic_outputs(targets) as temporary:  # all outputs or none
            write_segmentation(temporary[0], result, dataset_path=str(data),
                               ranges_path=None if ranges is None else str(ranges))
            if len(temporary) > 1:
                write_mesh(temporary[1], result.mesh)
        summary = result.message or (f"interface {result.mesh.area:.1f} nm^2, "
                                     f"{result.precipitate_fraction:.2%} of ions precipitate")
        out = console(quiet)
        out.print(f"element {'+'.join(result.elements)}: {result.phase_composition.get('element_choice', '')}")
        out.print(f"{dataset.n_ions} ions, {'+'.join(result.elements)}: {summary} -> {output}")

    @app.command("proxigram")
    def proxigram_command(
        segmentation: Path = typer.Argument(..., help="Segmentation file from 'synthapt segment'."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset (default: the one recorded "
                                                                 "in the segmentation file)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", help="Range file (default: recorded)."),
        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the profile as CSV."),
        bin_width: float = typer.Option(0.2, "--bin-width", help="Bin width, nm (> 0)."),
        plateau: Optional[Tuple[float, float]] = typer.Option(
            None, "--plateau", help="Plateau window MIN MAX, nm: bins with MIN <= |d| <= MAX on each "
                                    "side (default 1.5 5.0, as in scoring)."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Proxigram of the ions against the segmentation's interface mesh, with plateau compositions."""
        check_bin_width(bin_width, "--bin-width")
        lo, hi = check_plateau(DEFAULT_PLATEAU if plateau is None else plateau, "--plateau")
        if csv is not None:
            check_output_file(csv, inputs=[segmentation, data, ranges])
        dataset, mesh = proxigram_inputs(segmentation, data, ranges)
        with progress_bar(quiet) as bar:
            task = bar.add_task("proxigram", total=None)
            profile = proxigram(dataset, mesh, bin_width=bin_width,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
        if csv is not None:
            write_profile_csv(csv, profile)
        out = console(quiet)
        plateaus = plateau_composition(profile, (lo, hi))
        out.print(f"plateaus: matrix -{hi:g} <= d <= -{lo:g} nm, precipitate {lo:g} <= d <= {hi:g} nm")
        for name in profile.species_names:
            out.print(f"{name}: {plateaus['matrix'][name]:.2f} at.% matrix, "
                      f"{plateaus['precipitate'][name]:.2f} at.% precipitate")
        if csv is not None:
            out.print(f"{len(profile.centers)} bins -> {csv}")
