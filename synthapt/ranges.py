"""Mass-to-charge range tables: which ion (and which atoms) each m/q window (Da) stands for.

A ``Range`` is a half-open window ``lo <= m/q < hi`` (Da) assigned to one ion, e.g. "Al" or the
molecular ion "AlH" (composition {"Al": 1, "H": 1}). Several ranges may share an ion (isotopes,
charge states). A ``RangeTable`` assigns ion codes to many ions at once with a binary search over
the sorted range bounds, and decomposes molecular ions into element counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase.data import chemical_symbols

from synthapt.errors import FormatError

ELEMENTS = frozenset(chemical_symbols[1:])
"""Element symbols of the periodic table (H ... Og)."""
LOOKUP_BINS = 1 << 20
"""Most bins of the m/q lookup table of ``RangeTable.assign`` (bins are >= 1/64 Da wide)."""
MAX_LOOKUP_DA = 1.0e6
AMBIGUOUS = -2


def normalise_symbol(symbol: str) -> str:
    """'ni' / 'NI' / 'Ni' -> 'Ni'; raises FormatError for anything that is not an element."""
    text = symbol.strip()
    norm = text[:1].upper() + text[1:].lower()
    if norm not in ELEMENTS:
        raise FormatError(f"unknown element symbol {symbol!r}")
    return norm


def formula(composition: dict[str, int]) -> str:
    """Ion name from a composition in its given order: {"Al": 1, "H": 2} -> "AlH2"."""
    return "".join(el if n == 1 else f"{el}{n}" for el, n in composition.items())


def parse_formula(text: str) -> dict[str, int] | None:
    """'AlH2' -> {"Al": 1, "H": 2}; None if ``text`` is not a chemical formula."""
    parts = re.findall(r"([A-Z][a-z]?)(\d*)", text)
    if not parts or "".join(el + n for el, n in parts) != text:
        return None
    out: dict[str, int] = {}
    for el, n in parts:
        if el not in ELEMENTS or (n and int(n) == 0):
            return None
        out[el] = out.get(el, 0) + (int(n) if n else 1)
    return out


@dataclass(frozen=True)
class Range:
    """One m/q window ``lo <= m/q < hi`` (Da) of ion ``ion`` with atoms ``composition``.

    composition: element symbol -> atoms per ion ({} for an unidentified ion).
    volume: atomic volume from the range file, nm^3 (informative only).
    color: RRGGBB hex colour.
    """

    lo: float
    hi: float
    ion: str
    composition: dict[str, int] = field(default_factory=dict)
    volume: float = 0.0
    color: str = "FF0000"

    def __post_init__(self) -> None:
        try:
            lo, hi, volume = float(self.lo), float(self.hi), float(self.volume)
        except (TypeError, ValueError):
            raise FormatError(f"range {self.ion!r}: bounds and volume must be numbers") from None
        label = f"range {self.ion!r} [{lo!r}, {hi!r}) Da"
        if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo < hi):
            raise FormatError(f"{label}: bounds must be finite with 0 <= lo < hi")
        if not np.isfinite(volume) or volume < 0:
            raise FormatError(f"{label}: volume must be a finite number >= 0, got {volume!r}")
        if (not isinstance(self.ion, str) or not self.ion
                or any(c.isspace() or c in ":=[]" for c in self.ion)):
            raise FormatError(f"{label}: ion name must be a non-empty word without spaces, ':', '=', '[', ']'")
        comp: dict[str, int] = {}
        for symbol, count in dict(self.composition).items():
            try:
                el = normalise_symbol(str(symbol))
            except FormatError as exc:
                raise FormatError(f"{label}: {exc}") from None
            if isinstance(count, bool) or int(count) != count or int(count) <= 0:
                raise FormatError(f"{label}: atom count of {el} must be a positive integer, got {count!r}")
            comp[el] = comp.get(el, 0) + int(count)
        color = str(self.color).lstrip("#").upper()
        if len(color) != 6 or any(c not in "0123456789ABCDEF" for c in color):
            raise FormatError(f"{label}: colour must be RRGGBB hex, got {self.color!r}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "volume", volume)
        object.__setattr__(self, "composition", comp)
        object.__setattr__(self, "color", color)

    @property
    def label(self) -> str:
        return f"{self.ion} [{self.lo:g}, {self.hi:g}) Da"

    def to_dict(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "ion": self.ion, "composition": dict(self.composition),
                "volume": self.volume, "color": self.color}


@dataclass(frozen=True)
class RangeTable:
    """An ordered set of non-overlapping ``Range`` windows.

    ion_names: unique ion names in first-seen order; ``assign`` returns codes into it.
    elements: sorted unique element symbols over all ions.
    """

    ranges: tuple[Range, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranges", tuple(self.ranges))
        for r in self.ranges:
            if not isinstance(r, Range):
                raise FormatError(f"RangeTable: expected Range objects, got {type(r).__name__}")
        self.validate()

    # ------------------------------------------------------------------ properties
    @property
    def ion_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.ion for r in self.ranges))

    @property
    def elements(self) -> tuple[str, ...]:
        return tuple(sorted({el for r in self.ranges for el in r.composition}))

    def ion_composition(self, ion: str) -> dict[str, int]:
        """Atoms per ion of ``ion`` (from its first range)."""
        for r in self.ranges:
            if r.ion == ion:
                return dict(r.composition)
        raise FormatError(f"ion {ion!r} not in range table (ions: {', '.join(self.ion_names)})")

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise FormatError if two ranges overlap (naming both) or one ion has two compositions."""
        seen: dict[str, Range] = {}
        for r in self.ranges:
            first = seen.setdefault(r.ion, r)
            if first.composition != r.composition:
                raise FormatError(
                    f"ion {r.ion!r} has two compositions: {formula(first.composition) or '{}'} in "
                    f"range {first.label} and {formula(r.composition) or '{}'} in range {r.label}")
        if len(self.ranges) < 2:
            return
        lo, hi, order = self._sorted()
        clash = np.flatnonzero(lo[1:] < hi[:-1])
        if clash.size:
            a, b = self.ranges[order[clash[0]]], self.ranges[order[clash[0] + 1]]
            raise FormatError(f"overlapping ranges: {a.label} and {b.label}")

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo = np.array([r.lo for r in self.ranges], dtype=np.float64)
        hi = np.array([r.hi for r in self.ranges], dtype=np.float64)
        order = np.lexsort((hi, lo))
        return lo[order], hi[order], order

    # ------------------------------------------------------------------ assignment
    def assign(self, mass_to_charge: np.ndarray) -> np.ndarray:
        """(M,) m/q in Da -> (M,) int16 codes into ``ion_names``; -1 where no range matches.

        Windows are half-open, ``lo <= m/q < hi``, compared at the precision of ``m/q`` (float32
        data against float32-rounded bounds, so a value written as 26.9 matches a bound 26.9).
        Most ions are looked up in a table over power-of-two-wide m/q bins (exact: the bin of a
        value is found by scaling with a power of two); only ions in a bin that holds a range
        bound go through a binary search (``np.searchsorted``) over the sorted bounds.
        """
        mq = np.asarray(mass_to_charge)
        if not self.ranges:
            return np.full(mq.shape, -1, dtype=np.int16)
        dtype = np.float32 if mq.dtype == np.float32 else np.float64
        mq = mq.astype(dtype, copy=False)
        lo, hi, code_of = self._bounds(dtype)
        top = float(hi.max())
        if not top < MAX_LOOKUP_DA:  # absurd bounds (or inf after rounding): plain binary search
            return self._lookup(lo, hi, code_of, mq)
        width = 2.0 ** max(-6, int(np.ceil(np.log2(top / LOOKUP_BINS))))
        n_bins = int(np.ceil(top / width)) + 1
        starts = np.arange(n_bins, dtype=np.float64) * width
        lut = self._lookup(lo, hi, code_of, starts)
        bounds = np.r_[lo, hi].astype(np.float64) / width
        lut[bounds[bounds != np.floor(bounds)].astype(np.int64)] = AMBIGUOUS  # a bound inside the bin
        lut = np.r_[lut, np.int16(-1)]  # last entry: outside [0, top]
        scaled = mq * dtype(1.0 / width)
        with np.errstate(invalid="ignore"):
            valid = (scaled >= 0) & (scaled < n_bins)  # False for NaN
        codes = lut[np.where(valid, scaled, n_bins).astype(np.int32)]  # n_bins < 2**21
        unsure = np.flatnonzero(codes == AMBIGUOUS)
        if unsure.size:
            codes[unsure] = self._lookup(lo, hi, code_of, mq[unsure])
        return codes

    def _bounds(self, dtype: type) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi, order = self._sorted()
        names = self.ion_names
        code_of = np.array([names.index(self.ranges[i].ion) for i in order] + [-1], dtype=np.int16)
        with np.errstate(over="ignore"):  # bounds beyond float32 become inf, as the data would
            return lo.astype(dtype), hi.astype(dtype), code_of

    @staticmethod
    def _lookup(lo: np.ndarray, hi: np.ndarray, code_of: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Binary search: code of the last range with lo <= value if value < its hi, else -1."""
        idx = np.searchsorted(lo, values, side="right") - 1
        inside = (idx >= 0) & (values < hi[np.maximum(idx, 0)])
        return code_of[np.where(inside, idx, len(lo))]

    def element_counts(self, codes: np.ndarray) -> np.ndarray:
        """(M,) ion codes -> (M, len(elements)) int32 atoms of each element per ion (0 if unranged)."""
        matrix = self.composition_matrix()
        table = np.vstack([matrix, np.zeros((1, matrix.shape[1]), dtype=np.int32)])
        codes = np.asarray(codes)
        if codes.size and (codes.max(initial=-1) >= len(self.ion_names) or codes.min(initial=0) < -1):
            raise FormatError(f"ion codes outside 0..{len(self.ion_names) - 1} (or -1 unranged)")
        return table[codes]

    def composition_matrix(self) -> np.ndarray:
        """(n_ions, n_elements) int32 atoms of each element (columns ``elements``) per ion name."""
        elements = self.elements
        out = np.zeros((len(self.ion_names), len(elements)), dtype=np.int32)
        for i, ion in enumerate(self.ion_names):
            for el, n in self.ion_composition(ion).items():
                out[i, elements.index(el)] = n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ranges": [r.to_dict() for r in self.ranges]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTable:
        try:
            return cls(tuple(Range(**r) for r in data["ranges"]))
        except (KeyError, TypeError) as exc:
            raise FormatError(f"range table: malformed description ({exc})") from None
