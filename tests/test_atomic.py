"""Outputs appear whole or not at all, and a writer killed outright leaves nothing for ever."""

import os
import signal
import subprocess
import sys

import pytest

from colorizer.atomic import remove_stale, replacing, write_text
from conftest import REPO


def test_a_failed_write_leaves_the_old_output_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with replacing(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stopped")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_killed_writers_temporary_goes_at_the_next_write(tmp_path):
    """A prepare killed with SIGKILL cannot clean up; the next write of the same output does, while the
    temporary of a writer still running stays."""
    code = (
        "import sys, time; from colorizer.atomic import replacing\n"
        "with replacing(sys.argv[1]) as tmp:\n"
        "    tmp.mkdir(); (tmp / 'shard.npy').write_bytes(bytes(1000)); print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "prepared")], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        for _ in range(2)
    ]
    for writer in writers:
        assert writer.stdout.readline().strip() == "writing"
    killed, alive = writers
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    try:
        left = sorted(p.name for p in tmp_path.glob(".prepared.*.tmp"))
        assert len(left) == 2 and any(f".prepared.{killed.pid}." in name for name in left)
        removed = remove_stale(tmp_path / "prepared")
        assert [p.name for p in removed] == [n for n in left if f".{killed.pid}." in n]
        assert [p.name for p in tmp_path.glob(".prepared.*.tmp")] == [n for n in left if f".{alive.pid}." in n]
        (tmp_path / ".prepared.k3x9q2.tmp").mkdir()  # an older version's name, without the writer
        with replacing(tmp_path / "prepared") as tmp:
            tmp.mkdir()
        assert [p.name for p in tmp_path.glob(".prepared.*.tmp")] == [n for n in left if f".{alive.pid}." in n]
    finally:
        alive.kill()
        alive.wait()
    assert os.path.isdir(tmp_path / "prepared")
