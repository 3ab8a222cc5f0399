"""Instrument presets: detection efficiency and nominal detector / resolution figures.

Detection efficiencies are the manufacturers' figures (CAMECA LEAP 4000X HR 37 %, LEAP 5000 XR
52 %, LEAP 5000 XS 80 %, EIKOS 50 %). Flight paths are the nominal ones (straight 100 mm for the
XS and EIKOS, reflectron-equivalent 382 mm for the XR and 4000X HR). Spatial resolution follows the
usual anisotropic Gaussian description (lateral 0.3-0.5 nm, depth 0.1-0.3 nm; B. Gault et al.,
"Atom Probe Microscopy", Springer 2012, ch. 7). Mass resolving powers m/dm (FWHM) and thermal tails
reflect that reflectron instruments resolve peaks better than straight flight paths. The dead-zone
radius (a few mm for delay-line detectors; Peng et al., Ultramicroscopy 189 (2018) 54) and the rest
are nominal values, overridable in ``EmulationParams``.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthapt.errors import ConfigError


@dataclass(frozen=True)
class Instrument:
    """Nominal figures of one atom-probe instrument."""

    name: str
    label: str
    efficiency: float  # fraction of evaporated ions detected
    flight_path: float  # mm
    image_compression: float  # dimensionless ICF
    dead_zone_radius: float  # mm on the detector
    lateral_sigma: float  # nm
    depth_sigma: float  # nm
    mass_resolving_power: float  # m/dm FWHM
    tail_fraction: float  # fraction of ions in the thermal tail
    tail_decay: float  # exponential tail length as a fraction of m/q
    reflectron: bool


INSTRUMENTS: dict[str, Instrument] = {
    "leap4000xhr": Instrument("leap4000xhr", "CAMECA LEAP 4000X HR", 0.37, 382.0, 1.65, 2.0,
                              0.40, 0.20, 1100.0, 0.05, 0.002, True),
    "leap5000xr": Instrument("leap5000xr", "CAMECA LEAP 5000 XR", 0.52, 382.0, 1.65, 2.0,
                             0.40, 0.20, 1100.0, 0.05, 0.002, True),
    "leap5000xs": Instrument("leap5000xs", "CAMECA LEAP 5000 XS", 0.80, 100.0, 1.65, 2.0,
                             0.35, 0.15, 650.0, 0.10, 0.004, False),
    "eikos": Instrument("eikos", "CAMECA EIKOS", 0.50, 100.0, 1.65, 2.0,
                        0.45, 0.25, 500.0, 0.10, 0.004, False),
}


def get_instrument(name: str, where: str = "instrument") -> Instrument:
    """The preset called ``name`` (case-insensitive); unknown names raise ConfigError."""
    key = name.lower().replace(" ", "").replace("-", "").replace("_", "")
    if key not in INSTRUMENTS:
        raise ConfigError(
            f"{where}: unknown instrument {name!r} (known: {', '.join(INSTRUMENTS)})")
    return INSTRUMENTS[key]
