"""LAMMPS molecular dynamics generator: ``simulate(SimulationConfig) -> Specimen``."""

from synthapt.md.config import MDConfig, SimulationConfig, StructureConfig
from synthapt.md.generator import prepare_structure, simulate

__all__ = ["MDConfig", "SimulationConfig", "StructureConfig", "prepare_structure", "simulate"]
