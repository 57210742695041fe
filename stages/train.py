"""Stage ``train``: fit the colorizer on the prepared shards, logging to MLflow.

Writes ``models/network.keras`` (which the export stage turns into ``models/colorizer.keras``),
``models/mlflow-run.json``, ``metrics/train.json`` and the per-epoch ``metrics/history.csv``. Each epoch shows
every training photograph ``crops_per_image`` times, each time a fresh random crop (`colorizer.training.batches`,
`colorizer.training.crops`). Progress is checkpointed after every epoch, and every ``checkpoint_every`` batches, under
``checkpoints/train`` (`colorizer.training.checkpoints`): an interrupted training (Ctrl-C, a killed process) resumes where
it was on the next run with the same parameters and data, in the same MLflow run. With ``restore_best`` the saved network is the epoch
with the lowest validation loss, not the last (`KeepBest`); ``val_ab_mse``, the validation colour error in
Lab units, is logged every epoch beside the losses.

With ``init_from`` the training starts from a trained network's weights (`colorizer.training.finetune`): a ``.keras``
file in the start folder dvc.yaml gives the stage (``models/start``, one of its deps) or an MLflow model URI,
at ``init_learning_rate`` instead of ``learning_rate``; the MLflow run records which model it started from.
"""

import contextlib
import csv
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from colorizer import DOWNSAMPLING
from colorizer.training import cluster
from colorizer.training import finetune
from colorizer import params as P
from colorizer.network.ab_bins import distribution_loss, mean_colour_error, rebalancing_weights
from colorizer.atomic import replacing, write_json, write_text
from colorizer.training.batches import CropBatches, EpochCounter, EvenBatches
from colorizer.training.checkpoints import CHECKPOINT_FILES, Checkpoint, restore
from stages import stage_paths
from colorizer.training.cluster import SOLO, Group, chief_files, local_copy, local_only
from colorizer.color import AB_SCALE
from colorizer.training.crops import CropTraining
from colorizer.training.devices import device_names, distribution, dtype_policy, replica_devices, strategy
from colorizer.network.model import ARCHS, HEADS, build, training_model
from colorizer.data.shards import MANIFEST, SETTINGS, LabSplit

SECTION = "train"
CHECKPOINTS = Path("checkpoints/train")
OPTIMIZERS = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}
LOSSES = ("mse", "mae", "huber")
SCHEDULES = ("constant", "cosine")
DISTRIBUTE = ("none", "mirrored", "data_parallel")
SEED_SETTINGS = {"head": "regression", "global_context": False, "colour_loss": 0.0, "rebalance": 0.0,  # arch seed
                 "members": 1, "hints": False}
COLOUR_ERROR = "ab_mse"  # the metric logged each epoch: MSE of a and b in Lab units


def check_params(p: dict) -> dict:
    """Validated train parameters; raises `ParamError` naming the first bad key, then any settings that do not
    go together (`check_head_settings`)."""
    return check_head_settings(P.only_known(p, SECTION, {
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
    }))


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
            raise P.ParamError("train.arch: seed is the article's network as is (regression head, no scene context), "
                               f"so it also needs {needed} (now {now})")
    for key in ("rebalance", "colour_loss"):
        if cfg[key] and cfg["head"] != "distribution":
            raise P.ParamError(f"train.{key}: {cfg[key]:g} applies to the distribution head only; set it to 0 with "
                               f"the regression head, whose loss is train.loss")
    if cfg["members"] > 1 and cfg["head"] != "distribution":
        raise P.ParamError(f"train.members: {cfg['members']} averages the distribution head's colour "
                           f"distributions; the regression head has none, so set it to 1 (or use head: distribution)")
    return cfg


