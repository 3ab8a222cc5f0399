"""The SLURM path of campaigns on a real single-node SLURM started on this machine.

``validation/slurm_local.sh`` installs slurm-wlm and munge when missing (root), writes a
single-node slurm.conf, starts munged, slurmctld and slurmd and waits for the node to be idle;
the campaign then runs its cases as SLURM jobs through dask-jobqueue. Skipped (with the reason)
only where SLURM cannot be started, e.g. without root and without slurm-wlm installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from synthapt.campaign.run import SlurmOptions, load_suite, make_cluster
from synthapt.campaign.case import read_json, sha256_file

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "validation" / "slurm_local.sh"
TINY = Path(__file__).parent / "data" / "campaign_tiny.toml"


@pytest.fixture(scope="module")
def slurm_conf(tmp_path_factory):
    if shutil.which("slurmctld") is None and os.geteuid() != 0:
        pytest.skip("slurm-wlm is not installed and installing it needs root")
    folder = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True,
                             text=True, timeout=900)
    if started.returncode != 0:
        reason = (started.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.skip(f"SLURM could not be started: {reason}")
    conf = folder / "slurm.conf"
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    try:
        yield conf
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous


def _options(tmp_path: Path, **changes) -> SlurmOptions:
    base = dict(queue="debug", cores=1, memory="2GB", jobs=2, walltime="00:10:00",
                scheduler_host="127.0.0.1", log_directory=str(tmp_path / "slurm-logs"))
    return SlurmOptions(**{**base, **changes})


def test_local_slurm_node_is_up(slurm_conf):
    out = subprocess.run(["sinfo", "-h", "-o", "%P %t %c"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "debug*"
    assert out[1] in ("idle", "mix", "alloc")
    assert int(out[2]) == os.cpu_count()


def test_job_script_books_the_case_threads(slurm_conf, tmp_path):
    with make_cluster("slurm", workers=1, threads=2, slurm=_options(tmp_path, cores=2)) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p debug" in script
    assert "#SBATCH --cpus-per-task=2" in script
    assert "#SBATCH -t 00:10:00" in script
    assert "export OMP_NUM_THREADS=2" in script
    assert "--nthreads 1" in script  # one case at a time per job


def test_campaign_runs_as_slurm_jobs(slurm_conf, tmp_path):
    """`synthapt campaign run --cluster slurm --slurm-config FILE`: both cases run in SLURM jobs."""
    from typer.testing import CliRunner

    from synthapt.cli import app

    config = tmp_path / "slurm.yaml"
    config.write_text(f"queue: debug\ncores: 1\nmemory: 2GB\njobs: 2\nwalltime: '00:10:00'\n"
                      f"scheduler_host: 127.0.0.1\nlog_directory: {tmp_path / 'slurm-logs'}\n")
    suite = load_suite(TINY)
    out = tmp_path / "campaign"
    run = CliRunner().invoke(app, ["campaign", "run", str(TINY), "--out", str(out), "--cluster",
                                   "slurm", "--slurm-config", str(config), "--no-report",
                                   "--quiet"])
    assert run.exit_code == 0, run.output
    for sc in suite.cases:
        result = read_json(out / sc.hash / "result.json")
        assert result["hash"] == sc.hash and result["name"] == sc.case.name
        assert set(result["scores"]) | set(result["errors"]) == {"canny", "iso-Al-15", "oracle",
                                                                 "bayes", "truth-mesh"}
        assert 0.7 < result["scores"]["iso-Al-15"]["accuracy"] <= 1.0
        for name, digest in result["files"].items():
            assert sha256_file(out / sc.hash / name) == digest
    # the cases ran inside SLURM jobs: each dask worker job left its SLURM log files
    logs = sorted((tmp_path / "slurm-logs").glob("dask-worker-*.err"))
    assert len(logs) >= 1
    assert any("Starting Worker" in log.read_text() for log in logs)
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 5  # header + 2 cases x (2 methods + 3 ceilings)


def test_refused_worker_job_is_one_error_line(slurm_conf, tmp_path):
    """A job SLURM refuses (unknown partition) stops the campaign at once with SLURM's reason,
    instead of waiting forever for workers."""
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "synthapt", "campaign", "run", str(TINY), "--out",
         str(tmp_path / "out"), "--cluster", "slurm", "--queue", "nosuch", "--memory", "1GB",
         "--quiet"], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: slurm: the worker job was refused: invalid partition "
                                   "specified: nosuch")
