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


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_all_outputs_or_none(tmp_path):
    from synthapt.io.atomic import atomic_outputs

    targets = [tmp_path / "a.h5", tmp_path / "b.pos"]
    with pytest.raises(RuntimeError):
        with atomic_outputs(targets) as temps:
            assert [t.suffix for t in temps] == [".h5", ".pos"]
            temps[0].write_bytes(b"first")
            raise RuntimeError("the second writer failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_outputs(targets) as temps:
        for tmp, data in zip(temps, (b"1", b"2")):
            tmp.write_bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.pos"]


def test_outputs_checked_together(tmp_path):
    from synthapt.io.atomic import check_outputs

    (tmp_path / "in.h5").write_bytes(b"x")
    with pytest.raises(SynthaptError, match=r"out.pos: given for both --pos and --epos"):
        check_outputs({"--pos": tmp_path / "out.pos", "--epos": tmp_path / "out.pos"})
    with pytest.raises(SynthaptError, match=r"in.h5: is also an input"):
        check_outputs({"-o": tmp_path / "." / "in.h5"}, inputs=[tmp_path / "in.h5"])
    with pytest.raises(SynthaptError, match=r"output folder .*nope does not exist"):
        check_outputs({"-o": tmp_path / "a.h5", "--pos": tmp_path / "nope" / "a.pos"})
    assert [p.name for p in tmp_path.iterdir()] == ["in.h5"]


def test_leftovers_of_dead_processes_only_are_removed(tmp_path):
    from synthapt.tempfiles import HOST, remove_stale

    dead = _dead_pid()
    leftovers = {
        f".out.bin.part~{HOST}~{dead}~abc": True,            # ours, owner dead: removed
        f".out.bin.part~{HOST}~{os.getpid()}~abc": False,    # owner alive
        f".out.bin.part~otherhost~{dead}~abc": False,        # another host's (shared folder)
        f".other.bin.part~{HOST}~{dead}~abc": False,         # another target
        "out.bin.part": False,                               # not our pattern
    }
    for name in leftovers:
        (tmp_path / name).write_text("x")
    with atomic_output(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name for name, gone in leftovers.items() if not gone] + ["out.bin"])
    work = tmp_path / f"synthapt-md-{HOST}~{dead}~xyz"
    work.mkdir()
    (work / "log.lammps").write_text("x")
    assert remove_stale(tmp_path, "synthapt-md-") == [work] and not work.exists()
