import numpy as np
import pytest

from synthapt.errors import SynthaptError
from synthapt.spatial.profiles import profile_from_distance


def test_counts_and_concentration_exact():
    d = np.array([-0.35, -0.25, -0.05, 0.05, 0.15, 0.19, 0.39])
    s = np.array([0, 0, 1, 1, 1, 0, -1])  # the -1 (unranged) is not counted
    p = profile_from_distance(d, s, ("Ni", "Al"), bin_width=0.2)
    np.testing.assert_allclose(p.edges, [-0.4, -0.2, 0.0, 0.2])
    np.testing.assert_array_equal(p.counts, [[2, 0], [0, 1], [1, 2]])
    np.testing.assert_allclose(p.concentration[2], [100 / 3, 200 / 3])
    np.testing.assert_allclose(p.error[2], 100 * np.sqrt((1 / 3) * (2 / 3) / 3) * np.ones(2))
    assert p.counts.sum() == 6


def test_no_clipping_of_far_ions():
    d = np.array([-50.0, 0.1, 80.0])
    p = profile_from_distance(d, np.zeros(3, int), ("Ni",), bin_width=1.0)
    assert p.counts.sum() == 3 and p.edges[0] <= -50 and p.edges[-1] > 80


def test_empty_input_is_an_error():
    with pytest.raises(SynthaptError, match="no ions"):
        profile_from_distance(np.array([np.nan]), np.array([0]), ("Ni",))
