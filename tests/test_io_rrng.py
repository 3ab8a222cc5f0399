"""RRNG (read/write) and RNG (read): round trips, real-world quirks, independent reader."""

import numpy as np
import pytest

from synthapt.errors import FormatError
from synthapt.ranges import Range, RangeTable
from synthapt.io.rng import read_rng
from synthapt.io.rrng import read_rrng, write_rrng

TABLE = RangeTable((
    Range(26.9, 27.1, "Al", {"Al": 1}, volume=0.01661, color="33FFFF"),
    Range(13.45, 13.55, "Al", {"Al": 1}, volume=0.01661, color="33FFFF"),
    Range(28.92, 29.08, "Ni", {"Ni": 1}, volume=0.01094, color="00FF00"),
    Range(27.95, 28.05, "AlH", {"Al": 1, "H": 1}, volume=0.02, color="FF00FF"),
    Range(43.0, 43.2, "Al2O", {"Al": 2, "O": 1}, color="0000FF"),
    Range(50.0, 50.5, "Hump", {}, color="808080"),
    Range(14.0, 14.1, "Ni2plus", {"Ni": 1}, color="00AA00"),
))


def test_rrng_round_trip_exact(tmp_path):
    write_rrng(tmp_path / "t.rrng", TABLE)
    assert read_rrng(tmp_path / "t.rrng") == TABLE
    text = (tmp_path / "t.rrng").read_text()
    assert "Range4=27.95 28.05 Vol:0.02 Al:1 H:1 Color:FF00FF" in text
    assert "Name:Ni2plus Ni:1" in text and "Ion3=AlH" in text


def test_rrng_independent_reader_agrees(tmp_path):
    rrng_reader = pytest.importorskip("ifes_apt_tc_data_modeling.rrng.rrng_reader")
    ions = [r for r in TABLE.ranges if r.composition]
    table = RangeTable(tuple(ions))
    write_rrng(tmp_path / "t.rrng", table)
    other = rrng_reader.ReadRrngFileFormat(str(tmp_path / "t.rrng"))
    found = other.rrng["molecular_ions"]
    assert len(found) == len(ions)
    for ion, r in zip(found, ions):
        np.testing.assert_array_equal(ion.ranges.magnitude[0], [r.lo, r.hi])
        protons = sorted(int(z) for z in ion.nuclide_list[:, 1] if z)
        expected = sorted(Z for el, n in r.composition.items() for Z in [ATOMIC_NUMBER[el]] * n)
        assert protons == expected
    assert found[-1].comment == "Ni2plus" and found[0].comment == ""


ATOMIC_NUMBER = {"H": 1, "O": 8, "Al": 13, "Ni": 28}

QUIRKY = (
    "# exported by hand\r\n"
    "[ions]\r\n"
    "number=3\r\n"
    "Ion1=Al\r\n"
    "Ion2=Ni\r\n"
    "Ion3=AlH\r\n"
    "\r\n"
    "[RANGES]\r\n"
    "NUMBER = 5\r\n"
    "; a comment\r\n"
    "Range1 = 26,9000 27,1000 vol:0,01661 al:1 color:33ffff\r\n"
    "range2=28.92 29.08 VOL:0.01094 NI:1 COLOR:00FF00\r\n"
    "Range3=27,95 28,05 Vol:0,02 Name:AlH Al:1 H:1 Color:FF00FF\r\n"
    "Range4=50.0 50.5 Vol:0 Name:Hump Color:808080\r\n"
    "Range5=43.0 43.2 Vol:0 Name:Al2O Color:0000FF\r\n"
)


def test_rrng_quirks(tmp_path):
    (tmp_path / "q.rrng").write_bytes(QUIRKY.encode())
    t = read_rrng(tmp_path / "q.rrng")
    assert t.ion_names == ("Al", "Ni", "AlH", "Hump", "Al2O")
    assert t.ranges[0] == Range(26.9, 27.1, "Al", {"Al": 1}, volume=0.01661, color="33FFFF")
    assert t.ranges[2].composition == {"Al": 1, "H": 1}
    assert t.ranges[3].composition == {}
    assert t.ranges[4].composition == {"Al": 2, "O": 1}  # name without counts read as a formula
    assert t.elements == ("Al", "H", "Ni", "O")
    assert t.assign(np.array([27.0, 29.0, 28.0, 50.2, 10.0])).tolist() == [0, 1, 2, 3, -1]