def _as_in_yaml(value) -> str:
    """A checked value as params.yaml spells it: false, 0, 0.5, regression."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


BACKENDS = {"mirrored": ("tensorflow", "TensorFlow", "tf.distribute"),
            "data_parallel": ("jax", "JAX", "Keras's distribution API across processes")}


def check_backend(distribute: str) -> None:
    """A ParamError unless Keras runs on the backend that ``train.distribute: distribute`` needs."""
    backend, name, engine = BACKENDS[distribute]
    if keras.backend.backend() != backend:
        raise P.ParamError(f"train.distribute: {distribute} needs the {name} backend ({engine}), but "
                           f"KERAS_BACKEND is {keras.backend.backend()}; set KERAS_BACKEND={backend} or use "
                           f"distribute: none")


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
        raise P.ParamError(f"train.batch_size must be a multiple of the {count} devices that distribute: "
                           f"{value} splits each batch between; got {batch_size}")
    return value


def open_data(prepared) -> tuple[LabSplit, LabSplit]:
    """The train and val splits; a size the networks cannot take is an error before any training."""
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    height, width = training_size(val)
    if height % DOWNSAMPLING or width % DOWNSAMPLING:
        raise P.ParamError(f"prepare.train_size: validation images are {height}x{width}; the networks need "
                           f"multiples of {DOWNSAMPLING}")
    if train.image_shape[0] < height or train.image_shape[1] < width:
        raise P.ParamError(f"prepare: training photographs are stored at {train.image_shape[:2]}, smaller "
                           f"than the training size {height}x{width}; rerun prepare")
    return train, val


def training_size(val: LabSplit) -> tuple[int, int]:
    """The size the network is trained at: prepare.train_size, the size of the validation images."""
    return tuple(val.image_shape[:2])


def smallest_crop(train: LabSplit, val: LabSplit) -> float:
    """The smallest crop side, as a fraction of a stored training photograph's: the one that still has the
    training size's pixels (prepare stores the photographs at prepare.train_size / prepare.crop_scale)."""
    return max(t / s for t, s in zip(training_size(val), train.image_shape[:2]))


def data_params(prepared) -> dict:
    """The parameters the shards were prepared with, as ``prepare.<key>``, for the MLflow run."""
    path = Path(prepared) / SETTINGS
    if not path.exists():
        return {}
    return {f"prepare.{k}": v for k, v in json.loads(path.read_text()).items()}


def fingerprint(cfg: dict, prepared) -> str:
    """What a checkpoint must match to be resumed: the parameters and the prepared data (which photographs, in
    which rows, and the settings they were prepared with: the same photographs at another size are other data)."""
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    for name in (MANIFEST, SETTINGS):
        digest.update((Path(prepared) / name).read_bytes())
    return digest.hexdigest()


def compile_model(cfg: dict, train: LabSplit, size, steps_per_epoch: int | None = None
                  ) -> tuple[keras.Model, keras.Model]:
    """The model to save and the compiled model to fit on crops of ``size`` (`CropTraining`) around the
    network: the saved model itself for a regression head; for a distribution head, its layers up to the
    logits, with the rebalanced cross-entropy over ``train``'s colours as the loss. ``steps_per_epoch``, the
    batches of an epoch (`epoch_batches`), sets the length of a cosine schedule (`learning_rate`)."""
    chosen = strategy(cfg["distribute"])
    with chosen.scope() if chosen else contextlib.nullcontext():  # build and compile under the strategy
        with dtype_policy(cfg["mixed_precision"]):
            model = build(cfg["arch"], cfg["width"], cfg["head"], cfg["global_context"], cfg["members"],
                          with_hints=cfg["hints"])
        trainee = CropTraining(training_model(model), size)
        if cfg["head"] == "regression":
            loss, colour_error = cfg["loss"], regression_colour_error
        else:
            loss = distribution_loss(rebalancing_weights(train, cfg["rebalance"]), cfg["colour_loss"])
            colour_error = mean_colour_error
            # The read-out's rarity table (export.rebalance): log inverse colour frequencies of this data.
            model.get_layer("annealed_mean").log_weights.assign(np.log(rebalancing_weights(train, 0.999)))
        optimizer = OPTIMIZERS[cfg["optimizer"]](learning_rate=learning_rate(cfg, steps_per_epoch))
        if model.dtype_policy.name == "mixed_float16":  # what compile does for a model built under the policy
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        trainee.compile(optimizer=optimizer, loss=loss,
                        metrics=[keras.metrics.MeanMetricWrapper(colour_error, name=COLOUR_ERROR)],
                        jit_compile=cfg["jit_compile"])  # auto: XLA on a GPU, not on a CPU
    return model, trainee


