"""EmulationParams: presets, overrides, TOML loading and validation errors."""

import numpy as np
import pytest

from synthapt.apt import EmulationParams, get_instrument
from synthapt.apt.isotopes import ELEMENTS, isotopes
from synthapt.apt.params import EfficiencyParams, ResolutionParams, SpectrumParams
from synthapt.config import from_dict, to_dict
from synthapt.errors import ConfigError

# standard atomic weights (IUPAC 2021, abridged) for a check of the isotope table
STANDARD_WEIGHTS = {"H": 1.008, "Al": 26.9815, "Si": 28.085, "Ti": 47.867, "Cr": 51.9961,
                    "Fe": 55.845, "Co": 58.9332, "Ni": 58.6934, "Cu": 63.546, "Mo": 95.95,
                    "W": 183.84, "Ta": 180.948, "Re": 186.207, "Nb": 92.9064, "Zr": 91.224}


@pytest.mark.parametrize("name,efficiency", [("leap4000xhr", 0.37), ("leap5000xr", 0.52),
                                             ("leap5000xs", 0.80), ("eikos", 0.50)])
def test_instrument_presets(name, efficiency):
    params = EmulationParams(instrument=name).resolved()
    assert params.efficiency.value == efficiency
    assert get_instrument(name.upper()).efficiency == efficiency


def test_overrides_beat_presets_and_none_takes_preset():
    params = EmulationParams(instrument="eikos", efficiency=EfficiencyParams(value=0.9),
                             resolution=ResolutionParams(depth_sigma=0.05)).resolved()
    assert params.efficiency.value == 0.9
    assert params.resolution.depth_sigma == 0.05
    assert params.resolution.lateral_sigma == get_instrument("eikos").lateral_sigma


def test_toml_round_trip():
    data = {"instrument": "leap5000xr", "efficiency": {"value": 0.6},
            "spectrum": {"charge_states": {"Al": [0.5, 0.5]}, "tail_fraction": 0.0},
            "background": {"fraction": 0.01}, "shape": {"kind": "box"}}
    params = from_dict(EmulationParams, data)
    assert params.spectrum.charge_fractions("Al") == (0.5, 0.5)
    assert params.spectrum.charge_fractions("Ni") == (0.02, 0.98)
    again = from_dict(EmulationParams, to_dict(params.resolved()))
    assert again.resolved() == params.resolved()


@pytest.mark.parametrize("data,needle", [
    ({"efficiency": {"value": 0.0}}, "efficiency.value"),
    ({"efficiency": {"value": 1.2}}, "efficiency.value"),
    ({"resolution": {"lateral_sigma": -0.1}}, "resolution.lateral_sigma"),
    ({"resolution": {"depth_sigma": -1.0}}, "resolution.depth_sigma"),
    ({"instrument": "leap9000"}, "unknown instrument"),
    ({"spectrum": {"charge_states": {"Xx": [1.0]}}}, "Xx"),
    ({"spectrum": {"charge_states": {"Al": [0.5, 0.3]}}}, "sum to 0.8"),
    ({"spectrum": {"charge_states": {"Al": [1.2, -0.2]}}}, "non-negative"),
    ({"background": {"fraction": 1.0}}, "background.fraction"),
    ({"shape": {"apex_radius": -5.0}}, "shape.apex_radius"),
    ({"evaporation": {"detection_rate": 0.0}}, "detection_rate"),
    ({"evaporation": {"correlated_fraction": 1.0}}, "correlated_fraction"),
    ({"detector": {"radius": 0.0}}, "detector.radius"),
    ({"shape": {"radius": 5.0}}, "unknown key"),
])
def test_invalid_parameters_raise_config_error(data, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        from_dict(EmulationParams, data)
    assert "\n" not in str(info.value)


def test_isotope_table_matches_standard_atomic_weights():
    for element in ELEMENTS:
        iso = isotopes(element)
        assert abs(iso.abundances.sum() - 1.0) < 1e-12
        assert np.all(np.diff(iso.mass_numbers) > 0)
        assert np.all(np.abs(iso.masses - iso.mass_numbers) < 0.1)
    for element, weight in STANDARD_WEIGHTS.items():
        # Mo: the representative composition gives 95.96, the 2013 weight is 95.95(1)
        tolerance = 0.011 if element == "Mo" else 2e-3
        assert isotopes(element).mean_mass == pytest.approx(weight, abs=tolerance), element


def test_default_charge_states_sum_to_one():
    for element in ELEMENTS:
        assert sum(SpectrumParams().charge_fractions(element)) == pytest.approx(1.0)


@pytest.mark.parametrize("text, message", [
    ("[shape]\nfoo = 1\n", "p.toml: unknown key 'shape.foo' (known: apex_radius, enabled, kind, shank_angle)"),
    ("foo = 1\n", "p.toml: unknown key 'foo' (known: background, "),
    ('[shape]\napex_radius = "x"\n', "p.toml: shape.apex_radius: expected a number, got 'x'"),
])
def test_parameter_file_errors_name_the_file_and_the_key_as_written(tmp_path, text, message):
    from synthapt.io.apt_files import load_params

    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_params(tmp_path / "p.toml")
    assert str(info.value).startswith(f"{tmp_path}/{message}")
