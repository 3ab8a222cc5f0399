"""Command-line interface: ``synthapt COMMAND``. Each command is a thin wrapper over a public
library function; commands live in ``synthapt/commands/`` and register themselves here.

Any ``SynthaptError`` (bad input, failed external step) is printed as one line on stderr and the
process exits with status 2, without a traceback.
"""

from __future__ import annotations

import sys

import click
import typer

from synthapt import __version__
from synthapt.commands import COMMAND_MODULES
from synthapt.errors import SynthaptError

app = typer.Typer(
    name="synthapt",
    help="Synthetic atom-probe datasets with ground truth, and validation of interface segmentation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synthapt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """synthapt: generate synthetic APT data and score interface segmentation against truth."""


for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Entry point of the console script: run the app, turn package errors into exit code 2."""
    try:
        app(standalone_mode=False)
    except SynthaptError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
