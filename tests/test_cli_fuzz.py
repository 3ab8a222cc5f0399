"""Every command on every crafted file of tests/data/crafted/ (a fixed corpus: one defect per file,
made by make_crafted.py there): exit status 0 or 2, one ``error:`` line on failure, never a
traceback, never an output left behind by a failed command, never a temporary file left.

All combinations run in-process through ``synthapt.cli.run`` (the console script's code path
minus the interpreter start); a subset runs through the real console script in subprocesses.
"""

import subprocess
import time
from pathlib import Path

import pytest

from cli_run import cli_env, command
from synthapt.cli import run

CRAFTED = Path(__file__).parent / "data" / "crafted"
DATA = sorted(p.name for p in CRAFTED.iterdir() if p.suffix in (".h5", ".pos", ".epos", ".apt"))
RANGES = sorted(p.name for p in CRAFTED.iterdir() if p.suffix in (".rrng", ".rng"))
PARAMS = sorted(p.name for p in CRAFTED.iterdir() if p.suffix == ".toml")
SEGMENTATION = str(CRAFTED / "good_segmentation.h5")
BUDGET = "64M"
"""Memory budget of every run: ``background.fraction = 0.9999`` must be refused, not attempted."""


def _data_commands(name: str) -> list[tuple[list[str], list[str]]]:
    """(argv, outputs) pairs exercising a data file ``name``."""
    f = str(CRAFTED / name)
    ranges = [] if name.endswith(".h5") else ["--ranges", str(CRAFTED / "good_ranges.rrng")]
    return [
        (["info", f], []),
        (["convert", f, "out.h5", "-q"], ["out.h5"]),
        (["segment", f, "-o", "seg.h5", "--method", "canny", "-q", *ranges], ["seg.h5"]),
        (["proxigram", f, "--csv", "p.csv", "-q"], ["p.csv"]),
        (["score", f, "--json", "s.json", "-q"], ["s.json"]),
        (["score", "--truth", f, "--labels", str(CRAFTED / "good_labels.npy"), "-q"], []),
        (["emulate", f, "-o", "e.h5", "--pos", "e.pos", "-q"], ["e.h5", "e.pos"]),
        (["proxigram", SEGMENTATION, "--data", f, *ranges, "--csv", "p.csv", "-q"], ["p.csv"]),
        (["score", SEGMENTATION, "--truth", f, "--json", "s.json", "-q"], ["s.json"]),
    ]


def _range_commands(name: str) -> list[tuple[list[str], list[str]]]:
    f = str(CRAFTED / name)
    return [
        (["info", f], []),
        (["convert", str(CRAFTED / "good_ions.pos"), "out.h5", "-r", f, "-q"], ["out.h5"]),
        (["segment", str(CRAFTED / "good_ions.epos"), "--ranges", f, "-o", "seg.h5",
          "--method", "canny", "-q"], ["seg.h5"]),
    ]


def _params_commands(name: str) -> list[tuple[list[str], list[str]]]:
    f = str(CRAFTED / name)
    return [
        (["emulate", str(CRAFTED / "good_specimen.h5"), "-o", "e.h5", "--params", f, "-q"], ["e.h5"]),
        (["segment", str(CRAFTED / "good_dataset.h5"), "-o", "seg.h5", "--method", "canny",
          "--params", f, "-q"], ["seg.h5"]),
        (["score", "--truth", str(CRAFTED / "good_dataset.h5"), "--labels",
          str(CRAFTED / "good_labels.npy"), "--params", f, "-q"], []),
    ]


CASES = ([(n, argv, out) for n in DATA for argv, out in _data_commands(n)]
         + [(n, argv, out) for n in RANGES for argv, out in _range_commands(n)]
         + [(n, argv, out) for n in PARAMS for argv, out in _params_commands(n)])


def _check(code: int, err: str, folder: Path, outputs: list[str]) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    left = sorted(p.name for p in folder.iterdir())
    if code == 2:
        assert [ln for ln in err.splitlines() if ln.startswith("error: ")], err
        assert left == [], left  # a failed command leaves nothing
    else:
        assert set(left) <= set(outputs) and not any(".part" in n for n in left), left


def test_corpus_is_complete():
    assert len(DATA) >= 25 and len(RANGES) >= 3 and len(PARAMS) >= 3
    assert sum(p.stat().st_size for p in CRAFTED.iterdir()) < 1 << 20


@pytest.mark.parametrize("name, argv, outputs", CASES,
                         ids=[f"{c[1][0]}-{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_command_on_crafted_file(name, argv, outputs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTHAPT_MEMORY_BUDGET", BUDGET)
    code = run(argv)
    _check(code, capsys.readouterr().err, tmp_path, outputs)


SUBPROCESS = {"truncated.h5": "info", "forged_size.h5": "convert", "complex_positions.h5": "segment",
              "f8_section.apt": "info", "huge_count.rrng": "convert", "latin1.toml": "emulate",
              "background_9999.toml": "emulate", "good_specimen.h5": "emulate"}
"""One command per file for the console-script run (each costs an interpreter start)."""


def test_console_script_on_a_subset(tmp_path):
    """The same checks through the real console script, in parallel subprocesses."""
    env = {**cli_env(), "SYNTHAPT_MEMORY_BUDGET": BUDGET}
    chosen = {}
    for name, argv, outputs in CASES:
        if SUBPROCESS.get(name) == argv[0]:
            chosen.setdefault(name, (argv, outputs))
    assert sorted(chosen) == sorted(SUBPROCESS)
    runs = []
    for name, (argv, outputs) in chosen.items():
        folder = tmp_path / name
        folder.mkdir()
        runs.append((folder, outputs, subprocess.Popen(command(argv), cwd=folder, env=env,
                                                       stdout=subprocess.PIPE,
                                                       stderr=subprocess.PIPE, text=True)))
    deadline = time.monotonic() + 300
    codes = []
    for folder, outputs, proc in runs:
        _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        _check(proc.returncode, err, folder, outputs)
        codes.append(proc.returncode)
    assert codes.count(0) == 1 and codes.count(2) == len(SUBPROCESS) - 1  # only good_specimen.h5
