"""Atom-probe emulation: Specimen (ground-truth atoms) -> ranged APTDataset with per-ion truth.

``emulate(specimen, EmulationParams(instrument="leap5000xs"), seed)`` runs the stages of
``synthapt.apt.emulate.STAGES``; ``EmulationParams`` holds one section per stage (TOML-loadable).
"""

from synthapt.apt.emulate import STAGES, emulate, run_stages
from synthapt.apt.instruments import INSTRUMENTS, Instrument, get_instrument
from synthapt.apt.params import (BackgroundParams, DetectorParams, EfficiencyParams,
                                 EmulationParams, EvaporationParams, MagnificationParams,
                                 ResolutionParams, ShapeParams, SpectrumParams, VoltageParams)

__all__ = [
    "STAGES", "emulate", "run_stages", "INSTRUMENTS", "Instrument", "get_instrument",
    "EmulationParams", "ShapeParams", "EvaporationParams", "EfficiencyParams", "SpectrumParams",
    "DetectorParams", "MagnificationParams", "ResolutionParams", "BackgroundParams", "VoltageParams",
]
