"""``synthapt emulate``: atom-probe emulation of a specimen file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import QUIET_HELP, console, progress_bar
from synthapt.apt.emulate import STAGES
from synthapt.io.apt_files import emulate_files, load_params


def register(app: typer.Typer) -> None:
    @app.command("emulate")
    def emulate_command(
        specimen: Path = typer.Argument(..., help="Specimen file (.h5 from 'synthapt simulate')."),
        output: Path = typer.Option(..., "-o", "--output", help="Dataset file to write (.h5)."),
        instrument: Optional[str] = typer.Option(
            None, "--instrument", help="Instrument preset: leap4000xhr, leap5000xr, leap5000xs, "
                                       "eikos (overrides the parameter file)."),
        params: Optional[Path] = typer.Option(None, "--params", help="Emulation parameters (TOML)."),
        seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
        pos: Optional[Path] = typer.Option(None, "--pos", help="Also write a POS file."),
        epos: Optional[Path] = typer.Option(None, "--epos", help="Also write an ePOS file."),
        rrng: Optional[Path] = typer.Option(None, "--rrng", help="Also write the RRNG range file."),
        quiet: bool = typer.Option(False, "--quiet", help=QUIET_HELP),
    ) -> None:
        """Emulate an atom-probe analysis: detected ions with ground truth, ranged."""
        emulation = load_params(params, instrument)
        with progress_bar(quiet) as bar:
            task = bar.add_task("emulate", total=len(STAGES))
            dataset = emulate_files(specimen, output, emulation, seed, pos, epos, rrng,
                                    progress=lambda name, bundle: bar.update(
                                        task, advance=1, description=f"emulate: {name}"))
        rep = dataset.metadata["ranging"]
        console(quiet).print(
            f"{dataset.n_ions} ions ({dataset.metadata['instrument_label']}), "
            f"{rep['misassigned_fraction']:.3%} misassigned, {rep['unranged_fraction']:.3%} "
            f"unranged -> {output}")
