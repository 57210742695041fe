"""Checkpoints of an unfinished training, so that an interrupted one (Ctrl-C, a killed process, a machine
taken back) resumes where it was: at the end of every epoch and, for long epochs, every ``every`` batches.

Keras's own `keras.callbacks.BackupAndRestore` saves mid-epoch too, but resumes at the start of the epoch
(Keras 3.15 keeps the batch in its metadata and does not use it) and records the wrong epoch for a save made
in the first epoch after a resume. Here the weights (the optimizer's state and step count included, so a
learning-rate schedule stays on course) and the position, epoch and batches done, are saved together, and
`stages.train.fit` finishes an interrupted epoch from the next batch (`colorizer.training.batches.CropBatches`' ``skip``).
"""

import json
import os
from pathlib import Path

import keras

from colorizer.training.cluster import local_only

WEIGHTS = "training.weights.h5"  # Keras 3 reads its own format only by this ending
POSITION = "position.json"  # {"epoch": the epoch under way, "batches": how many of its batches are done}
CHECKPOINT_FILES = (WEIGHTS, POSITION)


class Checkpoint(keras.callbacks.Callback):
    """Saves the fitted model and where the training is, in ``folder``: after each epoch, and every ``every``
    batches (0: only after epochs). ``skip`` is the number of batches of the first epoch already done."""

    def __init__(self, folder, every: int = 0, skip: int = 0):
        super().__init__()
        self.folder, self.every, self.skip = Path(folder), int(every), int(skip)
        self.epoch, self.per_epoch = 0, None

    def on_train_begin(self, logs=None):
        self.per_epoch = self.params.get("steps") if self.params else None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        done = self.skip + batch + 1  # batches of this epoch done, those before a resume included
        last = self.per_epoch is not None and batch + 1 >= self.per_epoch  # the epoch's end saves it
        if self.every and done % self.every == 0 and not last:
            self.save(self.epoch, done)

    def on_epoch_end(self, epoch, logs=None):
        self.skip = 0
        self.save(epoch + 1, 0)

    def save(self, epoch: int, batches: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"saving.{WEIGHTS}"
        with local_only():  # the chief of several processes saves alone
            self.model.save_weights(tmp)
        os.replace(tmp, self.folder / WEIGHTS)
        position = self.folder / f"saving.{POSITION}"
        position.write_text(json.dumps({"epoch": epoch, "batches": batches}))
        os.replace(position, self.folder / POSITION)


def restore(model: keras.Model, folder) -> tuple[int, int]:
    """Load the checkpoint in ``folder`` into ``model`` (compiled); returns (epoch, batches done in it), or
    (0, 0) when there is none."""
    folder = Path(folder)
    if not (folder / WEIGHTS).exists() or not (folder / POSITION).exists():
        return 0, 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(folder / WEIGHTS)
    position = json.loads((folder / POSITION).read_text())
    return int(position["epoch"]), int(position["batches"])
