"""Write outputs under a temporary name and move them into place, so an interrupted stage never leaves a
half-written file that DVC would cache as if it were whole.

The temporary folder, ``.<name>.<pid>.<random>.tmp`` beside the output (ignored by git), is removed when the
write ends, even by an error or Ctrl-C. A process killed outright (``kill -9``, the machine going down) leaves
it behind; the next write of the same output removes every such folder whose process is gone.
"""

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error remove it.

    Works for files and directories alike: the caller creates whatever it likes at the yielded path,
    which has the same file name (and so the same extension) inside a hidden temporary folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale(path: str | Path) -> list[Path]:
    """Remove the temporary folders left beside ``path`` by writers that were killed; those of a process
    still running (another write of the same output under way) stay. Returns what was removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        writer = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if not (writer.isdigit() and running(int(writer))):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def running(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def write_text(path: str | Path, text: str) -> None:
    """``text`` into ``path``, whole or not at all (`replacing`)."""
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data: Any) -> None:
    """``data`` as indented JSON into ``path``, whole or not at all."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
