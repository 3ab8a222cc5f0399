"""The memory budget: the one check made before allocating anything whose size comes from a
file header or a configuration (HDF5 arrays, label files, atom and ion counts).

The budget is ``SYNTHAPT_MEMORY_BUDGET`` (bytes, or a number with a K/M/G/T suffix, powers of
1024, e.g. ``8G``) or, unset, half of the memory this process may use (physical RAM, or the
cgroup limit of a container if lower).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from synthapt.errors import ConfigError, SynthaptError

BUDGET_ENV = "SYNTHAPT_MEMORY_BUDGET"
DEFAULT_FRACTION = 0.5
"""Share of the available memory used as the budget when ``SYNTHAPT_MEMORY_BUDGET`` is unset."""
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable size, e.g. '2.0 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def parse_size(text: str, where: str = BUDGET_ENV) -> int:
    """'8G', '512M', '2GiB', '1000000' -> bytes (powers of 1024); ConfigError if malformed."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ConfigError(f"{where}: expected a size such as 8G, 512M or a number of bytes, "
                          f"got {text!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size <= 0:
        raise ConfigError(f"{where}: must be a positive size, got {text!r}")
    return size


def available_memory() -> int:
    """Bytes this process may use: physical RAM, or the cgroup (v2 or v1) limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def memory_budget() -> int:
    """The budget in bytes (``SYNTHAPT_MEMORY_BUDGET`` or half of ``available_memory()``)."""
    text = os.environ.get(BUDGET_ENV)
    if text:
        return parse_size(text)
    return int(DEFAULT_FRACTION * available_memory())


def check_memory(nbytes: float, what: str) -> None:
    """Raise SynthaptError (naming ``what``, the size and the budget) if ``nbytes`` exceeds the
    memory budget. ``what`` says what would be allocated, e.g. 'data.h5: /ions/positions
    (536870912 x 3 float32)'."""
    budget = memory_budget()
    if nbytes > budget:
        raise SynthaptError(f"{what} needs {format_bytes(nbytes)}, more than the memory budget of "
                            f"{format_bytes(budget)} (set {BUDGET_ENV} to change it)")
