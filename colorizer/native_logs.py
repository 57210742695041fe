"""TensorFlow's native (C++) log lines kept off the terminal: the stages and ``colorize`` print what a user acts on.

On a CPU machine TensorFlow writes 6 to 8 lines to stderr that are not meant for its users (oneDNN is on, no
CUDA driver, "failed call to cuInit" as an error, CPU instructions it was not built for). Most obey
``TF_CPP_MIN_LOG_LEVEL``, set here to 3 unless the user set it; the ones written while TensorFlow's libraries
load, before its logging is set up, obey nothing. `install` catches those: the first ``import tensorflow``
(made by ``import keras`` on the TensorFlow backend) runs with the process's stderr (file descriptor 2, which
C++ writes to) sent to a temporary file, and every line of it that is not such a log line is written back
afterwards, in order (a Python warning, an import error's message). ``TF_CPP_MIN_LOG_LEVEL=0`` shows all.
`install` runs when the ``colorizer`` package is first imported (``stages`` imports it first of all),
before any module imports Keras.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
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


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Run the body with file descriptor 2 in a temporary file; then write back what is not a native log."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught:
                if not NATIVE_LOG.match(line):
                    os.write(2, line)


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Imports ``tensorflow`` under `filtered_stderr` the first time anything asks for it, then steps aside."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        with filtered_stderr():
            module = importlib.import_module(name)
            # The device probe ("failed call to cuInit" without a GPU) logs before absl is set up, so no level
            # silences it; made here, in the window, it is not left to a later moment outside it.
            with contextlib.suppress(Exception):
                module.config.list_physical_devices()
        return importlib.util.spec_from_loader(name, _Imported(module))


class _Imported(importlib.abc.Loader):
    """Hands the import system a module that is already imported."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass
