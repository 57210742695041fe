"""What the benchmarks ran on, for the line under each table: CPU, cores, GPU, load, library versions.

Other people's jobs on a shared machine change every figure, so each benchmark prints the load average
before and after it ran, and runs each measurement several times and reports the median.
"""

import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

# The `stages` and `colorizer` packages these benchmarks measure: the checkout that holds this file, unless
# PYTHONPATH names another one (`PYTHONPATH=/tmp/before python benchmarks/x.py` measures an older commit's worktree).
REPO = Path(__file__).resolve().parents[1]
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(REPO))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def gpu() -> str:
    if not shutil.which("nvidia-smi"):
        return "none"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "none"
    return ", ".join(out.splitlines()) or "none"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min: {five:.1f})"


def describe() -> str:
    """One line: CPU model, cores, GPU, Python and NumPy versions, and the load average now."""
    import numpy

    return (
        f"{cpu_model()}, {cores()} CPU cores, GPU: {gpu()}; Python {platform.python_version()}, "
        f"NumPy {numpy.__version__}; load average {load()}"
    )


def median(values) -> float:
    return statistics.median(values)


def spread(values, fmt="{:.1f}") -> str:
    """The median with the range of the runs, e.g. ``212 (205-219)``."""
    values = list(values)
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"
