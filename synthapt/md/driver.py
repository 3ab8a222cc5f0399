"""LAMMPS driver: render the ``synthapt/md/templates/`` into stages and run them in-process.

Stages: setup (read data, potential), minimize, anneal (NPT, optional ``fix atom/swap``), quench
(minimize with ``fix box/relax``). The rendered stages joined together are a complete LAMMPS
input (``input_script``) that runs unchanged with the stand-alone ``lmp`` binary; the only
addition when run through synthapt is a ``fix external`` whose Python callback (every
``min(thermo_every, steps / 50)`` steps) drives the progress bar. Failures raise ``SimulationError`` with the last
lines of the LAMMPS log.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from synthapt.errors import SimulationError
from synthapt.md.config import MDConfig
from synthapt.md.lammps_runtime import lammps_word, new_lammps

PROGRESS_FIX = "synthapt_progress"
INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
THERMO_KEYS = ("step", "temp", "pe", "press", "vol", "lx")


TEMPLATES = Path(__file__).resolve().parent / "templates"
"""The LAMMPS input templates (package data, shipped in the wheel)."""


def template(name: str, **values: Any) -> str:
    """Template ``templates/<name>.in`` with ``{key}`` fields filled from ``values``."""
    return (TEMPLATES / f"{name}.in").read_text().format(**values)


@dataclass(frozen=True)
class Stage:
    """One block of LAMMPS commands; ``steps`` > 0 for MD runs (drives the progress bar)."""

    name: str
    commands: str
    steps: int = 0


@dataclass(frozen=True)
class MDResult:
    """Final state: positions (N, 3) Angstrom ordered by atom id (unwrapped as LAMMPS keeps them
    inside its box), types (N,) 1-based, box_lo / box_hi (3,) Angstrom, per-stage thermo
    (``THERMO_KEYS``), the cleaned log text and the LAMMPS version."""

    positions: np.ndarray
    types: np.ndarray
    box_lo: np.ndarray
    box_hi: np.ndarray
    thermo: dict[str, dict[str, float]] = field(default_factory=dict)
    log: str = ""
    version: str = ""


def render_stages(md: MDConfig, *, data_file: str, potential: str, pair_style: str,
                  elements: tuple[str, ...], velocity_seed: int, swap_seed: int,
                  with_progress: bool = True, vmax: float = 0.001) -> list[Stage]:
    """The LAMMPS stages for ``md``; ``with_progress=False`` leaves out the progress fix.
    vmax: largest fractional box change per quench iteration (``fix box/relax``)."""
    lammps_word(data_file, "data file (the temporary folder: TMPDIR)")
    lammps_word(potential, "alloy.potential")
    lammps_word(pair_style, "pair style")
    for element in elements:
        lammps_word(element, "element")
    common = dict(temperature=md.temperature, pressure=md.pressure, ftol=md.ftol,
                  max_iterations=md.min_iterations, max_evaluations=10 * md.min_iterations,
                  vmax=vmax)
    stages = [Stage("setup", template("system", data_file=data_file, pair_style=pair_style,
                                      potential=potential, elements=" ".join(elements),
                                      thermo_every=md.thermo_every) + "run 0 post no\n")]
    if md.minimize:
        stages.append(Stage("minimize", template("minimize", **common)))
    if md.steps > 0:
        text = template("anneal", timestep=md.timestep, initial_temperature=2 * md.temperature,
                        velocity_seed=velocity_seed, tdamp=md.tdamp, pdamp=md.pdamp, **common)
        if md.swaps:
            text += template("swap", swap_every=md.swap_every, swap_attempts=md.swap_attempts,
                             swap_seed=swap_seed, swap_types="1 2", **common)
        if with_progress:
            every = max(1, min(md.thermo_every, md.steps // 50 or 1))
            text += f"fix             {PROGRESS_FIX} all external pf/callback {every} {every}\n"
        text += template("run", steps=md.steps)
        unfix = ["anneal"] + (["swap"] if md.swaps else []) + ([PROGRESS_FIX] if with_progress else [])
        text += "".join(f"unfix           {name}\n" for name in unfix)
        stages.append(Stage("anneal", text, md.steps))
    if md.quench:
        stages.append(Stage("quench", template("quench", **common)))
    return stages


def input_script(stages: list[Stage]) -> str:
    """The complete LAMMPS input of ``stages``."""
    return "".join(stage.commands for stage in stages)


_TIMING_LINE = re.compile(r"^Loop time of|^Performance:|% CPU use with|^Total wall time|CPU = ")
_TIMING_TABLE = re.compile(r"^(MPI task timing breakdown|Thread timing breakdown)")


def clean_log(text: str, workdir: Path | None = None) -> str:
    """The LAMMPS log without timings (wall/CPU times, per-section timing tables) and with the
    temporary work folder replaced by '.', so identical runs give identical logs."""
    out, in_table = [], False
    for line in text.splitlines():
        if in_table:
            in_table = bool(line.strip())
            continue
        if _TIMING_TABLE.match(line):
            in_table = True
            continue
        if _TIMING_LINE.search(line):
            continue
        out.append(line)
    cleaned = "\n".join(out) + "\n"
    if workdir is not None:
        cleaned = cleaned.replace(str(workdir) + "/", "./").replace(str(workdir), ".")
    return cleaned


def _log_tail(log_path: Path, lines: int = 4) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
    return " | ".join(tail)


def run_stages(stages: list[Stage], workdir: Path, natoms: int, threads: int = 1,
               on_stage: Callable[[Stage], None] | None = None,
               on_step: Callable[[Stage, int], None] | None = None) -> MDResult:
    """Run ``stages`` in one LAMMPS instance logging to ``workdir/log.lammps``.

    on_stage(stage) is called when a stage starts, on_step(stage, step) during MD runs.
    Raises SimulationError (with the log tail) on any LAMMPS error, NaN energy or lost atoms.
    """
    log_path = workdir / "log.lammps"
    lmp = new_lammps(log_path, threads)
    thermo: dict[str, dict[str, float]] = {}
    try:
        version = str(lmp.version())
        with stop_on_interrupt(lmp) as interrupted:
            for stage in stages:
                if on_stage is not None:
                    on_stage(stage)
                extra = _execute(lmp, stage, on_step, log_path, interrupted)
                values = {key: float(lmp.get_thermo(key)) for key in THERMO_KEYS}
                if not all(math.isfinite(v) for v in values.values()):
                    raise SimulationError(f"LAMMPS {stage.name}: thermo output is not finite "
                                          f"(pe={values['pe']}); log: {_log_tail(log_path)}")
                if int(lmp.get_natoms()) != natoms:
                    raise SimulationError(f"LAMMPS {stage.name}: {natoms - int(lmp.get_natoms())} "
                                          f"atoms lost; log: {_log_tail(log_path)}")
                thermo[stage.name] = {**values, **extra}
        n = natoms
        x = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3), shape=(3 * n,)).reshape(n, 3).copy()
        types = np.ctypeslib.as_array(lmp.gather_atoms("type", 0, 1), shape=(n,)).copy()
        box_lo, box_hi = (np.asarray(v, dtype=np.float64) for v in lmp.extract_box()[:2])
    finally:
        lmp.close()
    log = clean_log(log_path.read_text(errors="replace"), workdir) if log_path.exists() else ""
    return MDResult(x, types.astype(np.int16), box_lo, box_hi, thermo, log, version)


@contextlib.contextmanager
def stop_on_interrupt(lmp: Any) -> Iterator[Callable[[], bool]]:
    """While LAMMPS runs in this (main) thread, Ctrl-C / SIGTERM stop it within a few steps.

    Python runs its signal handlers only between bytecodes, never inside ``lmp.command``, and
    LAMMPS's Python callbacks swallow a KeyboardInterrupt. So the signal is also written to a
    wake-up pipe read by a helper thread, which asks LAMMPS for a soft stop at once
    (``force_timeout``: the run or minimization ends at its next timeout check). Yields a function
    telling whether a signal came; the caller then raises KeyboardInterrupt. Outside the main
    thread (e.g. Dask workers) signals cannot be caught and nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught: list[int] = []
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def watch() -> None:
        while data := os.read(read_fd, 64):
            if any(signum in INTERRUPT_SIGNALS for signum in data):
                caught.append(1)
                lmp.force_timeout()

    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                for signum in INTERRUPT_SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="lammps-interrupt", daemon=True)
    watcher.start()
    try:
        yield lambda: bool(caught)
    finally:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join()
        os.close(read_fd)
    if caught:
        raise KeyboardInterrupt


