"""``synthapt segment`` (edge-detection or iso-surface segmentation) and ``synthapt proxigram``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import QUIET_HELP, console, progress_bar

METHODS = ("hed", "canny", "sobel", "learned", "iso")


def register(app: typer.Typer) -> None:
    @app.command("segment")
    def segment_command(
        data: Path = typer.Argument(..., help="Dataset: synthapt .h5, or .pos/.epos/.apt (with --ranges)."),
        output: Path = typer.Option(..., "-o", "--output", help="Segmentation file to write (.h5)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", help="Range file (.rrng/.rng)."),
        method: str = typer.Option("hed", "--method", help="hed, canny, sobel, learned or iso."),
        element: Optional[str] = typer.Option(
            None, "--element", help="Partitioning element(s), e.g. Al or Al+Ti (default: the most "
                                    "varying one; required for iso)."),
        iso_value: float = typer.Option(12.0, "--iso-value", help="Iso-concentration, at.% (iso)."),
        voxel: Optional[float] = typer.Option(None, "--voxel", help="Voxel size, nm."),
        delocalization: Optional[float] = typer.Option(None, "--delocalization",
                                                       help="Gaussian delocalization sigma, nm."),
        params: Optional[Path] = typer.Option(None, "--params", help="Segmentation parameters (TOML)."),
        mesh: Optional[Path] = typer.Option(None, "--mesh", help="Also write the interface mesh "
                                                                 "(.ply/.obj/.stl)."),
        quiet: bool = typer.Option(False, "--quiet", help=QUIET_HELP),
    ) -> None:
        """Segment a dataset into matrix and precipitate; write labels, mesh and edge field."""
        from synthapt.io import load_dataset
        from synthapt.mesh import write_mesh
        from synthapt.segment import load_segment_params, run_segmentation, write_segmentation

        seg_params = load_segment_params(params, method, element, voxel, delocalization)
        dataset = load_dataset(data, ranges=ranges)
        with progress_bar(quiet) as bar:
            task = bar.add_task(f"segment ({method})", total=None)
            result = run_segmentation(dataset, seg_params, method, iso_value, progress=lambda stage, done, total:
                                      bar.update(task, completed=done, total=total,
                                                 description=f"segment: {stage}"))
        write_segmentation(output, result, dataset_path=str(data),
                           ranges_path=None if ranges is None else str(ranges))
        if mesh is not None and result.mesh is not None:
            write_mesh(mesh, result.mesh)
        summary = result.message or (f"interface {result.mesh.area:.1f} nm^2, "
                                     f"{result.precipitate_fraction:.2%} of ions precipitate")
        console(quiet).print(f"{dataset.n_ions} ions, {'+'.join(result.elements)}: {summary} -> {output}")

    @app.command("proxigram")
    def proxigram_command(
        segmentation: Path = typer.Argument(..., help="Segmentation file from 'synthapt segment'."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset (default: the one recorded "
                                                                 "in the segmentation file)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", help="Range file (default: recorded)."),
        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the profile as CSV."),
        bin_width: float = typer.Option(0.2, "--bin-width", help="Bin width, nm."),
        quiet: bool = typer.Option(False, "--quiet", help=QUIET_HELP),
    ) -> None:
        """Proxigram of the ions against the segmentation's interface mesh."""
        from synthapt.profiles import proxigram_file, write_profile_csv

        with progress_bar(quiet) as bar:
            task = bar.add_task("proxigram", total=None)
            profile = proxigram_file(segmentation, data, ranges, bin_width,
                                     progress=lambda done, total: bar.update(task, completed=done, total=total))
        if csv is not None:
            write_profile_csv(csv, profile)
        from synthapt.profiles import plateau

        out = console(quiet)
        matrix, precipitate = plateau(profile, None, -1.5), plateau(profile, 1.5, None)
        for name in profile.species_names:
            out.print(f"{name}: {matrix[name]:.2f} at.% (matrix, d < -1.5 nm), "
                      f"{precipitate[name]:.2f} at.% (precipitate, d > 1.5 nm)")
        if csv is not None:
            out.print(f"{len(profile.centers)} bins -> {csv}")
