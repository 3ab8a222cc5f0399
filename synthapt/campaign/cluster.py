"""Dask clusters of a campaign: a LocalCluster of worker processes, or SLURM through
dask-jobqueue (``SlurmOptions``, validated with ``sbatch --test-only``)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthapt.config import from_dict, read_toml
from synthapt.errors import ConfigError, SynthaptError


@dataclass(frozen=True)
class SlurmOptions:
    """SLURM jobs for ``dask_jobqueue.SLURMCluster``: each job is one worker running one case.

    queue: partition; account: project to charge; walltime: "HH:MM:SS" per job;
    cores: CPUs per job (the case's LAMMPS/torch threads); memory: per job (e.g. "4GB");
    jobs: how many jobs (workers) run at once; interface: network interface the workers reach
    the scheduler on (e.g. "ib0"); log_directory: where SLURM writes job logs;
    job_extra_directives: extra ``#SBATCH`` lines (e.g. "--qos=short").
    """

    queue: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    cores: int = 1
    memory: str = "4GB"
    jobs: int = 1
    interface: str | None = None
    scheduler_host: str | None = None
    log_directory: str | None = None
    job_extra_directives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.cores < 1:
            raise ConfigError(f"slurm.cores: {self.cores} must be >= 1")
        if self.jobs < 1:
            raise ConfigError(f"slurm.jobs: {self.jobs} must be >= 1")
        parts = self.walltime.split(":")
        if not (1 <= len(parts) <= 3 and all(p.isdigit() for p in parts)):
            raise ConfigError(f"slurm.walltime: {self.walltime!r} is not [[HH:]MM:]SS")
        from dask.utils import parse_bytes

        try:
            parse_bytes(self.memory)
        except ValueError:
            raise ConfigError(f"slurm.memory: {self.memory!r} is not a size like '4GB'") from None


def load_slurm_options(path: str | Path | None = None, **overrides: Any) -> SlurmOptions:
    """SlurmOptions from a TOML or YAML file (top level or a ``[slurm]`` table) plus overrides."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(path.read_text()) or {}
            except FileNotFoundError:
                raise ConfigError(f"{path}: file not found") from None
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        else:
            data = read_toml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table of SLURM options")
        data = data.get("slurm", data)
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return from_dict(SlurmOptions, data, "slurm")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None


def check_cluster_options(cluster: str = "local", workers: int | None = None,
                          threads: int = 1) -> None:
    """ConfigError naming the option unless ``cluster`` is 'local' or 'slurm', ``workers`` is
    None or >= 1 and ``threads`` >= 1 (whole numbers); call before any work."""
    if cluster not in ("local", "slurm"):
        raise ConfigError(f"--cluster: {cluster!r} is not one of 'local', 'slurm'")
    for option, value, default in (("--workers", workers, "leave it out for one per core "
                                    "(local) or slurm.jobs"), ("--threads", threads, "default 1")):
        if value is None and option == "--workers":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{option}: {value!r} must be a whole number >= 1 ({default})")


def make_cluster(cluster: str = "local", workers: int | None = None, threads: int = 1,
                 slurm: SlurmOptions | None = None):
    """A started Dask cluster: ``local`` (worker processes, 1 task each) or ``slurm``."""
    if cluster == "local":
        from distributed import LocalCluster

        n_workers = workers or max(1, (os.cpu_count() or 1) // max(1, threads))
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0", silence_logs=logging.ERROR,
                            env={"OMP_NUM_THREADS": str(threads)})
    if cluster == "slurm":
        from dask_jobqueue import SLURMCluster

        slurm = slurm or SlurmOptions()
        # ":0": a free port; None would mean the default 8787, which warns when taken
        scheduler_options: dict = {"dashboard_address": ":0"}
        if slurm.scheduler_host:
            scheduler_options["host"] = slurm.scheduler_host
        try:
            jobs = SLURMCluster(
                queue=slurm.queue, account=slurm.account, walltime=slurm.walltime,
                cores=1, processes=1, job_cpu=slurm.cores, memory=slurm.memory,
                interface=slurm.interface, python=sys.executable,
                log_directory=slurm.log_directory,
                job_extra_directives=list(slurm.job_extra_directives),
                job_script_prologue=[f"export OMP_NUM_THREADS={slurm.cores}"],
                scheduler_options=scheduler_options, silence_logs=logging.ERROR)
        except (OSError, ValueError, RuntimeError) as exc:
            raise SynthaptError(f"slurm: cannot start the Dask scheduler ({exc})") from None
        try:
            check_job_script(jobs.job_script())
        except SynthaptError:
            jobs.close()
            raise
        jobs.scale(jobs=workers or slurm.jobs)
        return jobs
    raise ConfigError(f"cluster: {cluster!r} is not one of 'local', 'slurm'")


def check_job_script(script: str) -> None:
    """``sbatch --test-only``: SLURM validates the worker job (partition, account, time, memory)
    without submitting it; a refusal raises SynthaptError with SLURM's reason, instead of a
    campaign that waits for workers that never come."""
    if shutil.which("sbatch") is None:
        raise SynthaptError("slurm: sbatch not found; run on a SLURM login node or use "
                            "--cluster local")
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as fh:
        fh.write(script)
        fh.flush()
        try:
            proc = subprocess.run(["sbatch", "--test-only", fh.name], capture_output=True,
                                  text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise SynthaptError("slurm: sbatch --test-only did not answer in 120 s") from None
    if proc.returncode != 0:
        lines = [ln.removeprefix("sbatch: error: ").strip() for ln in proc.stderr.splitlines()]
        reason = next((ln for ln in lines if ln), f"exit status {proc.returncode}")
        raise SynthaptError(f"slurm: the worker job was refused: {reason}")


# --------------------------------------------------------------------------------- campaigns
