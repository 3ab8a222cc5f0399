from dataclasses import dataclass
from typing import Literal

import pytest

from synthapt.config import config_hash, from_dict, read_toml, to_dict
from synthapt.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    sigma: float = 0.3
    mode: Literal["a", "b"] = "a"


@dataclass(frozen=True)
class Outer:
    seed: int = 1
    inner: Inner = Inner()
    sizes: tuple[float, ...] = (1.0, 2.0)


def test_round_trip_and_hash_order_independent():
    cfg = from_dict(Outer, {"seed": 3, "inner": {"sigma": 1, "mode": "b"}, "sizes": [4, 5]})
    assert cfg == Outer(3, Inner(1.0, "b"), (4.0, 5.0))
    assert from_dict(Outer, to_dict(cfg)) == cfg
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash(cfg) != config_hash(Outer())


@pytest.mark.parametrize("data, message", [
    ({"sede": 1}, "unknown key 'sede'"),
    ({"inner": {"sigm": 1}}, "unknown key 'inner.sigm'"),
    ({"inner": {"sigma": "x"}}, "inner.sigma: expected a number"),
    ({"inner": {"sigma": float("nan")}}, "inner.sigma: must be finite"),
    ({"inner": {"mode": "c"}}, "inner.mode: 'c' is not one of"),
    ({"seed": 1.5}, "seed: expected an integer"),
    ({"sizes": [1, "x"]}, "sizes[1]: expected a number"),
])
def test_bad_values_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_dict(Outer, data)


@pytest.mark.parametrize("content, message", [
    (b'seed = 3\nname = "\xff\xfe"\n',
     r"c\.toml: not valid TOML \(not UTF-8 text: byte 0xff at offset 17\); save it as UTF-8"),
    (b"seed = = 3\n", r"c\.toml: not valid TOML \(Invalid value"),
])
def test_unreadable_toml_is_one_config_error(tmp_path, content, message):
    (tmp_path / "c.toml").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_toml(tmp_path / "c.toml")
