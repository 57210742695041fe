"""colorizer.native_logs: TensorFlow's native log lines kept off stderr for the life of the process, the rest
passed on as it comes."""

import subprocess
import sys

from conftest import venv_env

CHILD = r"""
import os, sys, time
import colorizer, keras  # the first import of TensorFlow: stderr goes through the filter from here on
sys.stderr.write("\rbar 10%"); sys.stderr.flush()
time.sleep(0.5)
assert os.read(int(sys.argv[1]), 100) == b"ready"
os.write(2, b"E0000 00:00:1796686397.742410   30985 util.cc:131] oneDNN supports DT_INT32 only on platforms\n")
os.write(2, b"F0000 00:00:1796686397.742410   30985 x.cc:1] a fatal line passes\n")
raise SystemExit("the last words")
"""


def test_native_lines_written_long_after_import_are_dropped_and_the_rest_passes_at_once(tmp_path):
    import os

    read, write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(read)],
        env=venv_env(),
        stderr=subprocess.PIPE,
        pass_fds=(read,),
    )
    os.close(read)
    first = child.stderr.read(8)  # a progress bar's redraw, which never ends its line, arrives before it ends
    os.write(write, b"ready")
    rest = child.stderr.read().decode()
    child.wait(timeout=60)
    os.close(write)
    assert first == b"\rbar 10%"
    assert child.returncode == 1
    assert "oneDNN" not in rest and "I0000" not in rest and "cuInit" not in rest, rest
    assert "a fatal line passes" in rest and rest.rstrip().endswith("the last words"), rest
