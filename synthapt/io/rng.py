"""RNG range files (ORNL/Oxford format, also exported by IVAS), read only.

Layout::

    3 4                      <- number of species, number of ranges
    Ni                       <- per species: its name ...
    Ni 0.0 1.0 0.0           <- ... and a line with (optional short name and) colour r g b in 0..1
    ...
    ---------- Ni Al H       <- column labels of the range table
    . 28.9 29.1 1 0 0        <- ". lo hi" (Da), then atoms of each column in the ion
    . 27.9 28.1 0 1 1        <- a molecular ion (AlH)

Columns may be custom names rather than elements; a range counting a custom column takes that
name, and its composition is the name read as a formula when it is one (e.g. "AlH"), else empty.
Lines after the declared number of ranges (IVAS polyatomic extensions) are ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synthapt.errors import FormatError
from synthapt.ranges import ELEMENTS, Range, RangeTable, formula, normalise_symbol, parse_formula
from synthapt.io.rrng import parse_number, read_text


def _colour(tokens: list[str]) -> str | None:
    try:
        rgb = [float(t.replace(",", ".")) for t in tokens[-3:]]
    except ValueError:
        return None
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        return None
    return "".join(f"{round(c * 255):02X}" for c in rgb)


def read_rng(path: str | os.PathLike) -> RangeTable:
    """Read an RNG file -> RangeTable; FormatError naming the file and line on malformed input."""
    p = Path(path)
    lines = [(i, ln.strip()) for i, ln in enumerate(read_text(p, "RNG"), start=1)]
    lines = [(i, ln) for i, ln in lines if ln and ln[0] not in "#;"]
    if not lines:
        raise FormatError(f"{p}: only comments, not an RNG file")
    first = lines[0][1].split()
    try:
        n_species, n_ranges = int(first[0]), int(first[1])
    except (ValueError, IndexError):
        raise FormatError(f"{p}: line {lines[0][0]}: expected 'number_of_species number_of_ranges'") from None
    if n_species <= 0 or n_ranges < 0:
        raise FormatError(f"{p}: line {lines[0][0]}: impossible counts {n_species} species, {n_ranges} ranges")
    header = next((k for k, (_, ln) in enumerate(lines) if ln.startswith("-")), None)
    if header is None:
        raise FormatError(f"{p}: no '----' column header line; not an RNG file?")
    labels = lines[header][1].lstrip("-").split()
    if len(labels) != n_species:
        raise FormatError(f"{p}: line {lines[header][0]}: {len(labels)} column labels for {n_species} species")
    colours: dict[str, str] = {}
    block = [ln for _, ln in lines[1:header]]
    for k in range(0, len(block) - 1, 2):
        c = _colour(block[k + 1].split())
        if c:
            colours[block[k].split()[0]] = c
    body = lines[header + 1: header + 1 + n_ranges]
    if len(body) < n_ranges:
        raise FormatError(f"{p}: declares {n_ranges} ranges but lists {len(body)}")
    ranges = [_parse_row(f"{p}: line {i}", ln, labels, colours) for i, ln in body]
    try:
        return RangeTable(tuple(ranges))
    except FormatError as exc:
        raise FormatError(f"{p}: {exc}") from None


def _parse_row(where: str, line: str, labels: list[str], colours: dict[str, str]) -> Range:
    tokens = line.split()
    if len(tokens) != 3 + len(labels) or tokens[0] != ".":
        raise FormatError(f"{where}: expected '. lo hi' and {len(labels)} counts")
    lo, hi = parse_number(tokens[1], where), parse_number(tokens[2], where)
    composition: dict[str, int] = {}
    custom: str | None = None
    used: list[str] = []
    for label, token in zip(labels, tokens[3:]):
        count = parse_number(token, where)
        if not np.isfinite(count) or count != int(count) or count < 0:
            raise FormatError(f"{where}: count {token!r} of {label} is not a whole number >= 0")
        if count == 0:
            continue
        used.append(label)
        norm = label[:1].upper() + label[1:].lower()
        if norm in ELEMENTS:
            el = normalise_symbol(label)
            composition[el] = composition.get(el, 0) + int(count)
        else:
            custom = label
            for el, n in (parse_formula(label) or {}).items():
                composition[el] = composition.get(el, 0) + n * int(count)
    ion = custom or formula(composition)
    if not ion:
        raise FormatError(f"{where}: range counts no species")
    colour = colours.get(used[0], "FF0000") if len(used) == 1 else "FF0000"
    try:
        return Range(lo=lo, hi=hi, ion=ion, composition=composition, color=colour)
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None
