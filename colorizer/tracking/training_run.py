"""What train logs into its MLflow run: the params, the data and the model it started from when the run begins
(`log_start`), each epoch's figures as it ends (`EpochMetrics`) and the figures of the network kept at the end
(`log_final`)."""

import contextlib
import json
from pathlib import Path
from typing import Protocol

import keras
import mlflow

from colorizer.data.shards import SETTINGS
from colorizer.tracking import runs, store


class Parent(Protocol):
    """What the run records of the network a training starts from (`colorizer.training.finetune.Parent`): its
    tags, and its MLflow logged model's id when it has one."""

    tags: dict[str, str]
    model_id: str | None


class EpochMetrics(keras.callbacks.Callback):
    """Each epoch's figures into the active MLflow run, at step = the epoch counted from 1. (Keras's
    ``mlflow.keras.MlflowCallback`` would also log every validation pass once more as ``validation_*`` at
    step 0, and the optimizer's 18 settings as params; train.optimizer and learning_rate are logged already.)"""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs:
            mlflow.log_metrics({k: float(v) for k, v in logs.items()}, step=epoch + 1, synchronous=False)


def data_params(prepared: Path | str) -> dict:
    """The parameters the shards were prepared with, as ``prepare.<key>``, for the MLflow run."""
    path = Path(prepared) / SETTINGS
    if not path.exists():
        return {}
    return {f"prepare.{k}": v for k, v in json.loads(path.read_text()).items()}


def log_start(params: dict, prepared: Path | str, parent: Parent | None = None) -> None:
    """A new training run's beginning, into the active run: ``params`` (train's, and what the training runs on)
    with the ones the shards were prepared with (`data_params`), the prepared data as its training dataset and
    the model it started from (`log_parent`)."""
    mlflow.log_params({**params, **data_params(prepared)})
    runs.log_dataset(prepared, context="training")
    if parent:
        log_parent(parent)


def log_parent(parent: Parent) -> None:
    """The model the training started from, into the active run: tags (``init_from``, and the file's digest or
    the registered model version, run and logged model it resolved to) and, for an MLflow logged model, the
    run's model input (MLflow 3's lineage: the parent's page lists this run)."""
    mlflow.set_tags(parent.tags)
    if parent.model_id:
        from mlflow.entities import LoggedModelInput

        # The client's call: mlflow.log_inputs takes models on Databricks only; the stores here take them too.
        with contextlib.suppress(Exception):  # lineage is a convenience: the tags say it already
            mlflow.MlflowClient().log_inputs(
                mlflow.active_run().info.run_id, models=[LoggedModelInput(parent.model_id)]
            )


def log_to_mlflow(report: dict, seconds: float) -> None:
    """The report into the active run (export logs the model, render the colourisations of test photographs).

    The per-epoch series (loss, val_loss, val_ab_mse) are there already, from `EpochMetrics`; the kept epoch's
    figures go under their own names (``kept_val_loss``), not as one more point of a series.
    """
    mlflow.log_metrics(
        {("" if k in ("kept_epoch", "epochs") else "kept_") + k: v for k, v in report.items()}
        | {"train_seconds": seconds}
    )


def log_final(report: dict, seconds: float) -> None:
    """`log_to_mlflow`, once the outputs are written: a tracking server that went away is a warning, not an
    error (checked first, so that it fails at once, not after minutes of retries)."""
    try:
        store.check_reachable()
        log_to_mlflow(report, seconds)
    except Exception as error:  # the outputs are safe; say what did not reach MLflow
        store.tracking_failed("train", "could not log the final metrics to MLflow", error)