def regression_colour_error(ab_scaled, predicted):
    """Mean squared error of a and b in Lab units (the targets are ab / 128)."""
    return keras.ops.mean((AB_SCALE * (predicted - ab_scaled)) ** 2, axis=(1, 2, 3))


def learning_rate(cfg: dict, steps_per_epoch: int | None):
    """``learning_rate`` (``init_learning_rate`` for a training that starts from a trained network,
    ``init_from``), constant or (``lr_schedule: cosine``) decaying along a half cosine to zero over the whole
    training: ``epochs`` times ``steps_per_epoch``, the batches of an epoch as the training reads them
    (`CropBatches.batches_per_epoch`: under a distribution, a remainder that does not split evenly is
    dropped). The schedule runs on the optimizer's step count, which the checkpoints keep
    (`colorizer.training.checkpoints`), so a resumed training stays on it."""
    rate = cfg["init_learning_rate"] if cfg.get("init_from") else cfg["learning_rate"]
    if cfg["lr_schedule"] == "constant" or steps_per_epoch is None:
        return rate
    steps = cfg["epochs"] * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps)


def zero_chroma_loss(split: LabSplit, loss: str) -> float:
    """The loss of always predicting grey (ab = 0): what training has to beat."""
    fn = keras.losses.get(loss)
    total = 0.0
    for start in range(0, len(split), 64):
        ab = split.take(np.arange(start, min(start + 64, len(split))))[..., 1:] / AB_SCALE
        total += float(keras.ops.sum(fn(ab, np.zeros_like(ab))) / np.prod(ab.shape[1:3]))
    return total / len(split)


def read_history(path) -> list[dict]:
    """The CSV history, one row per epoch (a row written twice around an interruption is kept once)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as handle:
        rows = {int(r["epoch"]): r for r in csv.DictReader(handle)}
    return [rows[e] for e in sorted(rows)]


def history_csv(rows: list[dict], kept: dict) -> str:
    """The published history: epochs counted from 1, as Keras prints them, kept_epoch and MLflow's steps
    count them (Keras's own CSV, the checkpoint's, counts from 0); ``kept`` is 1 on the row of the epoch
    kept (the network saved), which the plots mark (.dvc/plots/linear_kept.json)."""
    columns = ["loss", "val_loss", f"val_{COLOUR_ERROR}"]
    lines = [",".join(["epoch", *columns, "kept"])]
    lines += [",".join([str(int(r["epoch"]) + 1), *(f"{float(r[c]):.6g}" for c in columns),
                        str(int(r["epoch"] == kept["epoch"]))]) for r in rows]
    return "\n".join(lines) + "\n"


class EpochMetrics(keras.callbacks.Callback):
    """Each epoch's figures into the active MLflow run, at step = the epoch counted from 1. (Keras's
    ``mlflow.keras.MlflowCallback`` would also log every validation pass once more as ``validation_*`` at
    step 0, and the optimizer's 18 settings as params; train.optimizer and learning_rate are logged already.)"""

    def on_epoch_end(self, epoch, logs=None):
        import mlflow

        if logs:
            mlflow.log_metrics({k: float(v) for k, v in logs.items()}, step=epoch + 1, synchronous=False)


# What restore_best minimises. Not val_ab_mse: on a tiny validation set the greyest early epoch wins on that.
MONITOR = "val_loss"


def kept_row(rows: list[dict]) -> dict | None:
    """The history row that restore_best keeps: the first with the lowest `MONITOR` (None for no rows)."""
    return min(rows, key=lambda r: float(r[MONITOR]), default=None)


