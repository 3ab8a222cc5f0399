"""Parameters of the atom-probe emulation: one frozen dataclass per stage, all TOML-loadable.

``EmulationParams`` names an instrument preset; fields left ``None`` take the preset's value
(``EmulationParams.resolved()`` fills them in). Every stage has an ``enabled`` switch. All values
are checked when the object is built, so a bad configuration fails before any work is done.

TOML example (``synthapt.config.from_dict(EmulationParams, read_toml(path))``)::

    instrument = "leap5000xs"
    [shape]
    apex_radius = 15.0      # nm
    shank_angle = 10.0      # degrees
    [efficiency]
    value = 0.5             # overrides the preset
    [spectrum.charge_states]
    Al = [0.6, 0.35, 0.05]  # fractions of 1+, 2+, 3+
    [background]
    fraction = 0.01
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from synthapt.apt.instruments import Instrument, get_instrument
from synthapt.apt.isotopes import default_charge_states, isotopes
from synthapt.errors import ConfigError


def _positive(where: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{where}: must be {bound}, got {value!r}")


@dataclass(frozen=True)
class ShapeParams:
    """Specimen shape: ``needle`` (hemispherical cap of ``apex_radius`` nm on a cone of half-angle
    ``shank_angle`` degrees, axis along z through the box centre, apex at the box top) or ``box``.
    ``apex_radius`` None: the largest that fits, half the smaller lateral box edge."""

    enabled: bool = True
    kind: Literal["needle", "box"] = "needle"
    apex_radius: float | None = None
    shank_angle: float = 10.0

    def __post_init__(self) -> None:
        _positive("shape.apex_radius", self.apex_radius)
        if not 0.0 <= self.shank_angle < 60.0:
            raise ConfigError(f"shape.shank_angle: must be in [0, 60) degrees, got {self.shank_angle!r}")


@dataclass(frozen=True)
class EvaporationParams:
    """Evaporation order (apex surface downwards) and pulses; ``detection_rate`` in detected
    ions per pulse (the evaporation rate is ``detection_rate / efficiency``).
    ``correlated_fraction`` of the ions co-evaporate with their nearest earlier-evaporating
    neighbour within ``correlation_distance`` nm (same pulse: correlated multiple events)."""

    enabled: bool = True
    detection_rate: float = 0.01
    correlated_fraction: float = 0.0
    correlation_distance: float = 0.4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.correlated_fraction) and 0.0 <= self.correlated_fraction < 1.0):
            raise ConfigError(f"evaporation.correlated_fraction: must be in [0, 1), got {self.correlated_fraction!r}")
        _positive("evaporation.correlation_distance", self.correlation_distance)
        if not (math.isfinite(self.detection_rate) and 0.0 < self.detection_rate <= 10.0):
            raise ConfigError(
                f"evaporation.detection_rate: must be in (0, 10] ions/pulse, got {self.detection_rate!r}")


@dataclass(frozen=True)
class EfficiencyParams:
    """Detection efficiency in (0, 1]; None takes the instrument's value."""

    enabled: bool = True
    value: float | None = None

    def __post_init__(self) -> None:
        if self.value is not None and not (math.isfinite(self.value) and 0.0 < self.value <= 1.0):
            raise ConfigError(f"efficiency.value: must be in (0, 1], got {self.value!r}")


@dataclass(frozen=True)
class SpectrumParams:
    """Mass spectrum of the ions: charge-state fractions per element (index 0 = 1+; merged over
    the defaults of ``synthapt.apt.isotopes``), Gaussian peaks of resolving power m/dm (FWHM),
    exponential thermal tail (``tail_fraction`` of the ions, decay ``tail_decay`` x m/q), and the
    fraction of each peak the generated ranges cover (``range_coverage``)."""

    enabled: bool = True
    charge_states: dict[str, tuple[float, ...]] = field(default_factory=dict)
    mass_resolving_power: float | None = None
    tail_fraction: float | None = None
    tail_decay: float | None = None
    range_coverage: float = 0.9995

    def __post_init__(self) -> None:
        for element, fractions in self.charge_states.items():
            where = f"spectrum.charge_states.{element}"
            isotopes(element, where)
            if not fractions or any(not math.isfinite(f) or f < 0 for f in fractions):
                raise ConfigError(f"{where}: fractions must be non-negative numbers, got {list(fractions)}")
            if abs(sum(fractions) - 1.0) > 1e-6:
                raise ConfigError(f"{where}: charge-state fractions sum to {sum(fractions):.6g}, not 1")
        _positive("spectrum.mass_resolving_power", self.mass_resolving_power)
        if self.tail_fraction is not None and not 0.0 <= self.tail_fraction < 1.0:
            raise ConfigError(f"spectrum.tail_fraction: must be in [0, 1), got {self.tail_fraction!r}")
        _positive("spectrum.tail_decay", self.tail_decay, allow_zero=True)
        if not 0.5 < self.range_coverage < 1.0:
            raise ConfigError(f"spectrum.range_coverage: must be in (0.5, 1), got {self.range_coverage!r}")

    def charge_fractions(self, element: str) -> tuple[float, ...]:
        """Charge-state fractions (1+, 2+, ...) used for ``element``."""
        return self.charge_states.get(element) or default_charge_states(element)


