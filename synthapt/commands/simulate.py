"""``synthapt simulate``: LAMMPS simulation of a multiphase specimen with ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import QUIET_HELP, console, progress_bar
from synthapt.io.md_files import check_output_folder, load_simulation_config, simulate_file


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        config: Path = typer.Argument(..., help="Simulation config (TOML; see md_inputs/examples)."),
        output: Path = typer.Option(..., "-o", "--output", help="Specimen file to write (.h5)."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                              help="OpenMP threads for LAMMPS (overrides md.threads)."),
        quiet: bool = typer.Option(False, "--quiet", help=QUIET_HELP),
    ) -> None:
        """Build the structure, anneal it with LAMMPS and write the ground-truth specimen."""
        simulation = load_simulation_config(config, threads)  # bad input fails before any bar
        check_output_folder(output)
        with progress_bar(quiet) as bar:
            specimen = simulate_file(simulation, output, progress=bar)
        phases = ", ".join(
            f"{name} " + " ".join(f"{el} {pct:.2f}" for el, pct in specimen.composition(code).items())
            for code, name in ((0, "matrix"), (1, "precipitate")))
        console(quiet).print(f"{specimen.n_atoms} atoms, box {specimen.box.round(3).tolist()} nm; "
                             f"at.%: {phases} -> {output}")
