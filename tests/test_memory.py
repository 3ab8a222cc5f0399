"""The memory budget: SYNTHAPT_MEMORY_BUDGET parsing, the default, the refusal message."""

import pytest

from synthapt.errors import ConfigError, SynthaptError
from synthapt.memory import available_memory, check_memory, format_bytes, memory_budget, parse_size


@pytest.mark.parametrize("text, size", [("1000", 1000), ("8G", 8 << 30), ("512M", 512 << 20),
                                        ("2GiB", 2 << 30), ("1.5k", 1536), (" 3 T ", 3 << 40)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "abc", "-1G", "0", "8X", "1e9"])
def test_parse_size_refuses(text):
    with pytest.raises(ConfigError, match="SYNTHAPT_MEMORY_BUDGET"):
        parse_size(text)


def test_budget_from_environment_or_half_the_memory(monkeypatch):
    monkeypatch.delenv("SYNTHAPT_MEMORY_BUDGET", raising=False)
    assert 0 < memory_budget() == available_memory() // 2
    monkeypatch.setenv("SYNTHAPT_MEMORY_BUDGET", "64M")
    assert memory_budget() == 64 << 20
    check_memory(64 << 20, "exactly the budget")
    with pytest.raises(SynthaptError) as info:
        check_memory(3 << 30, "x.h5: /ions/positions")
    assert str(info.value) == ("x.h5: /ions/positions needs 3.0 GiB, more than the memory budget of "
                               "64.0 MiB (set SYNTHAPT_MEMORY_BUDGET to change it)")


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1024, 3 << 30, 12 << 40)] == [
        "0 B", "1023 B", "1.0 KiB", "3.0 GiB", "12.0 TiB"]