class KeepBest(keras.callbacks.Callback):
    """Saves ``model``'s weights after each epoch whose ``val_loss`` is the lowest so far; `restore` loads
    them back after training (what EarlyStopping's ``restore_best_weights`` does, but surviving a resume).

    The network overfits a few hundred photographs within a few epochs: its validation loss and colour error
    then rise while the training loss still falls. A resumed training starts from the best of the history
    it already has, so an interruption does not change which epoch is kept.
    """

    def __init__(self, model: keras.Model, folder: Path, history: Path):
        super().__init__()
        self.network, self.path = model, Path(folder) / "best.weights.h5"
        best = kept_row(read_history(history))
        self.best = float(best[MONITOR]) if best and self.path.exists() else np.inf
        self.best_epoch = int(best["epoch"]) if best and self.path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        value = float((logs or {}).get(MONITOR, np.inf))
        if value < self.best:
            tmp = self.path.with_name("saving.weights.h5")
            with local_only():  # the chief of several processes saves alone
                self.network.save_weights(tmp)
            tmp.replace(self.path)
            self.best, self.best_epoch = value, epoch

    def restore(self) -> int | None:
        """Load the best epoch's weights into the model; returns that epoch (None if none was saved)."""
        if self.best_epoch is not None:
            self.network.load_weights(self.path)
        return self.best_epoch


def fit(cfg: dict, train: LabSplit, val: LabSplit, checkpoints=CHECKPOINTS, extra_callbacks=(), group=SOLO,
        parent: keras.Model | None = None):
    """Train (resuming from ``checkpoints`` when it holds a matching interrupted run); returns the model
    and the per-epoch history rows. The checkpoint folder is left for the caller to remove. With ``parent``
    (a network of the same layers, `start_network`), the training starts from its learnt weights.

    In a training of several processes (``group``, `colorizer.training.cluster`) only the chief reads and writes
    ``checkpoints`` and runs ``extra_callbacks``; it gives the others its weights and position before the
    first step, and they return an empty history.

    An epoch interrupted after some of its batches is finished first, from the next batch, by a fit of that
    one epoch; the remaining epochs follow in a second fit. Batches depend only on the seed, the epoch and
    their index (`colorizer.training.batches.CropBatches`), so the resumed training sees what an uninterrupted one would.
    """
    with distribution(cfg["distribute"]):
        return fit_under_distribution(cfg, train, val, Path(checkpoints), extra_callbacks, group, parent)


def fit_under_distribution(cfg, train, val, checkpoints: Path, extra_callbacks, group: Group, parent=None):
    """`fit`, inside its Keras distribution (`colorizer.training.devices.distribution`)."""
    if group.chief:
        checkpoints.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg["seed"])
    steps_per_epoch = epoch_batches(cfg, train, val, group=group)[0].batches_per_epoch
    model, trainee = compile_model(cfg, train, training_size(val), steps_per_epoch)
    if parent is not None:  # a checkpoint of this fine-tuning, if there is one, then replaces these weights
        finetune.check_architecture(cfg, parent, model, cfg.get("init_from") or "the parent network")
        finetune.copy_weights(parent, model)
    with chief_files(checkpoints / "state", CHECKPOINT_FILES, group) as state:  # the chief's, on every process
        epoch, done = restore(trainee, state)
    chief_keeps_best = cfg["restore_best"] and group.chief
    keep_best = KeepBest(model, checkpoints, checkpoints / "history.csv") if chief_keeps_best else None
    fits = []  # (first epoch, batches of it already done, the epoch to stop before)
    if done:
        print(f"train: resuming epoch {epoch + 1} after its batch {done}")
        fits.append((epoch, done, epoch + 1))
        epoch += 1
    fits.append((epoch, 0, cfg["epochs"]))
    for first, skip, last in fits:
        if first >= last:
            continue
        batches, val_batches = epoch_batches(cfg, train, val, first, skip, group)
        callbacks = [EpochCounter(batches)]
        if group.chief:
            callbacks += [
                *([keep_best] if keep_best else []),
                keras.callbacks.CSVLogger(str(checkpoints / "history.csv"), append=True),
                *extra_callbacks,
                Checkpoint(checkpoints / "state", cfg["checkpoint_every"], skip),  # last: after the logs
            ]
        # A bar on a terminal, a line an epoch in a log; the chief's only.
        verbose = 0 if not group.chief else 1 if sys.stdout.isatty() else 2
        trainee.fit(batches, validation_data=val_batches, initial_epoch=first, epochs=last, callbacks=callbacks,
                    shuffle=False,  # the batches are in the seed's order already
                    verbose=verbose)
    if not group.chief:
        return model, []
    if group.count > 1:  # from here on the chief works alone
        model = local_copy(model)
        if keep_best:
            keep_best.network = model
    history = read_history(checkpoints / "history.csv")
    if keep_best:
        keep_best.restore()  # main's summary line names the epoch kept
    return model, history


