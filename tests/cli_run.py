"""Run synthapt as users do: the installed console script (or ``python -m synthapt``) in a
subprocess, with this checkout first on the import path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("synthapt")


def command(args, console_script: bool = True) -> list[str]:
    """The argv running ``synthapt ARGS`` through the console script or ``-m synthapt``."""
    head = [str(CONSOLE_SCRIPT)] if console_script else [sys.executable, "-m", "synthapt"]
    return head + [str(a) for a in args]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def synthapt(*args, console_script: bool = True, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``synthapt ARGS`` to completion; stdout/stderr captured as text."""
    return subprocess.run(command(args, console_script), capture_output=True, text=True, cwd=cwd,
                          env=cli_env(), timeout=timeout)


def assert_clean_error(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """The process exited ``code`` with exactly one ``error:`` line and no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]
