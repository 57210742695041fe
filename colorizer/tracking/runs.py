"""MLflow: the one run per training, which train starts and export, evaluate and render reopen to log into.

Train records its run id in the run file dvc.yaml names (``models/mlflow-run.json``, `write_run_file`), which
export, evaluate and render read (`reopen_training_run`, `log_to_training_run`). The run is named after the DVC
experiment, or for a plain ``dvc repro`` after the commit, and described by what params.yaml changes from the
commit. Where the store is and how a stage reaches it: `colorizer.tracking.store`.
"""

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import mlflow

from colorizer.tracking.store import connect, runs_url, tracking_failed, tracking_uri

if TYPE_CHECKING:
    from mlflow.data.dataset import Dataset
    from mlflow.data.meta_dataset import MetaDataset


def git_commit() -> str | None:
    """The commit checked out (None outside a git repository or without git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return out.stdout.strip() or None


def run_tags(stage: str) -> dict[str, str]:
    """The tags of a new run: ``pipeline.stage``, the stage that started it (train, or evaluate or render when
    the training's run is missing from the store), the git commit and the DVC experiment."""
    tags = {"pipeline.stage": stage}
    if commit := git_commit():
        tags["mlflow.source.git.commit"] = commit
    if name := os.environ.get("DVC_EXP_NAME"):
        tags["dvc.experiment"] = name
    return tags


class ClosingRun:
    """An MLflow run for ``with``, whose end never raises.

    A stage writes its outputs inside the block; if the tracking server went away meanwhile, closing the
    run fails, and that must not make a finished stage fail: it becomes a warning.
    """

    def __init__(self, run: mlflow.ActiveRun, stage: str) -> None:
        self.run, self.stage = run, stage

    def __enter__(self) -> mlflow.ActiveRun:
        return self.run

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        if kind is None:
            status = "FINISHED"
        else:
            status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        try:
            mlflow.end_run(status)
        except Exception as failure:
            tracking_failed(self.stage, f"could not close MLflow run {self.run.info.run_id}", failure)
        return False


def start_training_run(experiment_id: str, run_id: str | None = None) -> ClosingRun:
    """Start (or, when resuming an interrupted training, reopen) the run: named after the DVC experiment, or
    for a plain ``dvc repro`` after the commit, and described by what params.yaml changes from the commit."""
    if run_id:
        return ClosingRun(mlflow.start_run(run_id=run_id), "train")
    return ClosingRun(
        mlflow.start_run(
            experiment_id=experiment_id, run_name=run_name(), tags=run_tags("train"), description=run_description()
        ),
        "train",
    )


def run_name() -> str:
    """The DVC experiment's name, else ``repro-<commit>`` (``+params`` when params.yaml differs from it)."""
    if name := os.environ.get("DVC_EXP_NAME"):
        return name
    commit = git_commit()
    return f"repro-{commit[:7]}{'+params' if changed_params() else ''}" if commit else "repro"


def run_description() -> str:
    """How the run was started (DVC experiment or ``dvc repro``), at which commit, and what params.yaml changes."""
    how = f"DVC experiment {os.environ['DVC_EXP_NAME']}" if os.environ.get("DVC_EXP_NAME") else "`dvc repro`"
    commit = git_commit()
    changes = changed_params()
    return (
        f"Trained by {how}"
        + (f" at commit {commit[:12]}" if commit else "")
        + ". "
        + (
            "params.yaml changes from the commit: " + "; ".join(changes)
            if changes
            else "params.yaml as committed."
            if commit
            else ""
        )
    )


def changed_params(path: str | Path = "params.yaml") -> list[str]:
    """``section.key old -> new`` for each value of params.yaml that differs from the commit's."""
    import yaml

    try:
        committed = subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True, text=True, timeout=10)
        before, now = yaml.safe_load(committed.stdout) or {}, yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError, subprocess.SubprocessError):
        return []
    if committed.returncode:
        return []
    return [
        f"{section}.{key} {before.get(section, {}).get(key)!r} -> {value!r}"
        for section, values in now.items()
        if isinstance(values, dict)
        for key, value in values.items()
        if before.get(section, {}).get(key) != value
    ]


