"""Campaign commands: ``synthapt campaign run|show``, ``synthapt generate``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthapt.commands.common import QUIET_HELP, console, progress_bar

campaign_app = typer.Typer(help="Validation campaigns: run a suite of cases through Dask.",
                           no_args_is_help=True)

SUITE_HELP = "Suite file (TOML) or a built-in suite name: quick, paper, reconstruction."
CLUSTER_HELP = "Where cases run: 'local' (Dask LocalCluster) or 'slurm' (dask-jobqueue)."


def _slurm(cluster: str, config: Optional[Path], **options):
    from synthapt.campaign import load_slurm_options

    if cluster != "slurm":
        return None
    return load_slurm_options(config, **options)


@campaign_app.command("run")
def run(
    suite: str = typer.Argument(..., help=SUITE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (a sub-folder per case)."),
    cluster: str = typer.Option("local", help=CLUSTER_HELP),
    workers: Optional[int] = typer.Option(
        None, help="Dask workers (local: cores // threads; slurm: jobs)."),
    threads: int = typer.Option(1, help="LAMMPS/torch threads per case (local cluster)."),
    queue: Optional[str] = typer.Option(None, help="SLURM partition."),
    account: Optional[str] = typer.Option(None, help="SLURM account."),
    walltime: Optional[str] = typer.Option(None, help="SLURM walltime per job, HH:MM:SS."),
    cores: Optional[int] = typer.Option(None, help="SLURM CPUs per job (threads of its case)."),
    memory: Optional[str] = typer.Option(None, help="SLURM memory per job, e.g. 4GB."),
    slurm_config: Optional[Path] = typer.Option(None, help="SLURM options file (TOML or YAML)."),
    resume: bool = typer.Option(False, "--resume", help="Reuse finished cases in a used --out."),
    force: bool = typer.Option(False, "--force", help="Recompute this suite's cases in --out."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Run every case of SUITE (simulate, emulate, segment, score) and aggregate the scores."""
    from synthapt.campaign import load_suite, run_campaign

    loaded = load_suite(suite)
    slurm = _slurm(cluster, slurm_config, queue=queue, account=account, walltime=walltime,
                   cores=cores, memory=memory)
    with progress_bar(quiet) as progress:
        outcome = run_campaign(loaded, out, cluster=cluster, workers=workers, threads=threads,
                               slurm=slurm, resume=resume, force=force, progress=progress,
                               report=report)
    console(quiet).print(f"{len(outcome.results)} cases ({outcome.computed} computed, "
                         f"{outcome.reused} reused) -> {out}/results.csv")


@campaign_app.command("show")
def show(suite: str = typer.Argument(..., help=SUITE_HELP)) -> None:
    """List the cases of SUITE with their hashes (the output sub-folders)."""
    from synthapt.campaign import load_suite

    loaded = load_suite(suite)
    typer.echo(f"{loaded.name} (suite_version {loaded.version}): {len(loaded.cases)} cases")
    for sc in loaded.cases:
        typer.echo(f"{sc.hash}  {sc.case.name}")


def generate(
    suite: str = typer.Argument(..., help=SUITE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    cluster: str = typer.Option("local", help=CLUSTER_HELP),
    workers: Optional[int] = typer.Option(None, help="Dask workers (local: cores // threads)."),
    threads: int = typer.Option(1, help="LAMMPS threads per case (local cluster)."),
    queue: Optional[str] = typer.Option(None, help="SLURM partition."),
    account: Optional[str] = typer.Option(None, help="SLURM account."),
    walltime: Optional[str] = typer.Option(None, help="SLURM walltime per job, HH:MM:SS."),
    cores: Optional[int] = typer.Option(None, help="SLURM CPUs per job (threads of its case)."),
    memory: Optional[str] = typer.Option(None, help="SLURM memory per job, e.g. 4GB."),
    slurm_config: Optional[Path] = typer.Option(None, help="SLURM options file (TOML or YAML)."),
    resume: bool = typer.Option(False, "--resume", help="Reuse finished cases in a used --out."),
    force: bool = typer.Option(False, "--force", help="Recompute this suite's cases in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Write every case's dataset (HDF5 with ground truth, POS, ePOS, RRNG) and manifest.json."""
    from synthapt.campaign import generate as generate_suite
    from synthapt.campaign import load_suite

    loaded = load_suite(suite)
    slurm = _slurm(cluster, slurm_config, queue=queue, account=account, walltime=walltime,
                   cores=cores, memory=memory)
    with progress_bar(quiet) as progress:
        manifest = generate_suite(loaded, out, cluster=cluster, workers=workers, threads=threads,
                                  slurm=slurm, resume=resume, force=force, progress=progress)
    console(quiet).print(f"{len(manifest['cases'])} datasets -> {out}/manifest.json")


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
    app.command("generate")(generate)
