import numpy as np
import pytest
from segment_phantoms import phantom, sphere_distance

from synthapt.data import MATRIX
from synthapt.errors import SynthaptError
from synthapt.segmentation.iso import iso_segment
from synthapt.spatial.profiles import signed_distance_to_mesh


@pytest.fixture(scope="module")
def sphere():
    return phantom(20.0, sphere_distance((10, 10, 10), 6.0), noise=0.3, seed=11)


def test_iso_at_the_mid_composition_recovers_the_sphere(sphere):
    result = iso_segment(sphere, "Al", 17.5)
    assert result.method == "iso" and result.edge_field is None
    assert np.mean(result.labels == sphere.truth.phase) >= 0.97
    radii = np.linalg.norm(result.mesh.vertices - 10.0, axis=1)
    assert np.median(radii) == pytest.approx(6.0, abs=0.3)
    d = signed_distance_to_mesh(np.array([[10.0, 10, 10], [1.0, 1, 1]]), result.mesh)
    assert d[0] > 5.0 and d[1] < -5.0  # positive inside
    # labels agree with the concentration at the ions: precipitate ions lie above the iso value
    assert result.params["iso_value"] == 17.5 and result.elements == ("Al",)


def test_iso_value_moves_the_interface(sphere):
    low, high = iso_segment(sphere, "Al", 12.0), iso_segment(sphere, "Al", 22.0)
    r_low = np.median(np.linalg.norm(low.mesh.vertices - 10.0, axis=1))
    r_high = np.median(np.linalg.norm(high.mesh.vertices - 10.0, axis=1))
    assert r_low > r_high + 0.5
    assert low.precipitate_fraction > high.precipitate_fraction


def test_level_never_crossed_gives_no_interface(sphere):
    result = iso_segment(sphere, "Al", 60.0)
    assert result.mesh is None and result.message.startswith("no interface found")
    assert (result.labels == MATRIX).all()


def test_errors(sphere):
    with pytest.raises(SynthaptError, match="iso_value"):
        iso_segment(sphere, "Al", 120.0)
    with pytest.raises(SynthaptError, match="Cu"):
        iso_segment(sphere, "Cu", 10.0)
    only_ni = phantom(8.0, None, c_matrix=0.0, seed=5)
    with pytest.raises(SynthaptError, match="element Al: no ions"):
        iso_segment(only_ni, "Al", 10.0)