@pytest.mark.parametrize("body,message", [
    ("[Ranges]\nNumber=2\nRange1=26.9 27.1 Vol:0 Al:1 Color:FF0000\nRange2=27.0 27.5 Vol:0 Ni:1 Color:FF0000\n",
     "overlapping ranges: Al [26.9, 27.1) Da and Ni [27, 27.5) Da"),
    ("[Ranges]\nNumber=1\nRange1=26.9 27.1 Vol:0 Qq:1 Color:FF0000\n", "line 3: unknown element symbol 'Qq'"),
    ("[Ranges]\nNumber=2\nRange1=26.9 27.1 Vol:0 Al:1 Color:FF0000\n", "declares Number=2 but lists 1"),
    ("[Ions]\nIon1=Al\n", "no [Ranges] section"),
    ("[Ranges]\nRange1=27.1 26.9 Vol:0 Al:1\n", "lo < hi"),
    ("[Ranges]\nRange1=abc 26.9 Vol:0 Al:1\n", "'abc' is not a number"),
    ("Range1=1 2 Al:1\n", "entry before any [section]"),
    ("", "empty file"),
])
def test_rrng_errors(tmp_path, body, message):
    (tmp_path / "bad.rrng").write_text(body)
    with pytest.raises(FormatError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        read_rrng(tmp_path / "bad.rrng")


def test_rrng_missing_file(tmp_path):
    with pytest.raises(FormatError, match="file not found"):
        read_rrng(tmp_path / "nope.rrng")


RNG = """3 5
Ni
Ni 0.0 1.0 0.0
Al
Al 0.2 1.0 1.0
H
H 1.0 1.0 1.0
------------------- Ni Al H
. 28.92 29.08 1 0 0
. 26.9 27.1 0 1 0
. 13.45 13.55 0 1 0
. 27.95 28.05 0 1 1
. 1.0 1.1 0 0 1
-------------------
polyatomic extension lines are ignored
"""


def test_rng_read_and_independent_reader(tmp_path):
    (tmp_path / "t.rng").write_text(RNG.replace("28.92", "28,92"))
    t = read_rng(tmp_path / "t.rng")
    assert t.ion_names == ("Ni", "Al", "AlH", "H")
    assert t.ranges[0] == Range(28.92, 29.08, "Ni", {"Ni": 1}, color="00FF00")
    assert t.ranges[3].composition == {"Al": 1, "H": 1}
    assert t.ranges[1].color == "33FFFF"
    rng_reader = pytest.importorskip("ifes_apt_tc_data_modeling.rng.rng_reader")
    (tmp_path / "u.rng").write_text(RNG.split("-------------------\npoly")[0])
    other = rng_reader.ReadRngFileFormat(str(tmp_path / "u.rng"))
    theirs = [tuple(ion.ranges.magnitude[0]) for ion in other.rng["molecular_ions"]]
    ours = [(r.lo, r.hi) for r in read_rng(tmp_path / "u.rng").ranges]
    assert theirs == ours


def test_rng_custom_column_and_errors(tmp_path):
    (tmp_path / "c.rng").write_text("2 2\nAl\n1 0 0\nAlH\n0 1 0\n---- Al AlH\n. 26.9 27.1 1 0\n. 27.9 28.1 0 1\n")
    t = read_rng(tmp_path / "c.rng")
    assert t.ion_names == ("Al", "AlH") and t.ranges[1].composition == {"Al": 1, "H": 1}
    (tmp_path / "d.rng").write_text("2 2\nAl\n---- Al\n. 26.9 27.1 1\n")
    with pytest.raises(FormatError, match="1 column labels for 2 species"):
        read_rng(tmp_path / "d.rng")
    (tmp_path / "e.rng").write_text("1 3\nAl\n---- Al\n. 26.9 27.1 1\n")
    with pytest.raises(FormatError, match="declares 3 ranges but lists 1"):
        read_rng(tmp_path / "e.rng")
