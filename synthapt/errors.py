"""The package's error type: one clear line naming the file or parameter and what is wrong."""


class SynthaptError(Exception):
    """Any bad input or failed external step. ``str(err)`` is a single line meant for users."""


class FormatError(SynthaptError):
    """A file could not be parsed: malformed, truncated, wrong byte order, implausible values."""


class ConfigError(SynthaptError):
    """A configuration value or key is invalid (unknown key, impossible value)."""


class SimulationError(SynthaptError):
    """An external simulation (LAMMPS) failed."""