@dataclass(frozen=True)
class DetectorParams:
    """Point projection onto the detector (flight path mm, image compression factor) and the
    multi-hit dead zone (radius mm; 0 switches it off). None takes the instrument's value.
    ``radius`` (mm): ions landing farther from the detector centre are lost (field of view);
    None: the detector sees the whole tip."""

    enabled: bool = True
    flight_path: float | None = None
    image_compression: float | None = None
    dead_zone_radius: float | None = None
    radius: float | None = None

    def __post_init__(self) -> None:
        _positive("detector.radius", self.radius)
        _positive("detector.flight_path", self.flight_path)
        _positive("detector.image_compression", self.image_compression)
        _positive("detector.dead_zone_radius", self.dead_zone_radius, allow_zero=True)


@dataclass(frozen=True)
class ResolutionParams:
    """Spatial resolution: Gaussian sigma (nm) across (x, y) and along the depth (z)."""

    enabled: bool = True
    lateral_sigma: float | None = None
    depth_sigma: float | None = None

    def __post_init__(self) -> None:
        _positive("resolution.lateral_sigma", self.lateral_sigma, allow_zero=True)
        _positive("resolution.depth_sigma", self.depth_sigma, allow_zero=True)


@dataclass(frozen=True)
class MagnificationParams:
    """Local magnification at a precipitate of evaporation field ``field_ratio`` x the matrix's.
    Ions within about ``width`` nm of the interface move along its normal by up to
    ``shift_scale * (field_ratio - 1)`` nm (see ``synthapt.apt.aberrations``); ratio 1 is exact."""

    enabled: bool = True
    field_ratio: float = 1.0
    width: float = 1.0
    shift_scale: float = 5.0
    lateral_only: bool = True

    def __post_init__(self) -> None:
        _positive("magnification.field_ratio", self.field_ratio)
        _positive("magnification.width", self.width)
        _positive("magnification.shift_scale", self.shift_scale, allow_zero=True)


@dataclass(frozen=True)
class BackgroundParams:
    """Background (noise) ions: ``fraction`` of all output ions, uniform in m/q over
    [``mq_min``, ``mq_max``] Da, at random pulses and positions within the analysed volume."""

    enabled: bool = True
    fraction: float = 0.0
    mq_min: float = 0.5
    mq_max: float = 120.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fraction) and 0.0 <= self.fraction < 1.0):
            raise ConfigError(f"background.fraction: must be in [0, 1), got {self.fraction!r}")
        _positive("background.mq_min", self.mq_min)
        if not self.mq_max > self.mq_min:
            raise ConfigError(f"background.mq_max: must exceed mq_min ({self.mq_min}), got {self.mq_max!r}")


@dataclass(frozen=True)
class VoltageParams:
    """Standing (DC) voltage ramped linearly over the run (V) and pulse amplitude as a fraction of
    it (0 for laser pulsing); gives the ePOS voltages and time of flight."""

    enabled: bool = True
    v_dc_start: float = 3000.0
    v_dc_end: float = 6000.0
    pulse_fraction: float = 0.0

    def __post_init__(self) -> None:
        _positive("voltage.v_dc_start", self.v_dc_start)
        _positive("voltage.v_dc_end", self.v_dc_end)
        if not 0.0 <= self.pulse_fraction <= 1.0:
            raise ConfigError(f"voltage.pulse_fraction: must be in [0, 1], got {self.pulse_fraction!r}")


@dataclass(frozen=True)
class HitsParams:
    """Detector hits from the tip shape at each moment (``synthapt.apt.hits``); the master switch
    of the reconstruction chain (off: the parametric local magnification of ``magnification``).

    The apex radius grows along the shank (``shape``); the DC voltage keeps the matrix field
    ``evaporation_field`` (V/nm) at the current radius, V = F k R (``field_factor`` k). Phases
    other than the matrix evaporate at ``field_ratio`` x F, which changes the local curvature
    and so the local magnification; the surface composition is mapped on cells of
    ``surface_cell`` nm over ``surface_window`` nm of apex travel."""

    enabled: bool = False
    evaporation_field: float = 35.0
    field_factor: float = 3.3
    field_ratio: float = 1.0
    surface_window: float = 0.5
    surface_cell: float = 0.5

    def __post_init__(self) -> None:
        _positive("hits.evaporation_field", self.evaporation_field)
        _positive("hits.field_factor", self.field_factor)
        if not (math.isfinite(self.field_ratio) and 0.2 <= self.field_ratio <= 5.0):
            raise ConfigError(f"hits.field_ratio: must be in [0.2, 5], got {self.field_ratio!r}")
        _positive("hits.surface_window", self.surface_window)
        _positive("hits.surface_cell", self.surface_cell)


