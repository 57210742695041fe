"""The fit: the prepared data as a training reads it (`open_data`), the compiled model (`compile_model`), its
batches (`epoch_batches`) and the fit itself (`fit`), which resumes an interrupted training
(`colorizer.training.checkpoints`) and, with ``restore_best``, keeps the epoch with the lowest validation loss
(`KeepBest`)."""

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from colorizer import DOWNSAMPLING
from colorizer import params as P
from colorizer.color import AB_SCALE
from colorizer.data.shards import LabSplit
from colorizer.network.ab_bins import Tensor, distribution_loss, mean_colour_error, rebalancing_weights
from colorizer.network.builder import build
from colorizer.network.readout import annealed_mean, training_model
from colorizer.training import finetune
from colorizer.training.batches import CropBatches, EpochCounter, EvenBatches
from colorizer.training.checkpoints import CHECKPOINT_FILES, CHECKPOINTS, Checkpoint, restore
from colorizer.training.cluster import SOLO, Group, chief_files, local_copy, local_only
from colorizer.training.crops import CropTraining
from colorizer.training.devices import device_names, distribution, dtype_policy, replica_devices, strategy
from colorizer.training.history import COLOUR_ERROR, MONITOR, kept_row, read_history
from colorizer.training.settings import OPTIMIZERS


def open_data(prepared: Path | str) -> tuple[LabSplit, LabSplit]:
    """The train and val splits; a size the networks cannot take is an error before any training."""
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    height, width = training_size(val)
    if height % DOWNSAMPLING or width % DOWNSAMPLING:
        raise P.ParamError(
            f"prepare.train_size: validation images are {height}x{width}; the networks need multiples of {DOWNSAMPLING}"
        )
    if train.image_shape[0] < height or train.image_shape[1] < width:
        raise P.ParamError(
            f"prepare: training photographs are stored at {train.image_shape[:2]}, smaller "
            f"than the training size {height}x{width}; rerun prepare"
        )
    return train, val


def training_size(val: LabSplit) -> tuple[int, int]:
    """The size the network is trained at: prepare.train_size, the size of the validation images."""
    return tuple(val.image_shape[:2])


def smallest_crop(train: LabSplit, val: LabSplit) -> float:
    """The smallest crop side, as a fraction of a stored training photograph's: the one that still has the
    training size's pixels (prepare stores the photographs at prepare.train_size / prepare.crop_scale)."""
    return max(t / s for t, s in zip(training_size(val), train.image_shape[:2]))


def training_setup(train: LabSplit, val: LabSplit, group: Group = SOLO) -> dict:
    """What the training runs on, for the MLflow run beside its params: the photographs of each split, the
    Keras backend, the devices and, with several, the processes."""
    return {
        "train_images": len(train),
        "val_images": len(val),
        "backend": keras.backend.backend(),
        "devices": ", ".join(device_names()),
        **({"processes": group.count} if group.count > 1 else {}),
    }


def compile_model(
    cfg: dict, train: LabSplit, size: tuple[int, int], steps_per_epoch: int | None = None
) -> tuple[keras.Model, keras.Model]:
    """The model to save and the compiled model to fit on crops of ``size`` (`CropTraining`) around the
    network: the saved model itself for a regression head, with train.loss; for a distribution head, its
    layers up to the logits, with the cross-entropy over the ab bins as the loss (weighted by the rarity of
    ``train``'s colours only when train.rebalance > 0), plus train.colour_loss times the plain-mean colour's
    squared error. ``steps_per_epoch``, the batches of an epoch (`epoch_batches`), sets the length of a cosine
    schedule (`learning_rate`)."""
    chosen = strategy(cfg["distribute"])
    with chosen.scope() if chosen else contextlib.nullcontext():  # build and compile under the strategy
        with dtype_policy(cfg["mixed_precision"]):
            model = build(
                cfg["arch"], cfg["width"], cfg["head"], cfg["global_context"], cfg["members"], with_hints=cfg["hints"]
            )
        trainee = CropTraining(training_model(model), size)
        if cfg["head"] == "regression":
            loss, colour_error = cfg["loss"], regression_colour_error
        else:
            loss = distribution_loss(rebalancing_weights(train, cfg["rebalance"]), cfg["colour_loss"])
            colour_error = mean_colour_error
            # The read-out's rarity table (export.rebalance): log inverse colour frequencies of this data.
            annealed_mean(model).log_weights.assign(np.log(rebalancing_weights(train, 0.999)))
        optimizer = OPTIMIZERS[cfg["optimizer"]](learning_rate=learning_rate(cfg, steps_per_epoch))
        if model.dtype_policy.name == "mixed_float16":  # what compile does for a model built under the policy
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        trainee.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=[keras.metrics.MeanMetricWrapper(colour_error, name=COLOUR_ERROR)],
            jit_compile=cfg["jit_compile"],
        )  # auto: XLA on a GPU, not on a CPU
    return model, trainee


def regression_colour_error(ab_scaled: Tensor, predicted: Tensor) -> Tensor:
    """Mean squared error of a and b in Lab units (the targets are ab / 128)."""
    return keras.ops.mean((AB_SCALE * (predicted - ab_scaled)) ** 2, axis=(1, 2, 3))


def learning_rate(cfg: dict, steps_per_epoch: int | None) -> float | keras.optimizers.schedules.LearningRateSchedule:
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

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
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


def fit(
    cfg: dict,
    train: LabSplit,
    val: LabSplit,
    checkpoints: Path | str = CHECKPOINTS,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    group: Group = SOLO,
    parent: keras.Model | None = None,
) -> tuple[keras.Model, list[dict]]:
    """Train (resuming from ``checkpoints`` when it holds a matching interrupted run); returns the model
    and the per-epoch history rows. The checkpoint folder is left for the caller to remove. With ``parent``
    (a network of the same layers, `colorizer.training.finetune.start_network`), the training starts from its
    learnt weights.

    In a training of several processes (``group``, `colorizer.training.cluster`) only the chief reads and writes
    ``checkpoints`` and runs ``extra_callbacks``; it gives the others its weights and position before the
    first step, and they return an empty history.

    An epoch interrupted after some of its batches is finished first, from the next batch, by a fit of that
    one epoch; the remaining epochs follow in a second fit. Batches depend only on the seed, the epoch and
    their index (`colorizer.training.batches.CropBatches`), so the resumed training sees what an uninterrupted
    one would.
    """
    with distribution(cfg["distribute"]):
        return fit_under_distribution(cfg, train, val, Path(checkpoints), extra_callbacks, group, parent)


def fit_under_distribution(
    cfg: dict,
    train: LabSplit,
    val: LabSplit,
    checkpoints: Path,
    extra_callbacks: Sequence[keras.callbacks.Callback],
    group: Group,
    parent: keras.Model | None = None,
) -> tuple[keras.Model, list[dict]]:
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
        trainee.fit(
            batches,
            validation_data=val_batches,
            initial_epoch=first,
            epochs=last,
            callbacks=callbacks,
            shuffle=False,  # the batches are in the seed's order already
            verbose=verbose,
        )
    if not group.chief:
        return model, []
    if group.count > 1:  # from here on the chief works alone
        model = local_copy(model)
        if keep_best:
            keep_best.network = model
    history = read_history(checkpoints / "history.csv")
    if keep_best:
        keep_best.restore()  # the stage's summary line names the epoch kept
    return model, history


def epoch_batches(
    cfg: dict, train: LabSplit, val: LabSplit, epoch: int = 0, skip: int = 0, group: Group = SOLO
) -> tuple[CropBatches, CropBatches]:
    """The training batches from epoch ``epoch`` on (the first ``skip`` batches of it left out) and the
    validation batches; under a distribution, batches that split evenly between its devices, of which this
    process (``group``) reads its own slice."""
    crops = {
        "crops_per_image": cfg["crops_per_image"],
        "min_scale": smallest_crop(train, val),
        "flip": cfg["flip"],
        "seed": cfg["seed"],
        "epoch": epoch,
        "skip": skip,
    }
    hints = hint_draw(cfg, training_size(val))
    # With a hint branch (the distribution head) validation scores both uses of the model, its loss the networks'
    # and the branch's and its colour error the networks' alone; a regression head's one network, given hints,
    # would score only its hinted colours, so its validation has none.
    val_hints = hints if cfg["head"] == "distribution" else None
    if cfg["distribute"] == "none":
        return (
            CropBatches(train, cfg["batch_size"], shuffle=True, hints=hints, **crops),
            CropBatches(val, cfg["batch_size"], shuffle=False, hints=val_hints),
        )
    replicas = len(replica_devices(cfg["distribute"]))
    part = (group.index, group.count)
    try:
        return (
            EvenBatches(train, cfg["batch_size"], replicas, shuffle=True, part=part, hints=hints, **crops),
            EvenBatches(val, cfg["batch_size"], replicas, shuffle=False, part=part, hints=val_hints),
        )
    except ValueError as error:
        raise P.ParamError(str(error)) from None


def hint_draw(cfg: dict, size: tuple[int, int]) -> dict | None:
    """How the training simulates hints on crops of ``size``
    (`colorizer.training.simulated_hints.draw_training_points`), or None for a network without a hint input."""
    if not cfg["hints"]:
        return None
    return {"size": tuple(size), "stop": cfg["hint_stop"], "sides": cfg["hint_sides"], "spread": cfg["hint_spread"]}
