"""RRNG range files (IVAS/AP Suite, INI-like text).

Layout::

    [Ions]
    Number=2
    Ion1=Al
    Ion2=AlH
    [Ranges]
    Number=2
    Range1=26.9 27.1 Vol:0.01661 Al:1 Color:33FFFF
    Range2=27.9 28.1 Vol:0.02 Name:AlH Al:1 H:1 Color:FF00FF

Each range line: ``lo hi`` in Da, ``Vol:`` atomic volume (nm^3), element counts ``El:n``, an
optional ``Name:`` (molecular or custom ion name; default the formula of the counts; a name
without counts that reads as a formula, e.g. ``Name:AlH``, gives the composition) and
``Color:RRGGBB``. The reader accepts real-world variations: comma decimal separators, CRLF line
ends, any letter case in keys/sections/symbols, blank lines, ``#``/``;`` comments, spaces around
``=`` and ``:``, and a ``Number=0`` placeholder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from synthapt.errors import FormatError
from synthapt.io.atomic import atomic_output
from synthapt.ranges import Range, RangeTable, formula, normalise_symbol, parse_formula

_SECTION = re.compile(r"^\[\s*([A-Za-z]+)\s*\]$")
_KEY_VALUE = re.compile(r"^([A-Za-z]+)(\d*)\s*=\s*(.*)$")


def read_text(path: str | os.PathLike, kind: str) -> list[str]:
    """Lines of a text file (any line ends; UTF-8 or Latin-1); FormatError if missing/binary/empty."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise FormatError(f"{p}: is a folder, expected a {kind} file") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror})") from None
    if b"\x00" in raw:
        raise FormatError(f"{p}: binary content, not a {kind} text file")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise FormatError(f"{p}: empty file, expected a {kind} file")
    return text.splitlines()


def parse_number(token: str, where: str) -> float:
    """'26,9' or '26.9' -> 26.9; FormatError naming ``where`` otherwise."""
    try:
        return float(token.strip().replace(",", "."))
    except ValueError:
        raise FormatError(f"{where}: {token!r} is not a number") from None


def _parse_range(value: str, where: str) -> Range:
    # join "Key : value" spacing variants, then split into tokens
    tokens = re.sub(r"\s*:\s*", ":", value.strip()).split()
    if len(tokens) < 2:
        raise FormatError(f"{where}: expected 'lo hi Vol:v El:n ... Color:RRGGBB'")
    lo, hi = parse_number(tokens[0], where), parse_number(tokens[1], where)
    volume, color, name = 0.0, "FF0000", None
    composition: dict[str, int] = {}
    for token in tokens[2:]:
        key, sep, val = token.partition(":")
        if not sep or not val:
            raise FormatError(f"{where}: cannot read {token!r} (expected Key:value)")
        low = key.lower()
        if low == "vol":
            volume = parse_number(val, where)
        elif low == "color":
            color = val
        elif low == "name":
            name = val
        else:
            try:
                symbol = normalise_symbol(key)
            except FormatError:
                raise FormatError(f"{where}: unknown element symbol {key!r}") from None
            count = parse_number(val, where)
            if not np.isfinite(count) or count != int(count) or count <= 0:
                raise FormatError(f"{where}: atom count {val!r} of {symbol} is not a positive integer")
            composition[symbol] = composition.get(symbol, 0) + int(count)
    if name and not composition:  # "Name:AlH" without element counts: read the name as a formula
        composition = parse_formula(name) or {}
    ion = name or formula(composition)
    if not ion:
        raise FormatError(f"{where}: range has neither element counts nor a Name")
    try:
        return Range(lo=lo, hi=hi, ion=ion, composition=composition, volume=volume, color=color)
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None


def read_rrng(path: str | os.PathLike) -> RangeTable:
    """Read an RRNG file -> RangeTable (ranges in file order); FormatError naming file and line."""
    p = Path(path)
    lines = read_text(p, "RRNG")
    section = None
    declared: int | None = None
    ranges: list[Range] = []
    seen_ranges_section = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = f"{p}: line {lineno}"
        m = _SECTION.match(line)
        if m:
            section = m.group(1).lower()
            seen_ranges_section |= section == "ranges"
            continue
        if section is None:
            raise FormatError(f"{where}: entry before any [section]; not an RRNG file?")
        if section != "ranges":
            continue  # [Ions] and other sections are informative only: ion names come from the ranges
        m = _KEY_VALUE.match(line)
        if not m:
            raise FormatError(f"{where}: cannot read {line[:60]!r}")
        key, index, value = m.group(1).lower(), m.group(2), m.group(3)
        if key == "number" and not index:
            count = parse_number(value, where)
            if not (np.isfinite(count) and count >= 0 and count == int(count)):
                raise FormatError(f"{where}: Number={value.strip()!r} is not a whole number >= 0")
            declared = int(count)
        elif key == "range" and index:
            ranges.append(_parse_range(value, where))
        else:
            raise FormatError(f"{where}: unexpected entry {line[:60]!r} in [Ranges]")
    if not seen_ranges_section:
        raise FormatError(f"{p}: no [Ranges] section; not an RRNG file?")
    if declared and declared != len(ranges):
        raise FormatError(f"{p}: [Ranges] declares Number={declared} but lists {len(ranges)} ranges")
    try:
        return RangeTable(tuple(ranges))
    except FormatError as exc:
        raise FormatError(f"{p}: {exc}") from None


def _format_number(x: float) -> str:
    return repr(float(x))


def write_rrng(path: str | os.PathLike, table: RangeTable) -> None:
    """Write ``table`` as RRNG; numbers in shortest exact form so that reading gives it back."""
    names = table.ion_names
    lines = ["[Ions]", f"Number={len(names)}"]
    lines += [f"Ion{i}={name}" for i, name in enumerate(names, start=1)]
    lines += ["[Ranges]", f"Number={len(table.ranges)}"]
    for i, r in enumerate(table.ranges, start=1):
        parts = [_format_number(r.lo), _format_number(r.hi), f"Vol:{_format_number(r.volume)}"]
        if r.ion != formula(r.composition):
            parts.append(f"Name:{r.ion}")
        parts += [f"{el}:{n}" for el, n in r.composition.items()]
        parts.append(f"Color:{r.color}")
        lines.append(f"Range{i}=" + " ".join(parts))
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