def epoch_batches(cfg: dict, train: LabSplit, val: LabSplit, epoch: int = 0, skip: int = 0,
                  group: Group = SOLO):
    """The training batches from epoch ``epoch`` on (the first ``skip`` batches of it left out) and the
    validation batches; under a distribution, batches that split evenly between its devices, of which this
    process (``group``) reads its own slice."""
    crops = {"crops_per_image": cfg["crops_per_image"], "min_scale": smallest_crop(train, val),
             "flip": cfg["flip"], "seed": cfg["seed"], "epoch": epoch, "skip": skip}
    hints = hint_draw(cfg, training_size(val))
    # With a hint branch (the distribution head) validation scores both uses of the model, its loss the networks'
    # and the branch's and its colour error the networks' alone; a regression head's one network, given hints,
    # would score only its hinted colours, so its validation has none.
    val_hints = hints if cfg["head"] == "distribution" else None
    if cfg["distribute"] == "none":
        return (CropBatches(train, cfg["batch_size"], shuffle=True, hints=hints, **crops),
                CropBatches(val, cfg["batch_size"], shuffle=False, hints=val_hints))
    replicas = len(replica_devices(cfg["distribute"]))
    part = (group.index, group.count)
    try:
        return (EvenBatches(train, cfg["batch_size"], replicas, shuffle=True, part=part, hints=hints, **crops),
                EvenBatches(val, cfg["batch_size"], replicas, shuffle=False, part=part, hints=val_hints))
    except ValueError as error:
        raise P.ParamError(str(error)) from None


def hint_draw(cfg: dict, size) -> dict | None:
    """How the training simulates hints on crops of ``size`` (`colorizer.hints.draw_training_points`), or None
    for a network without a hint input."""
    if not cfg["hints"]:
        return None
    return {"size": tuple(size), "stop": cfg["hint_stop"], "sides": cfg["hint_sides"], "spread": cfg["hint_spread"]}


def prepare_checkpoints(cfg: dict, checkpoints, prepared) -> str | None:
    """Keep a checkpoint folder only if it belongs to this exact training; returns its MLflow run id."""
    stamp = fingerprint(cfg, prepared)
    stamp_file = checkpoints / "fingerprint"
    if checkpoints.exists() and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        shutil.rmtree(checkpoints)
    if stamp_file.exists():
        print(f"train: resuming the interrupted training in {checkpoints}")
    checkpoints.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    run_file = checkpoints / "mlflow_run_id"
    return run_file.read_text().strip() if run_file.exists() else None


def log_to_mlflow(report, seconds: float) -> None:
    """The report into the active run (export logs the model, render the colourisations of test photographs).

    The per-epoch series (loss, val_loss, val_ab_mse) are there already, from `EpochMetrics`; the kept epoch's
    figures go under their own names (``kept_val_loss``), not as one more point of a series.
    """
    import mlflow

    mlflow.log_metrics({("" if k in ("kept_epoch", "epochs") else "kept_") + k: v for k, v in report.items()}
                       | {"train_seconds": seconds})


def join_group(params: dict) -> Group:
    """This process's place in a training of several processes (`colorizer.training.cluster`, set by the
    environment), once every process has joined; `SOLO` when it trains alone."""
    group = cluster.group_from_env()
    if group.count > 1:
        distribute = params.get("distribute")
        if distribute != "data_parallel":
            raise P.ParamError(f"{cluster.COUNT} is {group.count}, but train.distribute is {distribute!r}: "
                               f"several processes train one model with distribute: data_parallel")
        check_backend(distribute)
        print(f"train: {group}" + (f", the chief: waiting for the others at {group.coordinator}" if group.chief
                                   else f", joining the chief at {group.coordinator}"), flush=True)
        cluster.join(group)
    return group


def start_network(cfg: dict, source) -> finetune.Parent:
    """The trained network ``cfg["init_from"]`` names, loaded and checked against the network train's params
    build (`colorizer.training.finetune.check_architecture`), before any training work: ``source`` is the file
    (`colorizer.training.finetune.local_file`) or the MLflow model URI (the tracking store connected already)."""
    parent = finetune.from_file(source) if isinstance(source, Path) else finetune.from_mlflow(source)
    built = build(cfg["arch"], cfg["width"], cfg["head"], cfg["global_context"], cfg["members"],
                  with_hints=cfg["hints"])
    finetune.check_architecture(cfg, parent.network, built, cfg["init_from"])
    return parent


def locate_start(cfg: dict, folder, group: Group = SOLO) -> Path | str | None:
    """Where the training starts from: None (from scratch), the ``.keras`` file inside ``folder`` (the start
    folder dvc.yaml tracks) or the MLflow model URI. Only the chief reaches MLflow, so a training of several
    processes starts from a file, which every process reads."""
    spec = cfg["init_from"]
    if spec is None:
        return None
    if finetune.is_uri(spec):
        if group.count > 1:
            raise P.ParamError(f"train.init_from: {spec}: a training of several processes starts from a file "
                               f"every process can read; download the model's network into {Path(folder).as_posix()}/ "
                               f"first (docs/fine-tuning.md)")
        return spec
    return finetune.local_file(spec, folder)


def with_parent(cfg: dict, parent: "finetune.Parent | Path | None") -> dict:
    """``cfg`` with ``init_from`` naming the parent exactly, for the fingerprint a checkpoint must match: a file
    by its content, a URI by the model version it resolved to."""
    if parent is None:
        return cfg
    if isinstance(parent, Path):
        return {**cfg, "init_from": f"{cfg['init_from']} sha256:{finetune.sha256(parent)}"}
    return {**cfg, "init_from": " ".join(f"{k}={v}" for k, v in sorted(parent.tags.items()))}


def log_parent(parent: finetune.Parent) -> None:
    """The model the training started from, into the active run: tags (``init_from``, and the file's digest or
    the registered model version, run and logged model it resolved to) and, for an MLflow logged model, the
    run's model input (MLflow 3's lineage: the parent's page lists this run)."""
    import mlflow

    mlflow.set_tags(parent.tags)
    if parent.model_id:
        from mlflow.entities import LoggedModelInput

        # The client's call: mlflow.log_inputs takes models on Databricks only; the stores here take them too.
        with contextlib.suppress(Exception):  # lineage is a convenience: the tags say it already
            mlflow.MlflowClient().log_inputs(mlflow.active_run().info.run_id,
                                             models=[LoggedModelInput(parent.model_id)])


def main(argv=None) -> None:
    paths = stage_paths("train", argv, prepared="the prepared data (prepare's output)",
                        start="the folder of the trained networks a fine-tuning may start from (train.init_from)",
                        network="the trained network to write (export gives it its read-out)",
                        run_file="the file to write the MLflow run's id in", metrics="DVC's metrics to write",
                        history="the per-epoch history to write")
    try:
        group = join_group(P.load(SECTION))
    except ValueError as error:
        sys.exit(f"train: {error}")
    with cluster.stop_together(group):  # with several processes, one that stops stops them all at once
        train_as(group, paths)


