"""Helpers shared by CLI commands: error-raising wrapper for tests, quiet-aware progress."""

from __future__ import annotations

import contextlib
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

QUIET_HELP = "Hide progress bars and summaries."


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