@dataclass(frozen=True)
class ReconstructionParams:
    """Point-projection reconstruction (``synthapt.apt.reconstruct``) with its own parameters,
    which may differ from those that made the hits. ``None`` values take, in the emulation, the
    values that made the hits (no reconstruction error): image compression and flight path from
    ``detector``, k and F from ``hits``, the efficiency, the tip's apex radius and shank angle,
    the specimen's volume per atom, and the detector radius (or the farthest hit).

    ``radius_mode``: ``voltage`` (Bas et al.: R = V / (k F)) or ``shank`` (R = R0 + d sin a /
    (1 - sin a) at depth d; ``initial_radius`` R0 nm, ``shank_angle`` a degrees). Units: field
    V/nm, flight path and detector radius mm, atomic volume nm^3."""

    enabled: bool = True
    radius_mode: Literal["voltage", "shank"] = "voltage"
    image_compression: float | None = None
    field_factor: float | None = None
    evaporation_field: float | None = None
    flight_path: float | None = None
    detector_radius: float | None = None
    efficiency: float | None = None
    atomic_volume: float | None = None
    initial_radius: float | None = None
    shank_angle: float | None = None

    def __post_init__(self) -> None:
        if self.radius_mode not in ("voltage", "shank"):
            raise ConfigError(f"reconstruction.radius_mode: must be voltage or shank, got {self.radius_mode!r}")
        for name in ("image_compression", "field_factor", "evaporation_field", "flight_path",
                     "detector_radius", "atomic_volume", "initial_radius"):
            _positive(f"reconstruction.{name}", getattr(self, name))
        if self.efficiency is not None and not (math.isfinite(self.efficiency) and 0.0 < self.efficiency <= 1.0):
            raise ConfigError(f"reconstruction.efficiency: must be in (0, 1], got {self.efficiency!r}")
        if self.shank_angle is not None and not (math.isfinite(self.shank_angle) and 0.0 <= self.shank_angle < 60.0):
            raise ConfigError(f"reconstruction.shank_angle: must be in [0, 60) degrees, got {self.shank_angle!r}")


@dataclass(frozen=True)
class EmulationParams:
    """All emulation parameters: instrument preset name plus per-stage sections."""

    instrument: str = "leap5000xs"
    shape: ShapeParams = field(default_factory=ShapeParams)
    evaporation: EvaporationParams = field(default_factory=EvaporationParams)
    efficiency: EfficiencyParams = field(default_factory=EfficiencyParams)
    spectrum: SpectrumParams = field(default_factory=SpectrumParams)
    detector: DetectorParams = field(default_factory=DetectorParams)
    magnification: MagnificationParams = field(default_factory=MagnificationParams)
    resolution: ResolutionParams = field(default_factory=ResolutionParams)
    background: BackgroundParams = field(default_factory=BackgroundParams)
    voltage: VoltageParams = field(default_factory=VoltageParams)
    hits: HitsParams = field(default_factory=HitsParams)
    reconstruction: ReconstructionParams = field(default_factory=ReconstructionParams)

    def __post_init__(self) -> None:
        object.__setattr__(self, "instrument", self.preset.name)

    @property
    def preset(self) -> Instrument:
        return get_instrument(self.instrument)

    def resolved(self) -> EmulationParams:
        """A copy with every ``None`` (instrument-dependent) value replaced by the preset's."""
        p = self.preset

        def pick(value: float | None, default: float) -> float:
            return default if value is None else value

        return replace(
            self,
            efficiency=replace(self.efficiency, value=pick(self.efficiency.value, p.efficiency)),
            spectrum=replace(
                self.spectrum,
                mass_resolving_power=pick(self.spectrum.mass_resolving_power, p.mass_resolving_power),
                tail_fraction=pick(self.spectrum.tail_fraction, p.tail_fraction),
                tail_decay=pick(self.spectrum.tail_decay, p.tail_decay)),
            detector=replace(
                self.detector,
                flight_path=pick(self.detector.flight_path, p.flight_path),
                image_compression=pick(self.detector.image_compression, p.image_compression),
                dead_zone_radius=pick(self.detector.dead_zone_radius, p.dead_zone_radius)),
            resolution=replace(
                self.resolution,
                lateral_sigma=pick(self.resolution.lateral_sigma, p.lateral_sigma),
                depth_sigma=pick(self.resolution.depth_sigma, p.depth_sigma)),
        )

    def replace(self, **changes) -> EmulationParams:
        return replace(self, **changes)
