"""Checkpoints of an unfinished training, so that an interrupted one (Ctrl-C, a killed process, a machine
taken back) resumes where it was: at the end of every epoch and, for long epochs, every ``every`` batches.

Keras's own `keras.callbacks.BackupAndRestore` saves mid-epoch too, but resumes at the start of the epoch
(Keras 3.15 keeps the batch in its metadata and does not use it) and records the wrong epoch for a save made
in the first epoch after a resume. Here the weights (the optimizer's state and step count included, so a
learning-rate schedule stays on course) and the position, epoch and batches done, are saved together, and
`colorizer.training.fit.fit` finishes an interrupted epoch from the next batch
(`colorizer.training.batches.CropBatches`' ``skip``). A checkpoint folder is resumed only by the training it
belongs to, the same parameters on the same prepared data (`fingerprint`, `prepare_checkpoints`).
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import keras

from colorizer.data.shards import MANIFEST, SETTINGS
from colorizer.training.cluster import local_only

CHECKPOINTS = Path("checkpoints/train")  # train's checkpoint folder, in the working folder
RUN_ID = "mlflow_run_id"  # in a checkpoint folder: the MLflow run the training logs into

WEIGHTS = "training.weights.h5"  # Keras 3 reads its own format only by this ending
POSITION = "position.json"  # {"epoch": the epoch under way, "batches": how many of its batches are done}
CHECKPOINT_FILES = (WEIGHTS, POSITION)


class Checkpoint(keras.callbacks.Callback):
    """Saves the fitted model and where the training is, in ``folder``: after each epoch, and every ``every``
    batches (0: only after epochs). ``skip`` is the number of batches of the first epoch already done."""

    def __init__(self, folder: Path | str, every: int = 0, skip: int = 0):
        super().__init__()
        self.folder, self.every, self.skip = Path(folder), int(every), int(skip)
        self.epoch, self.per_epoch = 0, None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.per_epoch = self.params.get("steps") if self.params else None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        done = self.skip + batch + 1  # batches of this epoch done, those before a resume included
        last = self.per_epoch is not None and batch + 1 >= self.per_epoch  # the epoch's end saves it
        if self.every and done % self.every == 0 and not last:
            self.save(self.epoch, done)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
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


def restore(model: keras.Model, folder: Path | str) -> tuple[int, int]:
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


def fingerprint(cfg: dict, prepared: Path | str) -> str:
    """What a checkpoint must match to be resumed: the parameters and the prepared data (which photographs, in
    which rows, and the settings they were prepared with: the same photographs at another size are other data)."""
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    for name in (MANIFEST, SETTINGS):
        digest.update((Path(prepared) / name).read_bytes())
    return digest.hexdigest()


def prepare_checkpoints(cfg: dict, checkpoints: Path, prepared: Path | str) -> str | None:
    """Keep a checkpoint folder only if it belongs to this exact training; returns its MLflow run id."""
    stamp = fingerprint(cfg, prepared)
    stamp_file = checkpoints / "fingerprint"
    if checkpoints.exists() and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        shutil.rmtree(checkpoints)
    if stamp_file.exists():
        print(f"train: resuming the interrupted training in {checkpoints}")
    checkpoints.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    run_file = checkpoints / RUN_ID
    return run_file.read_text().strip() if run_file.exists() else None


def keep_run_id(checkpoints: Path, run_id: str) -> None:
    """The training's MLflow run, kept with its checkpoints: a resumed training logs into the same run."""
    (checkpoints / RUN_ID).write_text(run_id)
