"""Several processes training one model (``train.distribute: data_parallel``), one per machine.

The engine is Keras's distribution API on the JAX backend: `jax.distributed` joins the processes (its
coordination service runs in process 0, the chief; the gradients are summed over Gloo on CPUs, NCCL on GPUs),
and `keras.distribution.DataParallel` keeps a replica of the model on every device of every process. Each
process feeds only its own slice of every global batch (`colorizer.training.batches.CropBatches`' ``part``); Keras
assembles the global batch from the slices (`jax.make_array_from_process_local_data`). With one process it is
data parallel over the machine's own devices (every GPU of a JAX machine).

TensorFlow's `MultiWorkerMirroredStrategy` is not used: with Keras 3.15.1 and TensorFlow 2.21 (our pins),
`model.fit` under it fails before the first step (keras-team/keras#20585, #20329: ``Attempt to convert a
value (PerReplica...)``, in the trainer's `_maybe_symbolic_build`).

The process group is read from the environment variables `keras.distribution.initialize` reads:

- ``KERAS_DISTRIBUTION_JOB_ADDRESSES``: the chief's ``host:port`` (or every process's, comma-separated, the
  chief's first); every process must reach it;
- ``KERAS_DISTRIBUTION_NUM_PROCESSES``: how many processes;
- ``KERAS_DISTRIBUTION_PROCESS_ID``: this one's, 0 (the chief) .. count - 1.

None set: one process. The group is joined with our timeouts (Keras's `initialize` takes none): every
process must start within `START_TIMEOUT`, and a process that stops answering for `PEER_TIMEOUT` is taken
for dead, which stops every other one.
"""

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

ADDRESSES, COUNT, INDEX = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)
START_TIMEOUT = 300  # seconds for every process to join (machines of a cluster start at different times)
PEER_TIMEOUT = 30  # seconds of silence (missed heartbeats) before a process is taken for dead


class ClusterError(ValueError):
    """The process group is misconfigured: the message names the variable."""


@dataclass(frozen=True)
class Group:
    """This process's place in the training: ``index`` of ``count`` processes, the chief being 0."""

    index: int = 0
    count: int = 1
    coordinator: str | None = None

    @property
    def chief(self) -> bool:
        return self.index == 0

    def __str__(self) -> str:
        return f"process {self.index} of {self.count}"


SOLO = Group()


def group_from_env(environ: Mapping[str, str] | None = None) -> Group:
    """The process group of ``environ`` (default: this process's environment); `SOLO` when none is set."""
    environ = os.environ if environ is None else environ
    given = {name: environ.get(name, "").strip() for name in (ADDRESSES, COUNT, INDEX)}
    if not any(given.values()):
        return SOLO
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ClusterError(
            f"several processes need {', '.join(missing)} set as well as {', '.join(n for n, v in given.items() if v)}"
        )
    numbers = {}
    for name in (COUNT, INDEX):
        try:
            numbers[name] = int(given[name])
        except ValueError:
            raise ClusterError(f"{name} must be a whole number, got {given[name]!r}") from None
    count, index = numbers[COUNT], numbers[INDEX]
    if count < 1:
        raise ClusterError(f"{COUNT} must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ClusterError(f"{INDEX} must be 0 (the chief) .. {count - 1}, got {index}")
    addresses = [a.strip() for a in given[ADDRESSES].split(",")]
    if len(addresses) > 1 and len(addresses) != count:
        raise ClusterError(f"{ADDRESSES} lists {len(addresses)} addresses for {count} processes")
    host, _, port = addresses[0].rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"{ADDRESSES} must start with the chief's host:port, got {addresses[0]!r}")
    return Group(index, count, addresses[0])


def join(group: Group) -> None:
    """Join the process group (a no-op for one process, or once joined): returns when every process has."""
    if group.count == 1:
        return
    import jax

    if jax.distributed.is_initialized():
        return
    jax.distributed.initialize(
        coordinator_address=group.coordinator,
        num_processes=group.count,
        process_id=group.index,
        initialization_timeout=START_TIMEOUT,
        heartbeat_timeout_seconds=PEER_TIMEOUT,
        shutdown_timeout_seconds=START_TIMEOUT,
    )


def data_parallel() -> "keras.distribution.DataParallel":
    """Keras's DataParallel over every device of every process, with each process feeding its own batches
    (already its slice: no sharding of the input by Keras)."""
    import keras

    distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    distribution.auto_shard_dataset = False
    return distribution