def train_as(group: Group, paths) -> None:
    """The stage, in this process of ``group``: the chief (or a process training alone) writes the outputs
    and logs to MLflow; any other process takes its part in the training and writes nothing."""
    from colorizer.tracking import store as tracking  # MLflow: imported where logging happens (a GPU machine may have no MLflow)

    try:
        cfg = check_params(P.load(SECTION))
        start = locate_start(cfg, paths.start, group)
        train, val = open_data(paths.prepared)
        # Every process must train the same thing: the chief's parameters and data, checked before any step.
        stamp = with_parent(cfg, start if isinstance(start, Path) else None)
        cluster.agree(fingerprint(stamp, paths.prepared), group, "train's parameters or the prepared data")
        # A file's parent is checked before MLflow is reached: a wrong one writes nothing.
        parent = start_network(cfg, start) if isinstance(start, Path) else None
        if not group.chief:  # writes nothing and logs nowhere: the chief does
            fit(cfg, train, val, group=group, parent=parent.network if parent else None)
            print(f"train: {group} done; the chief wrote the network, the metrics and the MLflow run")
            return
        experiment_id = tracking.connect()
        if isinstance(start, str):
            parent = start_network(cfg, start)
            stamp = with_parent(cfg, parent)
    except (ValueError, FileNotFoundError, tracking.TrackingUnavailable) as error:
        sys.exit(f"train: {error}")

    import mlflow

    resume_run = prepare_checkpoints(stamp, CHECKPOINTS, paths.prepared)
    started = time.time()
    with tracking.start_training_run(experiment_id, resume_run) as run:
        (CHECKPOINTS / "mlflow_run_id").write_text(run.info.run_id)
        if not resume_run:
            mlflow.log_params({**cfg, **data_params(paths.prepared), "train_images": len(train), "val_images": len(val),
                               "backend": keras.backend.backend(), "devices": ", ".join(device_names()),
                               **({"processes": group.count} if group.count > 1 else {})})
            tracking.log_dataset(paths.prepared, context="training")
            if parent:
                log_parent(parent)
        if parent:
            print(f"train: starting from {cfg['init_from']}"
                  + (f" (version {parent.tags['init_from.model_version']})"
                     if "init_from.model_version" in parent.tags else "")
                  + f", learning rate {cfg['init_learning_rate']:g}")
        model, history = fit(cfg, train, val, extra_callbacks=[EpochMetrics()], group=group,
                             parent=parent.network if parent else None)
        kept = kept_row(history) if cfg["restore_best"] else history[-1]
        # DVC's metrics: the figures of the network kept, which `dvc exp show` compares between experiments.
        report = {
            "val_loss": float(kept["val_loss"]),
            f"val_{COLOUR_ERROR}": float(kept[f"val_{COLOUR_ERROR}"]),
            "kept_epoch": int(kept["epoch"]) + 1,
            "epochs": len(history),
        }
        if cfg["head"] == "regression":  # the loss of always predicting grey, to compare val_loss with
            report["zero_chroma_val_loss"] = zero_chroma_loss(val, cfg["loss"])
        seconds = round(time.time() - started, 1)  # changes every run: MLflow's, not DVC's
        # Outputs first: a tracking server that went away must not cost the trained model.
        with replacing(paths.network) as tmp:
            model.save(tmp)
        write_json(paths.metrics, report)
        write_text(paths.history, history_csv(history, kept))
        tracking.write_run_file(run.info.run_id, paths.run_file)
        try:
            tracking.check_reachable()  # fails at once, not after minutes of retries, if the server went away
            log_to_mlflow(report, seconds)
        except Exception as error:  # the outputs are safe; say what did not reach MLflow
            tracking.tracking_failed("train", "could not log the final metrics to MLflow", error)
    shutil.rmtree(CHECKPOINTS, ignore_errors=True)
    baseline = report.get("zero_chroma_val_loss")
    print(f"train: kept epoch {report['kept_epoch']} of {report['epochs']}, val_loss {report['val_loss']:.4f}"
          + (f" (zero chroma {baseline:.4f})" if baseline is not None else "")
          + f", val ab MSE {report[f'val_{COLOUR_ERROR}']:.1f}; {seconds:.0f} s; MLflow run {run.info.run_name}: "
          + tracking.runs_url(experiment_id))


if __name__ == "__main__":
    main()
