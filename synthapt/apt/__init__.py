"""Atom-probe emulation: Specimen (ground-truth atoms) -> ranged APTDataset with per-ion truth.

``emulate(specimen, EmulationParams(instrument="leap5000xs"), seed)`` runs the stages of
``synthapt.apt.emulate.STAGES``; ``EmulationParams`` holds one section per stage (TOML-loadable).
``reconstruct`` is the point-projection reconstruction of detector hits (also run as a stage
with ``hits.enabled``).
"""

from synthapt.apt.emulate import STAGES, emulate, run_stages
from synthapt.apt.instruments import INSTRUMENTS, Instrument, get_instrument
from synthapt.apt.params import (BackgroundParams, DetectorParams, EfficiencyParams,
                                 EmulationParams, EvaporationParams, HitsParams,
                                 MagnificationParams, ReconstructionParams, ResolutionParams,
                                 ShapeParams, SpectrumParams, VoltageParams)
from synthapt.apt.reconstruct import reconstruct

__all__ = [
    "STAGES", "emulate", "run_stages", "INSTRUMENTS", "Instrument", "get_instrument",
    "EmulationParams", "ShapeParams", "EvaporationParams", "EfficiencyParams", "SpectrumParams",
    "DetectorParams", "MagnificationParams", "ResolutionParams", "BackgroundParams", "VoltageParams",
    "HitsParams", "ReconstructionParams", "reconstruct",
]