def _execute(lmp: Any, stage: Stage, on_step: Callable[[Stage, int], None] | None,
             log_path: Path, interrupted: Callable[[], bool] = lambda: False) -> dict[str, float]:
    """Run the stage's commands; returns Monte-Carlo swap counts if the stage had swaps.
    Stops with KeyboardInterrupt after a command during which ``interrupted()`` became true."""
    lines = stage.commands.splitlines()
    extra: dict[str, float] = {}
    try:
        for line in lines:
            if interrupted():
                raise KeyboardInterrupt
            if line.split()[:2] == ["unfix", "swap"]:  # fix atom/swap: attempts, accepted
                extra = {"swap_attempts": float(lmp.extract_fix("swap", 0, 1, 0)),
                         "swap_accepted": float(lmp.extract_fix("swap", 0, 1, 1))}
            if line.startswith("run") and PROGRESS_FIX in stage.commands:
                def callback(_caller, step, _nlocal, _tag, _x, _f, stage=stage):
                    if on_step is not None:
                        on_step(stage, int(step))
                lmp.set_fix_external_callback(PROGRESS_FIX, callback, None)
            lmp.command(line)
    except (SimulationError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the lammps module raises plain Exception with the error text
        message = " ".join(str(exc).split())
        raise SimulationError(f"LAMMPS {stage.name} failed: {message}; log: "
                              f"{_log_tail(log_path)}") from None
    return extra
