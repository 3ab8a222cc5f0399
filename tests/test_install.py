"""A non-editable install works: the wheel carries the LAMMPS templates, the built-in suites and
the licence; installed into a fresh virtual environment it simulates a tiny specimen and finds
the ``quick`` suite from a folder outside the repository. Building leaves nothing in the tree."""

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from test_md import TINY

REPO = Path(__file__).resolve().parents[1]


def _tree_state() -> set[str]:
    """Every path in the checkout, ignored ones included (build litter would show up here)."""
    return {str(p.relative_to(REPO)) for p in REPO.iterdir()} | {
        str(p.relative_to(REPO)) for p in (REPO / "synthapt").rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    before = _tree_state()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(REPO)], check=True, capture_output=True)
    assert _tree_state() == before  # no build/, no *.egg-info, nothing else
    (path,) = out.glob("synthapt-*.whl")
    return path


def test_wheel_carries_package_data_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (REPO / "synthapt" / "md" / "templates").glob("*.in")}
    assert templates >= {"system.in", "minimize.in", "anneal.in", "swap.in", "run.in", "quench.in"}
    assert {f"synthapt/md/templates/{t}" for t in templates} <= names
    assert {f"synthapt/suites/{name}.toml" for name in ("quick", "paper", "large", "heldout")} <= names
    assert {f"synthapt/edges/weights/{name}.npz" for name in ("learned_v1", "learned_phase_v1")} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "md_inputs/", "validation/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_repository(wheel, tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True)
    # the dependencies come from this interpreter's site-packages, appended after the fresh
    # environment's own (a plain path line: .pth files there, e.g. an editable synthapt, are not run)
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "synthapt_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args):
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=work,
                              env=env, timeout=300)

    where = run(python, "-c", "import synthapt; print(synthapt.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where
    (work / "tiny.toml").write_text(TINY)
    script = env_dir / "bin" / "synthapt"
    sim = run(script, "simulate", "tiny.toml", "-o", "specimen.h5", "--quiet")
    assert sim.returncode == 0, sim.stderr
    assert (work / "specimen.h5").stat().st_size > 0
    show = run(script, "campaign", "show", "quick")
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("quick (suite_version")
