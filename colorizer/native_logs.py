"""TensorFlow's native (C++) log lines kept off the terminal: the stages and ``colorize`` print what a user acts on.

On a CPU machine TensorFlow writes lines to stderr that are not meant for its users (oneDNN is on, no CUDA
driver, "failed call to cuInit" as an error, CPU instructions it was not built for, and at the first training
step on a CPU without AVX-512 "oneDNN supports DT_INT32 only on platforms with AVX-512"). Most obey
``TF_CPP_MIN_LOG_LEVEL``, set here to 3 unless the user set it; the ones written before TensorFlow's logging is
set up obey nothing, and absl is never set up in a Python process, so they come at any time. `install` catches
them: from the first ``import tensorflow`` (made by ``import keras`` on the TensorFlow backend) the process's
stderr (file descriptor 2, which C++ writes to) goes through a pipe, and a thread passes on, as it comes,
everything that is not such a log line (Python's warnings and tracebacks, a progress bar's redraws).
``TF_CPP_MIN_LOG_LEVEL=0`` shows all. `install` runs when the ``colorizer`` package is first imported
(``stages`` imports it first of all), before any module imports Keras. At exit the terminal is given back its
stderr and what is left in the pipe is passed on; a process that dies at once (a crash, ``os._exit``) may lose
its last stderr lines.
"""

import atexit
import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# absl / TSL log lines ("I0000 00:00:1795771716.555710    2187 port.cc:153] ..."), the older dated form
# ("2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] ..."), absl's notice that it was not set up
# yet, and the second line of the CPU-feature notice. Fatal lines (F) always pass.
NATIVE_LOG = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: .* rebuild TensorFlow)"
)


def install() -> None:
    """Quiet TensorFlow's logs from now on in this process: a no-op once TensorFlow is imported, and with
    ``TF_CPP_MIN_LOG_LEVEL=0``, the user asking for every log line. Another level the user set is kept."""
    if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3") == "0" or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietFirstImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFirstImport())


# How a native log line begins; the unfinished end of what was written is held until its line ends only when it
# begins so (or is too short to tell): anything else, such as a progress bar's redraw, which never ends its line,
# is passed on at once.
_NATIVE_START = re.compile(rb"^(?:[IWE]\d|\d{4}-|WARNING: All log|To enable the)")
_TOO_SHORT = 16


def _hold(partial: bytes) -> bool:
    """Whether ``partial`` (what was written since the last newline) could be the start of a native log line."""
    if len(partial) < _TOO_SHORT:
        return partial[:1] in (b"I", b"W", b"E", b"T") or partial[:1].isdigit()
    return bool(_NATIVE_START.match(partial))


class _Filter:
    """File descriptor 2 through a pipe, from now on; a thread writes what is not a native log line to the
    terminal's stderr (`install`)."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.terminal = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.thread = threading.Thread(target=self._pump, args=(read,), name="native-logs", daemon=True)
        self.thread.start()
        atexit.register(self.stop)

    def _pump(self, read: int) -> None:
        pending = b""
        while chunk := os.read(read, 65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            passed = [line + b"\n" for line in lines if not NATIVE_LOG.match(line)]
            if pending and not _hold(pending):
                passed.append(pending)
                pending = b""
            if passed:
                os.write(self.terminal, b"".join(passed))
        if pending and not NATIVE_LOG.match(pending):
            os.write(self.terminal, pending)
        os.close(read)

    def stop(self) -> None:
        """Give the terminal back its stderr, and pass on what is left in the pipe."""
        with contextlib.suppress(ValueError, OSError):
            sys.stderr.flush()
        os.dup2(self.terminal, 2)  # closes the pipe's last writer in this process
        self.thread.join(timeout=2)  # a child process that still writes to the pipe keeps it open


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Puts stderr through `_Filter` the first time anything asks for ``tensorflow``, then steps aside."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        _Filter()
        module = importlib.import_module(name)
        return importlib.util.spec_from_loader(name, _Imported(module))


class _Imported(importlib.abc.Loader):
    """Hands the import system a module that is already imported."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass
