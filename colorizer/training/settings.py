"""The ``train`` section of params.yaml, checked: `check_params` (each key, then the settings that must go
together), the backend a distribution needs (`check_backend`), and this process's place in a training of
several processes (`join_group`)."""

import keras

from colorizer import params as P
from colorizer.network.builder import ARCHS, HEADS
from colorizer.training import cluster, finetune
from colorizer.training.cluster import Group
from colorizer.training.devices import replica_devices

SECTION = "train"
OPTIMIZERS = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}
LOSSES = ("mse", "mae", "huber")
SCHEDULES = ("constant", "cosine")
DISTRIBUTE = ("none", "mirrored", "data_parallel")
SEED_SETTINGS = {
    "head": "regression",
    "global_context": False,
    "colour_loss": 0.0,
    "rebalance": 0.0,  # arch seed
    "members": 1,
    "hints": False,
}
BACKENDS = {
    "mirrored": ("tensorflow", "TensorFlow", "tf.distribute"),
    "data_parallel": ("jax", "JAX", "Keras's distribution API across processes"),
}


def check_params(p: dict) -> dict:
    """Validated train parameters; raises `ParamError` naming the first bad key, then any settings that do not
    go together (`check_head_settings`)."""
    return check_head_settings(
        P.only_known(
            p,
            SECTION,
            {
                "arch": P.choice(p, SECTION, "arch", ARCHS),
                "width": P.integer(p, SECTION, "width", minimum=1),
                "members": P.integer(p, SECTION, "members", minimum=1),
                "epochs": P.integer(p, SECTION, "epochs", minimum=1),
                "crops_per_image": P.integer(p, SECTION, "crops_per_image", minimum=1),
                "batch_size": P.integer(p, SECTION, "batch_size", minimum=1),
                "optimizer": P.choice(p, SECTION, "optimizer", tuple(OPTIMIZERS)),
                "learning_rate": P.number(p, SECTION, "learning_rate", minimum=0.0, exclusive_minimum=True),
                "init_from": finetune.check_spec(p, SECTION, "init_from"),
                "init_learning_rate": P.number(p, SECTION, "init_learning_rate", minimum=0.0, exclusive_minimum=True),
                "lr_schedule": P.choice(p, SECTION, "lr_schedule", SCHEDULES),
                "head": P.choice(p, SECTION, "head", HEADS),
                "global_context": P.boolean(p, SECTION, "global_context"),
                "hints": P.boolean(p, SECTION, "hints"),
                "hint_stop": P.number(p, SECTION, "hint_stop", minimum=0.0, maximum=1.0, exclusive_minimum=True),
                "hint_sides": P.span(p, SECTION, "hint_sides", minimum=1),
                "hint_spread": P.number(p, SECTION, "hint_spread", minimum=0.0, exclusive_minimum=True),
                "rebalance": P.number(p, SECTION, "rebalance", minimum=0.0, maximum=1.0),
                "colour_loss": P.number(p, SECTION, "colour_loss", minimum=0.0),
                "loss": P.choice(p, SECTION, "loss", LOSSES),
                "flip": P.boolean(p, SECTION, "flip"),
                "restore_best": P.boolean(p, SECTION, "restore_best"),
                "checkpoint_every": P.integer(p, SECTION, "checkpoint_every", minimum=0),
                "seed": P.integer(p, SECTION, "seed", minimum=0),
                "distribute": check_distribute(p),
                "mixed_precision": P.auto_or_boolean(p, SECTION, "mixed_precision"),
                "jit_compile": P.auto_or_boolean(p, SECTION, "jit_compile"),
            },
        )
    )


def check_head_settings(cfg: dict) -> dict:
    """``cfg`` (checked values), once its arch, head and the head's loss weights go together. With arch seed,
    every unet-only setting is named at once, so one error lists all there is to change. The distribution
    head's loss weights (rebalance, colour_loss) would be ignored by the regression head, whose loss is
    train.loss, so anything but 0 there is an error too; so is an ensemble (members) of regression heads."""
    if cfg["arch"] == "seed":
        wrong = [key for key, value in SEED_SETTINGS.items() if cfg[key] != value]
        if wrong:
            needed = ", ".join(f"train.{key}: {_as_in_yaml(SEED_SETTINGS[key])}" for key in wrong)
            now = ", ".join(_as_in_yaml(cfg[key]) for key in wrong)
            raise P.ParamError(
                "train.arch: seed is the article's network as is (regression head, no scene context), "
                f"so it also needs {needed} (now {now})"
            )
    for key in ("rebalance", "colour_loss"):
        if cfg[key] and cfg["head"] != "distribution":
            raise P.ParamError(
                f"train.{key}: {cfg[key]:g} applies to the distribution head only; set it to 0 with "
                f"the regression head, whose loss is train.loss"
            )
    if cfg["members"] > 1 and cfg["head"] != "distribution":
        raise P.ParamError(
            f"train.members: {cfg['members']} averages the distribution head's colour "
            f"distributions; the regression head has none, so set it to 1 (or use head: distribution)"
        )
    return cfg


def _as_in_yaml(value: object) -> str:
    """A checked value as params.yaml spells it: false, 0, 0.5, regression."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_backend(distribute: str) -> None:
    """A ParamError unless Keras runs on the backend that ``train.distribute: distribute`` needs."""
    backend, name, engine = BACKENDS[distribute]
    if keras.backend.backend() != backend:
        raise P.ParamError(
            f"train.distribute: {distribute} needs the {name} backend ({engine}), but "
            f"KERAS_BACKEND is {keras.backend.backend()}; set KERAS_BACKEND={backend} or use "
            f"distribute: none"
        )


def check_distribute(p: dict) -> str:
    """``mirrored`` is tf.distribute, so it needs the TensorFlow backend; ``data_parallel`` is Keras's
    distribution API, which spans processes on the JAX backend only (`colorizer.training.cluster`). Each batch must
    split evenly between the devices (Keras 3 cannot build or validate on an uneven split under tf.distribute,
    keras-team/keras#19246; JAX shards evenly only)."""
    value = P.choice(p, SECTION, "distribute", DISTRIBUTE)
    if value == "none":
        return value
    check_backend(value)
    count = len(replica_devices(value))
    batch_size = P.integer(p, SECTION, "batch_size", minimum=1)
    if batch_size % count:
        raise P.ParamError(
            f"train.batch_size must be a multiple of the {count} devices that distribute: "
            f"{value} splits each batch between; got {batch_size}"
        )
    return value


def join_group(params: dict) -> Group:
    """This process's place in a training of several processes (`colorizer.training.cluster`, set by the
    environment), once every process has joined; `SOLO` when it trains alone. ``params``: the train section
    as params.yaml gives it, unchecked (`check_params` runs once every process has joined)."""
    group = cluster.group_from_env()
    if group.count > 1:
        distribute = params.get("distribute")
        if distribute != "data_parallel":
            raise P.ParamError(
                f"{cluster.COUNT} is {group.count}, but train.distribute is {distribute!r}: "
                f"several processes train one model with distribute: data_parallel"
            )
        check_backend(distribute)
        print(
            f"train: {group}"
            + (
                f", the chief: waiting for the others at {group.coordinator}"
                if group.chief
                else f", joining the chief at {group.coordinator}"
            ),
            flush=True,
        )
        cluster.join(group)
    return group
