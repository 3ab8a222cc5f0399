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


def test_output_folder_check_creates_nothing(tmp_path):
    from synthapt.io.atomic import check_output_folder

    assert check_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []  # the probe folder is gone, nothing was created
    (tmp_path / "file").write_text("x")
    with pytest.raises(SynthaptError, match="--out .*file: exists and is not a folder"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(SynthaptError, match=r"--out .*file/sub: cannot be created \(.*file is not a folder\)"):
        check_output_folder(tmp_path / "file" / "sub")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs procfs")
def test_campaign_out_in_proc_is_one_error_line_before_work(tmp_path):
    from cli_run import assert_clean_error, synthapt

    line = assert_clean_error(synthapt("campaign", "run", "quick", "--out", "/proc/camp", "-q",
                                       cwd=tmp_path))
    assert line == "error: --out /proc/camp: cannot be created (/proc: No such file or directory)"
    assert list(tmp_path.iterdir()) == []
