"""``synthapt reconstruct``: point-projection reconstruction of an ePOS file (or dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from synthapt.apt.instruments import get_instrument
from synthapt.apt.params import ReconstructionParams
from synthapt.commands.common import QUIET_HELP, console
from synthapt.errors import ConfigError
from synthapt.io.apt_files import reconstruct_files

OPTION_OF_KEY = {"image_compression": "--icf", "field_factor": "--kf",
                 "evaporation_field": "--field", "flight_path": "--flight-path",
                 "detector_radius": "--detector-radius", "efficiency": "--efficiency",
                 "atomic_volume": "--atomic-volume", "initial_radius": "--initial-radius",
                 "shank_angle": "--shank-angle", "radius_mode": "--radius-mode"}


def reconstruction_params(instrument: str, **values) -> ReconstructionParams:
    """ReconstructionParams from the options (None: the instrument preset's ICF, flight path and
    efficiency); a bad value raises ConfigError naming the option."""
    preset = get_instrument(instrument, "--instrument")
    preset_values = {"image_compression": preset.image_compression,
                     "flight_path": preset.flight_path, "efficiency": preset.efficiency}
    for key, value in preset_values.items():
        if values.get(key) is None:
            values[key] = value
    if values["radius_mode"] == "shank" and values.get("initial_radius") is None:
        raise ConfigError("--initial-radius: needed with --radius-mode shank (apex radius, nm)")
    try:
        return ReconstructionParams(**values)
    except ConfigError as exc:
        key, _, rest = str(exc).partition(": ")
        option = OPTION_OF_KEY.get(key.removeprefix("reconstruction."), key)
        raise ConfigError(f"{option}: {rest}") from None


def register(app: typer.Typer) -> None:
    @app.command("reconstruct")
    def reconstruct_command(
        source: Path = typer.Argument(..., help="ePOS file (or synthapt .h5 dataset with ePOS "
                                                "fields); the file order is the evaporation order."),
        output: Path = typer.Option(..., "-o", "--output", help="Output dataset: .h5, .epos or .pos."),
        instrument: str = typer.Option("leap5000xs", "--instrument",
                                       help="Preset for ICF, flight path and efficiency defaults."),
        icf: Optional[float] = typer.Option(None, "--icf", help="Image compression factor."),
        kf: float = typer.Option(3.3, "--kf", help="Field factor k."),
        field: float = typer.Option(35.0, "--field", help="Evaporation field, V/nm."),
        flight_path: Optional[float] = typer.Option(None, "--flight-path", help="Flight path, mm."),
        detector_radius: Optional[float] = typer.Option(
            None, "--detector-radius", help="Detector radius, mm (default: the farthest hit)."),
        efficiency: Optional[float] = typer.Option(None, "--efficiency", help="Detection efficiency."),
        atomic_volume: float = typer.Option(0.01094, "--atomic-volume",
                                            help="Atomic volume, nm^3 (fcc Ni: 0.01094)."),
        radius_mode: str = typer.Option("voltage", "--radius-mode",
                                        help="voltage (R = V / (k F)) or shank (R0 + shank angle)."),
        initial_radius: Optional[float] = typer.Option(None, "--initial-radius",
                                                       help="Initial apex radius, nm (shank mode)."),
        shank_angle: float = typer.Option(0.0, "--shank-angle", help="Shank half-angle, degrees."),
        origin: Tuple[float, float, float] = typer.Option(
            (0.0, 0.0, 0.0), "--origin", help="Apex position at the first ion, nm (x y z); the "
                                              "reconstruction goes down -z."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Reconstruct positions from detector hits, voltage and sequence (Bas protocol)."""
        params = reconstruction_params(
            instrument, image_compression=icf, field_factor=kf, evaporation_field=field,
            flight_path=flight_path, detector_radius=detector_radius, efficiency=efficiency,
            atomic_volume=atomic_volume, radius_mode=radius_mode, initial_radius=initial_radius,
            shank_angle=shank_angle)
        dataset = reconstruct_files(source, output, params, origin)
        depth = float(origin[2] - dataset.positions[:, 2].min())
        console(quiet).print(f"{dataset.n_ions} ions reconstructed, {depth:.1f} nm deep -> {output}")
