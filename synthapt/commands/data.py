"""Data commands: ``synthapt info``, ``synthapt convert`` (filled in by the I/O layer)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
