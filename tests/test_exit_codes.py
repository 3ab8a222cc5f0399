"""Exit codes of the real console script (and ``python -m synthapt``) in a subprocess:
usage errors and ``SynthaptError`` 2 with one ``error:`` line, a missed ``--fail-under`` 1."""

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from cli_run import CONSOLE_SCRIPT, assert_clean_error, synthapt
from synthapt.data import APTDataset, GroundTruth
from synthapt.io.hdf5 import write_dataset
from synthapt.structures.layered import Layered

USAGE_ERRORS = {
    "missing argument": (["info"], "Missing argument"),
    "unknown command": (["frobnicate"], "No such command"),
    "unknown option": (["info", "x.pos", "--bogus"], "No such option"),
    "bad float": (["segment", "x.h5", "-o", "y.h5", "--voxel", "abc"], "'--voxel'"),
    "negative seed": (["emulate", "x.h5", "-o", "y.h5", "--seed", "-3"], "'--seed'"),
}


def test_console_script_is_installed():
    assert CONSOLE_SCRIPT.is_file()


@pytest.mark.parametrize("console_script", [True, False], ids=["console-script", "python-m"])
@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_error_exits_2_with_one_line(case, console_script, tmp_path):
    args, words = USAGE_ERRORS[case]
    line = assert_clean_error(synthapt(*args, console_script=console_script, cwd=tmp_path))
    assert words in line
    assert "--help" in line  # points at the command's help


def test_synthapt_error_exits_2(tmp_path):
    line = assert_clean_error(synthapt("info", tmp_path / "missing.pos"))
    assert line == f"error: {tmp_path / 'missing.pos'}: file not found"


def test_bare_group_prints_help_exits_2():
    proc = synthapt("campaign")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "run" in proc.stdout + proc.stderr and "show" in proc.stdout + proc.stderr


def test_version_exits_0():
    proc = synthapt("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("synthapt ")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A dataset with truth (500 ions, half precipitate) and labels with 10 % of them wrong."""
    folder = tmp_path_factory.mktemp("exit")
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 10, size=(500, 3))
    geometry = Layered(normal=(1.0, 0.0, 0.0), thicknesses=(5.0,), centers=(5.0,))
    phase = (geometry.signed_distance(pos) > 0).astype(np.int8)
    species = phase.astype(np.int16)
    truth = GroundTruth(np.arange(500), species, phase, pos, ("Ni", "Al"), geometry,
                        np.array([10.0, 10.0, 10.0]))
    write_dataset(folder / "dataset.h5", APTDataset(
        pos.astype(np.float32), np.where(species == 1, 27.0, 58.0).astype(np.float32),
        species=species, species_names=("Ni", "Al"), truth=truth))
    labels = phase.copy()
    labels[:50] = 1 - labels[:50]
    np.save(folder / "labels.npy", labels)
    return folder


@pytest.mark.parametrize("limit, code", [(0.99, 1), (0.8, 0)])
def test_fail_under_sets_exit_code(scored, limit, code):
    proc = synthapt("score", "--truth", scored / "dataset.h5", "--labels", scored / "labels.npy",
                    "--fail-under", f"accuracy={limit}", "--quiet")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("below threshold" in proc.stderr) == (code == 1)


def test_interrupt_stops_simulate_within_seconds_and_cleans_up(tmp_path):
    """SIGINT while LAMMPS anneals: exit 130 within a few seconds, work folder and output gone."""
    from test_md import TINY

    from cli_run import cli_env, command
    from synthapt.tempfiles import HOST

    (tmp_path / "long.toml").write_text(TINY.replace("steps = 20", "steps = 1000000")
                                        + "[alloy]\nlattice_parameter = 0.355\n")
    proc = subprocess.Popen(command(["simulate", "long.toml", "-o", "out.h5"]), cwd=tmp_path,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pattern = f"synthapt-md-{HOST}~{proc.pid}~*"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        logs = list(Path(tempfile.gettempdir()).glob(f"{pattern}/log.lammps"))
        if logs and "Step" in logs[0].read_text(errors="replace"):  # thermo output: MD runs
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 10
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "error: interrupted"
    assert list(Path(tempfile.gettempdir()).glob(pattern)) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml"]


def test_help_shows_flags_as_flags_and_q_everywhere():
    proc = synthapt("emulate", "--help")
    assert proc.returncode == 0 and "<bool>" not in proc.stdout
    assert "-q, --quiet" in proc.stdout
    from synthapt.cli import app
    from typer.main import get_command

    def commands(group, path=()):
        for name, cmd in getattr(group, "commands", {}).items():
            yield from commands(cmd, (*path, name)) if hasattr(cmd, "commands") else [((*path, name), cmd)]

    quiet = {path: [p for p in cmd.params if p.name == "quiet"] for path, cmd in commands(get_command(app))}
    with_quiet = {path: options[0] for path, options in quiet.items() if options}
    assert len(with_quiet) >= 10 and ("emulate",) in with_quiet and ("campaign", "run") in with_quiet
    for path, option in with_quiet.items():
        assert option.is_flag and "-q" in option.opts, path
