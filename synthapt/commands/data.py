"""Data commands: ``synthapt info`` (what a file holds) and ``synthapt convert`` (POS/ePOS/HDF5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from synthapt.io import convert_file
from synthapt.io.summary import format_summary, summarize

RANGES_HELP = "Range file (.rrng or .rng) to range the ions with."


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        file: Path = typer.Argument(..., help="Data file: .h5, .pos, .epos, .apt, .rrng or .rng."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", "-r", help=RANGES_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Ion count, bounding box, main m/q peaks, composition and ground truth of a data file."""
        summary = summarize(file, ranges)
        typer.echo(json.dumps(summary, indent=1) if as_json else "\n".join(format_summary(summary)))

    @app.command("convert")
    def convert_command(
        source: Path = typer.Argument(..., help="Input: .h5, .pos, .epos or .apt."),
        target: Path = typer.Argument(..., help="Output: .h5, .pos or .epos (by extension)."),
        ranges: Optional[Path] = typer.Option(None, "--ranges", "-r", help=RANGES_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
    ) -> None:
        """Convert between POS, ePOS, APT6 (read only) and the synthapt HDF5 file."""
        dataset = convert_file(source, target, ranges)
        if not quiet:
            typer.echo(f"wrote {dataset.n_ions} ions to {target}")
