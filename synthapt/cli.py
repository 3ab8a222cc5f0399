"""Command-line interface: ``synthapt COMMAND``. Each command is a thin wrapper over a public
library function; commands live in ``synthapt/commands/`` and register themselves here.

Exit status: 0 success, 1 a checked condition failed (``score --fail-under``), 2 a usage error
or a ``SynthaptError`` (bad input, failed external step; one ``error:`` line on stderr, no
traceback), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

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
    rich_markup_mode=None,  # plain click help: flags shown as flags, not as '--quiet <bool>'
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


def _click_error_type() -> type[Exception]:
    """click's ``ClickException``, whether typer vendors click (``typer._click``) or imports it."""
    return next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


CLICK_ERROR = _click_error_type()
USAGE_EXIT = 2
INTERRUPT_EXIT = 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _usage_error(exc: Exception) -> int:
    """Print a click usage error as one ``error:`` line (help for a bare group); its exit code."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help was the message
        exc.show()
        return USAGE_EXIT
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    typer.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
    return int(getattr(exc, "exit_code", USAGE_EXIT))


def run(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status:
    0 success, 1 a checked condition failed (``score --fail-under``), 2 a usage error or a
    ``SynthaptError`` (one ``error:`` line on stderr, no traceback), 130 interrupted."""
    try:
        code = app(args=argv, prog_name="synthapt", standalone_mode=False)
    except SynthaptError as exc:
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        return USAGE_EXIT
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("error: interrupted", err=True)
        return INTERRUPT_EXIT
    except typer.Exit as exc:  # older typer lets it through in non-standalone mode
        return int(exc.exit_code)
    except CLICK_ERROR as exc:
        return _usage_error(exc)
    except OSError as exc:  # the system refused (permissions, full disk): not a bug to trace
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return USAGE_EXIT
    if code == INTERRUPT_EXIT:  # recent typer turns KeyboardInterrupt into Exit(130)
        typer.echo("error: interrupted", err=True)
    return code if isinstance(code, int) else 0


def main() -> None:
    """Entry point of the console script and of ``python -m synthapt``."""
    sys.exit(run())
