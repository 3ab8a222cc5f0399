"""Range tables: validation, vectorised assignment, molecular-ion decomposition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthapt.errors import FormatError
from synthapt.ranges import Range, RangeTable, formula, parse_formula


def table() -> RangeTable:
    return RangeTable((
        Range(26.9, 27.1, "Al", {"Al": 1}),
        Range(28.5, 29.5, "Ni", {"Ni": 1}),
        Range(27.9, 28.1, "AlH", {"Al": 1, "H": 1}),
        Range(13.4, 13.6, "Al", {"Al": 1}),
        Range(29.5, 30.5, "Ni", {"Ni": 1}),  # touches the previous Ni range: allowed
        Range(40.0, 41.0, "Al2O", {"Al": 2, "O": 1}),
    ))


def test_names_and_elements():
    t = table()
    assert t.ion_names == ("Al", "Ni", "AlH", "Al2O")
    assert t.elements == ("Al", "H", "Ni", "O")
    assert t.composition_matrix().tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0], [2, 0, 0, 1]]


def test_assign_matches_brute_force(rng):
    t = table()
    mq = np.r_[rng.uniform(0, 50, 20000), [26.9, 27.1, 29.5, 30.5, 13.4, 0.0, 40.0]].astype(np.float32)
    codes = t.assign(mq)
    assert codes.dtype == np.int16
    expected = np.full(len(mq), -1)
    for r in t.ranges:
        inside = (mq >= np.float32(r.lo)) & (mq < np.float32(r.hi))
        expected[inside] = t.ion_names.index(r.ion)
    np.testing.assert_array_equal(codes, expected)
    # half-open windows: lower bound in, upper bound out; touching ranges share the bound
    assert t.assign(np.array([26.9, 27.1, 29.5, 30.5])).tolist() == [0, -1, 1, -1]
    # float32 data are compared with float32-rounded bounds: float32(26.9) < 26.9 in float64
    assert t.assign(np.array([26.9, 27.1], np.float32)).tolist() == [0, -1]
    assert t.assign(np.array([np.nextafter(np.float32(26.9), 0)], np.float32)).tolist() == [-1]


def test_element_counts_decompose_molecular_ions():
    t = table()
    counts = t.element_counts(np.array([0, 2, 3, -1, 1], dtype=np.int16))
    assert counts.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [2, 0, 0, 1], [0, 0, 0, 0], [0, 0, 1, 0]]
    with pytest.raises(FormatError):
        t.element_counts(np.array([7]))


def test_overlap_names_both_ranges():
    with pytest.raises(FormatError) as err:
        RangeTable((Range(26.9, 27.1, "Al", {"Al": 1}), Range(10, 11, "X1", {"C": 1}),
                    Range(27.0, 27.5, "Ni", {"Ni": 1})))
    msg = str(err.value)
    assert "overlapping" in msg and "Al [26.9, 27.1)" in msg and "Ni [27, 27.5)" in msg
    assert "\n" not in msg


def test_bad_ranges_rejected():
    with pytest.raises(FormatError, match="unknown element symbol 'Qx'"):
        Range(1, 2, "Qx", {"Qx": 1})
    with pytest.raises(FormatError, match="lo < hi"):
        Range(2, 1, "Al", {"Al": 1})
    with pytest.raises(FormatError, match="lo < hi"):
        Range(float("nan"), 1, "Al", {"Al": 1})
    with pytest.raises(FormatError, match="positive integer"):
        Range(1, 2, "Al", {"Al": 0})
    with pytest.raises(FormatError, match="RRGGBB"):
        Range(1, 2, "Al", {"Al": 1}, color="red")
    with pytest.raises(FormatError, match="two compositions"):
        RangeTable((Range(1, 2, "A", {"Al": 1}), Range(3, 4, "A", {"Ni": 1})))


def test_symbols_normalised_and_formula():
    r = Range(1, 2, "AlH", {"al": 1, "H": 1}, color="#00ff00")
    assert r.composition == {"Al": 1, "H": 1} and r.color == "00FF00"
    assert formula({"Al": 2, "O": 3}) == "Al2O3"
    assert parse_formula("AlH2") == {"Al": 1, "H": 2}
    assert parse_formula("Custom") is None


def test_empty_table_and_dict_round_trip():
    assert RangeTable(()).assign(np.array([1.0, 2.0])).tolist() == [-1, -1]
    t = table()
    assert RangeTable.from_dict(t.to_dict()) == t


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.floats(0, 300, allow_nan=False, width=32), min_size=2, max_size=20, unique=True),
       keep=st.lists(st.booleans(), min_size=20, max_size=20),
       extra=st.lists(st.floats(-5, 400, allow_nan=False, width=32), max_size=50),
       wide=st.booleans())
def test_assign_equals_per_range_comparison(cuts, keep, extra, wide):
    """The binned lookup gives exactly the per-range answer, also on and next to every bound."""
    cuts = sorted(cuts)
    ranges = tuple(Range(a, b, f"I{i % 3}", {"Al": 1}) for i, (a, b) in enumerate(zip(cuts, cuts[1:]))
                   if keep[i] and a < b)
    table = RangeTable(ranges)
    dtype = np.float64 if wide else np.float32
    edges = np.array(cuts, dtype)
    values = np.r_[edges, np.nextafter(edges, dtype(-1)), np.nextafter(edges, dtype(1e9)),
                   np.array(extra, dtype), [np.nan, 1e30, -1e-3]].astype(dtype)
    expected = np.full(len(values), -1)
    for r in ranges:
        expected[(values >= dtype(r.lo)) & (values < dtype(r.hi))] = table.ion_names.index(r.ion)
    np.testing.assert_array_equal(table.assign(values), expected)