@contextlib.contextmanager
def chief_files(folder: Path, names: Iterable[str], group: Group) -> Iterator[Path]:
    """A folder holding the chief's files ``names`` of ``folder`` (those it has), on every process: the
    chief's own folder; on the others a private temporary copy, removed on leaving. Only the chief keeps
    checkpoints; a resumed training loads them on every process, together: in JAX a variable of the
    distributed model is assigned by every process at once, with the same value."""
    if group.count == 1:
        yield Path(folder)
        return
    from jax.experimental import multihost_utils

    mine = [Path(folder) / name for name in names]
    sizes = np.array([p.stat().st_size if group.chief and p.exists() else -1 for p in mine], np.int32)
    sizes = multihost_utils.broadcast_one_to_all(sizes)
    with tempfile.TemporaryDirectory(prefix="colorizer-chief-") as private:
        for path, size in zip(mine, np.asarray(sizes).tolist()):
            if size < 0:
                continue
            data = np.frombuffer(path.read_bytes(), np.uint8) if group.chief else np.zeros(size, np.uint8)
            data = np.asarray(multihost_utils.broadcast_one_to_all(data), np.uint8)
            if not group.chief:
                (Path(private) / path.name).write_bytes(data.tobytes())
        yield Path(folder) if group.chief else Path(private)


@contextlib.contextmanager
def local_only() -> Iterator[None]:
    """Variables made inside (Keras's saving makes some) belong to this process alone, not to the
    distribution: in JAX, making or assigning a distributed variable is a step every process takes together,
    and the chief saves its checkpoints alone."""
    import keras

    before = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(before)


def local_copy(model: "keras.Model") -> "keras.Model":
    """``model`` with its weights in this process alone (outside any distribution), for the chief to change
    and save after the training, without the other processes."""
    import keras

    with local_only():
        copy = keras.models.clone_model(model)
        copy.set_weights([np.asarray(w) for w in model.get_weights()])
    return copy


@contextlib.contextmanager
def stop_together(group: Group) -> Iterator[None]:
    """Around a training of several processes: when it fails in this process (another process died, which
    breaks the step under way at once, or this one failed or was interrupted), say so in one line and end
    this process now (status 1, 130 for Ctrl-C), without waiting for the group's orderly shutdown, which
    would wait `PEER_TIMEOUT` more for the dead process. A process that hangs without dying is found by its
    missed heartbeats: JAX then ends every other one within `PEER_TIMEOUT`. A no-op for one process."""
    if group.count == 1:
        yield
        return
    try:
        yield
    except SystemExit as error:  # a stage's error message (sys.exit("train: ...")), or a plain exit
        if error.code in (None, 0):
            raise
        _end_now(
            error.code if isinstance(error.code, str) else f"train: {group} stops (status {error.code})",
            error.code if isinstance(error.code, int) else 1,
        )
    except (Exception, KeyboardInterrupt) as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        cause = "interrupted" if interrupted else (str(error).strip().splitlines() or [type(error).__name__])[0]
        if not interrupted and ("Gloo" in cause or "NCCL" in cause or "Connection" in cause):
            detail = re.sub(r"^(?:[A-Z_]+: )?(?:Error dispatching computation: )+", "", cause)
            cause = f"another process of the training stopped ({detail})"
        _end_now(
            f"train: {group} stops: {cause}. Every process of the training stops with it; start them all "
            f"again to resume from the chief's last checkpoint",
            130 if interrupted else 1,
        )


def _end_now(message: str, status: int) -> None:
    """Print ``message`` and end this process at once, with ``status`` (no interpreter shutdown)."""
    print(message, file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(status)


def agree(digest: str, group: Group, what: str) -> None:
    """Raise `ClusterError` on every process unless every process has the chief's ``digest`` (a hex digest
    of ``what``): processes training on other parameters or other data would train nothing sensible, or
    hang. A no-op for one process."""
    if group.count == 1:
        return
    from jax.experimental import multihost_utils

    mine = np.frombuffer(bytes.fromhex(digest), np.uint8)
    chiefs = np.asarray(multihost_utils.broadcast_one_to_all(mine), np.uint8)
    same = np.asarray(multihost_utils.process_allgather(np.array([np.array_equal(mine, chiefs)], np.int32)))
    others = [index for index, ok in enumerate(same.ravel().tolist()) if not ok]
    if others:
        raise ClusterError(
            f"{what} of process {', '.join(map(str, others))} differ from the chief's: every "
            f"machine needs the same commit and data (git pull, dvc pull)"
        )
