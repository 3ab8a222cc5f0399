"""Helpers shared by CLI commands: the --quiet flag, quiet-aware console and progress."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

QUIET_HELP = "Hide progress bars and summaries."


def quiet_option(help: str = QUIET_HELP) -> Any:
    """The ``--quiet`` / ``-q`` flag every command that reports progress takes."""
    return typer.Option(False, "--quiet", "-q", help=help)


def console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet)


@contextlib.contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress]:
    """A rich progress display on stderr, disabled when ``quiet``."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console(quiet), disable=quiet,
        transient=False,
    ) as progress:
        yield progress