def prepared_dataset(path: str | Path, name: str | None = None, lock: str | Path = "dvc.lock") -> "MetaDataset":
    """The prepared data as an MLflow dataset named ``name`` (default: the path), its digest DVC's hash of it
    (from dvc.lock, which DVC updates as each stage finishes; none when the stage runs outside DVC)."""
    import warnings

    import yaml
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    digest = None
    with contextlib.suppress(OSError, yaml.YAMLError, AttributeError, KeyError, TypeError, StopIteration):
        stages = yaml.safe_load(Path(lock).read_text())["stages"]
        digest = next(
            out["md5"]
            for stage in stages.values()
            for out in stage.get("outs", ())
            if out["path"] == Path(path).as_posix()
        )
    with warnings.catch_warnings():  # a local path matches two registered sources, the same class for both
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(str(Path(path).resolve()))
    return MetaDataset(source, name=name or Path(path).as_posix(), digest=digest)


def log_dataset(path: str | Path, context: str, lock: str | Path = "dvc.lock") -> None:
    """The prepared data as the active run's dataset input (`prepared_dataset`)."""
    mlflow.log_input(prepared_dataset(path, lock=lock), context=context)


def logged_model_id(path: str | Path, stage: str) -> str | None:
    """The id of the model that export logged, from the file it wrote (``models/mlflow-model.json``), if the
    store has it: None (with a note) when export could not log it or the store is another one."""
    model_id = json.loads(Path(path).read_text()).get("model_id") if Path(path).exists() else None
    if not model_id:
        return None
    try:
        mlflow.get_logged_model(model_id)
        return model_id
    except mlflow.exceptions.MlflowException:
        print(
            f"{stage}: the logged model {model_id} is not in {tracking_uri()}; logging to the run only", file=sys.stderr
        )
        return None


def log_model_metrics(
    metrics: dict[str, float], model_id: str | None, dataset: "Dataset | None" = None, step: int | None = None
) -> None:
    """``metrics`` into the active run, and linked to the logged model ``model_id`` (when there is one) as
    measured on ``dataset``, so that each model keeps its own figures in the Models tab and the registry."""
    if model_id is None:
        mlflow.log_metrics(metrics, step=step)
    else:
        mlflow.log_metrics(metrics, step=step, model_id=model_id, dataset=dataset)


def write_run_file(run_id: str, path: str | Path) -> None:
    """Record the run id and the store's URI in ``path`` (the run file that export, evaluate and render read)."""
    from colorizer.atomic import write_json

    write_json(path, {"run_id": run_id, "tracking_uri": tracking_uri()})


def reopen_training_run(path: str | Path, stage: str) -> ClosingRun:
    """For export, evaluate and render: reopen the run that train recorded in ``path``, or start a new one if
    the store no longer has it (say, a model pulled from a DVC remote into a fresh clone)."""
    experiment_id = connect()
    run_id = json.loads(Path(path).read_text())["run_id"] if Path(path).exists() else None
    if run_id:
        try:
            mlflow.get_run(run_id)
            return ClosingRun(mlflow.start_run(run_id=run_id), stage)
        except mlflow.exceptions.MlflowException:
            print(f"{stage}: MLflow run {run_id} is not in {tracking_uri()}; logging to a new run", file=sys.stderr)
    return ClosingRun(mlflow.start_run(experiment_id=experiment_id, run_name=run_name(), tags=run_tags(stage)), stage)


def log_to_training_run(
    path: str | Path, stage: str, what: str, log: Callable[[mlflow.ActiveRun], object]
) -> str | None:
    """``log(run)`` inside the training's run (`reopen_training_run`), for a stage whose outputs are written
    already: if MLflow fails, a warning that ``what`` did not reach it, and the stage still succeeds. Returns
    the URL of the experiment's runs page (None after a failure)."""
    try:
        with reopen_training_run(path, stage) as run:
            log(run)
        return runs_url(run.info.experiment_id)
    except Exception as error:  # MLflow raises many types for a store it cannot reach
        tracking_failed(stage, f"{what} not logged to MLflow", error)
        return None
