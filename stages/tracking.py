"""MLflow: where the store is, and the one run per training that train, evaluate and render share.

The default store is ``mlflow.db`` (SQLite) at the repository root, found from ``DVC_ROOT`` when DVC runs
the stage, with artifacts in ``mlartifacts/`` beside it. ``MLFLOW_TRACKING_URI`` points elsewhere, such
as a shared ``mlflow server``. Train records its run id in `RUN_FILE`, which evaluate and render read.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow

EXPERIMENT = "colorization"
RUN_FILE = Path("models/mlflow-run.json")


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server or store cannot be reached."""


def repo_root() -> Path:
    """``DVC_ROOT`` if set, else the nearest folder upwards holding ``.dvc``, else the working directory."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return here


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def connect(experiment: str = EXPERIMENT) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id.

    Raises `TrackingUnavailable` with the URI when the store cannot be reached, so a stage can stop
    before doing any work.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        found = mlflow.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        location = None
        if uri.startswith("sqlite:"):
            location = (repo_root() / "mlartifacts").as_uri()
        return mlflow.create_experiment(experiment, artifact_location=location)
    except Exception as error:  # MLflow raises many types for a store it cannot reach
        raise TrackingUnavailable(f"cannot reach the MLflow tracking store at {uri}: {error}") from error


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return out.stdout.strip() or None


def run_tags() -> dict:
    tags = {"pipeline.stage": "train"}
    if commit := git_commit():
        tags["mlflow.source.git.commit"] = commit
    if name := os.environ.get("DVC_EXP_NAME"):
        tags["dvc.experiment"] = name
    return tags


def start_training_run(experiment_id: str, run_id: str | None = None):
    """Start (or, when resuming an interrupted training, reopen) the run; named after the DVC experiment."""
    if run_id:
        return mlflow.start_run(run_id=run_id)
    return mlflow.start_run(experiment_id=experiment_id, run_name=os.environ.get("DVC_EXP_NAME"),
                            tags=run_tags())


def write_run_file(run_id: str, path=RUN_FILE) -> None:
    from stages.atomic import write_json
    write_json(path, {"run_id": run_id, "tracking_uri": tracking_uri()})


def reopen_training_run(path=RUN_FILE):
    """For evaluate and render: reopen the run that train recorded, or start a new one if the store no
    longer has it (say, a model pulled from a DVC remote into a fresh clone)."""
    experiment_id = connect()
    run_id = json.loads(Path(path).read_text())["run_id"] if Path(path).exists() else None
    if run_id:
        try:
            mlflow.get_run(run_id)
            return mlflow.start_run(run_id=run_id)
        except mlflow.exceptions.MlflowException:
            print(f"MLflow run {run_id} is not in {tracking_uri()}; logging to a new run", file=sys.stderr)
    return mlflow.start_run(experiment_id=experiment_id, run_name=os.environ.get("DVC_EXP_NAME"),
                            tags=run_tags())
