"""``synthapt train-data`` (training samples from the generator) and ``synthapt train`` (fit the
learned edge detector)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

import dataclasses

from synthapt.commands.common import console, progress_bar, quiet_option
from synthapt.io.atomic import check_new_folder
from synthapt.training import load_training_spec, make_training_data
from synthapt.training.data import read_index
from synthapt.training.train import load_train_params, train


def register(app: typer.Typer) -> None:
    @app.command("train-data")
    def train_data_command(
        spec: str = typer.Argument(..., help="Training spec: a TOML file with a 'training' table of ranges, or 'default'."),
        out: Path = typer.Option(..., "--out", help="New folder for the samples (must not exist)."),
        specimens: Optional[int] = typer.Option(None, "--specimens", help="Override the number of specimens."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Override the spec's seed."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Emulate specimens drawn from SPEC and write detector inputs with their true interfaces."""
        training_spec = load_training_spec(spec)
        overrides = {k: v for k, v in (("specimens", specimens), ("seed", seed)) if v is not None}
        training_spec = dataclasses.replace(training_spec, **overrides)
        check_new_folder(out)
        with progress_bar(quiet) as bar:
            task = bar.add_task("training data", total=training_spec.specimens)
            make_training_data(training_spec, out, progress=lambda done, total: bar.update(task, completed=done))
        console(quiet).print(f"{training_spec.specimens} samples -> {out}")

    @app.command("train")
    def train_command(
        data: Path = typer.Argument(..., help="Training-data folder from 'synthapt train-data'."),
        out: Path = typer.Option(..., "--out", help="New folder for model.npz (or .pt for hed-side), loss.csv/png, record.json."),
        params: Optional[Path] = typer.Option(None, "--params", help="TOML file with a 'train' table (fields of TrainParams)."),
        network: Optional[str] = typer.Option(None, "--network", help="unet (default), hed-side or unet3d (the learned-phase network)."),
        target: Optional[str] = typer.Option(None, "--target", help="edge (default: edge map) or phase (precipitate probability, unet only)."),
        steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed of initialisation and batches."),
        device: Optional[str] = typer.Option(None, "--device", help="auto (default), cpu or cuda."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Train the learned edge detector on DATA; GPU used when present."""
        train_params = load_train_params(params, network=network, target=target, steps=steps, seed=seed, device=device)
        read_index(data)
        check_new_folder(out)
        with progress_bar(quiet) as bar:
            task = bar.add_task("train", total=train_params.steps)
            record = train(data, out, train_params, progress=lambda step, total, loss: bar.update(
                task, completed=step, description=f"train (loss {loss:.4f})"))
        score = (f"edge F {record['final_val_edge_f']:.3f}" if train_params.target == "edge"
                 else f"phase accuracy {record['final_val_phase_accuracy']:.4f}")
        console(quiet).print(f"validation loss {record['final_val_loss']:.4f}, {score}, "
                             f"sha256 {record['sha256']} -> {out}")
