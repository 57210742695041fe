"""Where training runs: the devices the Keras backend sees, the tf.distribute strategy or Keras distribution
of ``train.distribute``, and the dtype policy of ``train.mixed_precision``. One probe (`visible_devices`) answers
every question about the hardware."""

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import keras

if TYPE_CHECKING:
    import tensorflow as tf


def visible_devices() -> list[tuple[str, str]]:
    """(kind, name) of every device the Keras backend sees: kind ``GPU`` or ``CPU`` (TensorFlow: its logical
    devices; JAX: ``jax.devices()``)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [(d.device_type, d.name) for d in tf.config.list_logical_devices()]
    if backend == "jax":
        import jax

        return [("GPU" if d.platform in ("gpu", "cuda", "rocm") else d.platform.upper(), str(d)) for d in jax.devices()]
    return [("CPU", backend)]


def device_names() -> list[str]:
    return [name for _, name in visible_devices()]


def gpu_present() -> bool:
    return any(kind == "GPU" for kind, _ in visible_devices())


def mirrored_devices() -> list[str]:
    """Every visible GPU, or every logical CPU when there is no GPU: what ``distribute: mirrored`` uses."""
    found = visible_devices()
    kind = "GPU" if any(k == "GPU" for k, _ in found) else "CPU"
    return [name for k, name in found if k == kind]


def replica_devices(distribute: str) -> list[str]:
    """The devices ``distribute`` keeps a replica on: `mirrored_devices` for ``mirrored``; for
    ``data_parallel``, every device of every process of the training (`colorizer.training.cluster`)."""
    if distribute == "data_parallel":
        return keras.distribution.list_devices()
    return mirrored_devices()


@contextlib.contextmanager
def distribution(distribute: str) -> Iterator[None]:
    """The Keras distribution a training runs under (build, compile and fit): for ``data_parallel``,
    `colorizer.training.cluster.data_parallel`; otherwise none."""
    if distribute != "data_parallel":
        yield
        return
    from colorizer.training.cluster import data_parallel

    found = replica_devices(distribute)
    print(f"train: data parallel across {len(found)} devices: {', '.join(found)}")
    with data_parallel().scope():
        yield


def strategy(distribute: str) -> "tf.distribute.MirroredStrategy | None":
    """The tf.distribute strategy of ``train.distribute``, or None when it is not ``mirrored`` (one device,
    or ``data_parallel``, which is a Keras distribution: `distribution`).

    ``mirrored``: a replica of the model on each of `mirrored_devices`; each batch of ``batch_size`` is
    split between them and their gradients are summed, so it trains like one device on the whole batch.
    """
    if distribute != "mirrored":
        return None
    import tensorflow as tf

    found = mirrored_devices()
    print(f"train: mirrored across {len(found)} devices: {', '.join(found)}")
    return tf.distribute.MirroredStrategy(found)


@contextlib.contextmanager
def dtype_policy(mixed: bool | str) -> Iterator[None]:
    """Layers built inside compute in float16 with float32 weights when ``mixed`` (``auto``: when there is a
    GPU; on a CPU float16 is slower, not faster); the output layers stay float32
    (`colorizer.network.builder.OUTPUT_DTYPE`). Compiling such a model wraps its optimizer in Keras's loss scaling."""
    before = keras.config.dtype_policy()
    if mixed is True or (mixed == "auto" and gpu_present()):
        keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
