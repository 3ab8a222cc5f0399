import os
import stat

import pytest

from synthapt.errors import SynthaptError
from synthapt.io.atomic import atomic_output


def test_success_renames_with_normal_permissions(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"abc")
    assert target.read_bytes() == b"abc"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert list(tmp_path.iterdir()) == [target]


def test_failure_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SynthaptError, match="does not exist"):
        with atomic_output(tmp_path / "nope" / "out.bin"):
            pass
