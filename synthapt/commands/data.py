"""Data commands: ``synthapt info`` (what a file holds) and ``synthapt convert`` (POS/ePOS/APT/HDF5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import quiet_option
from synthapt.errors import SynthaptError
from synthapt.io import convert_file
from synthapt.io.summary import format_summary, is_segmentation_file, summarize, summarize_segmentation
from synthapt.segmentation.result import read_segmentation

RANGES_HELP = "Range file (.rrng or .rng) to range the ions with."


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        file: Path = typer.Argument(..., help="Data file: .h5 (dataset, specimen or segmentation), "
                                              ".pos, .epos, .apt, .rrng or .rng."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", "-r", help=RANGES_HELP),
        peaks: int = typer.Option(20, "--peaks", help="List at most this many m/q peaks (the largest); "
                                                       "0 lists all."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (all peaks)."),
    ) -> None:
        """Ion count, bounding box, m/q peaks, composition, ePOS fields and ground truth of a data
        file; method, ions per phase and mesh area of a segmentation file."""
        if peaks < 0:
            raise SynthaptError(f"--peaks: must be >= 0 (0 lists all peaks), got {peaks}")
        if is_segmentation_file(file):
            summary = summarize_segmentation(read_segmentation(file), file)
        else:
            summary = summarize(file, ranges)
        typer.echo(json.dumps(summary, indent=1) if as_json else "\n".join(format_summary(summary, peaks)))

    @app.command("convert")
    def convert_command(
        source: Path = typer.Argument(..., help="Input: .h5, .pos, .epos or .apt."),
        target: Path = typer.Argument(..., help="Output: .h5, .pos, .epos or .apt (by extension)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", "-r", help=RANGES_HELP),
        quiet: bool = quiet_option("Print nothing on success."),
    ) -> None:
        """Convert between POS, ePOS, APT6 (.apt) and the synthapt HDF5 file."""
        dataset = convert_file(source, target, ranges)
        if not quiet:
            typer.echo(f"wrote {dataset.n_ions} ions to {target}")
