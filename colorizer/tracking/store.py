"""MLflow: where the tracking store is, and how a stage reaches it.

The default store is ``mlflow.db`` (SQLite) at the repository root, found from ``DVC_ROOT`` when DVC runs
the stage, with artifacts in ``mlartifacts/`` beside it. Queued DVC experiments run in temporary copies
under ``<root>/.dvc/tmp/exps/``; they still log to the store at ``<root>``, so that every experiment is a run
in one store. ``MLFLOW_TRACKING_URI`` points elsewhere, such as a shared ``mlflow server``. The one run per
training that train, export, evaluate and render share is `colorizer.tracking.runs`'s.

Several experiments may write to the SQLite store at once (``dvc queue start -j 2``): `connect` switches it
to write-ahead logging, so readers never block a writer and MLflow's busy timeout (20 s) covers writers, and
it creates the tables and the experiment under a file lock, so two first runs do not race to create them.
"""

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow

EXPERIMENT = "colorization"
# The experiment's description (MLflow shows the note on its page) and kind: a training experiment, so the
# UI opens on its runs, not on the pages for GenAI traces. `runs_url` adds the URL switch that MLflow 3.17
# needs as well (the tag alone did not change where the UI lands).
EXPERIMENT_TAGS = {
    "mlflow.note.content": "Colorization: one run per training of the DVC pipeline (`dvc repro`, `dvc exp run`). "
    "Parameters are train's (params.yaml), metrics per epoch are Keras's, `test_*` "
    "metrics are evaluate's on the held-out photographs, artifacts hold the model (also "
    "registered as `colorizer`) and the gallery of test photographs.",
    "mlflow.experimentKind": "custom_model_development",
}
# The runs table's columns: a view shared by URL (MLflow 3.15+ keeps it in an experiment tag), which
# `runs_url` opens; without it the table shows no metric at all.
RUNS_VIEW = "colorizer"
RUNS_VIEW_COLUMNS = [
    f"metrics.`{key}`"
    for key in ("test_psnr", "test_ssim", "test_ab_mse", "test_colorfulness", "kept_val_loss", "kept_epoch")
] + [f"params.`{key}`" for key in ("arch", "width", "members", "head", "epochs", "crops_per_image")]
EXPERIMENT_TAGS[f"mlflow.sharedViewState.{RUNS_VIEW}"] = json.dumps({"selectedColumns": RUNS_VIEW_COLUMNS})
UI_ADDRESS = "http://127.0.0.1:5000"  # where `mlflow ui` serves a local store


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server or store cannot be reached."""


# Where DVC makes the temporary copy a queued (or ``--temp``) experiment runs in: <root>/.dvc/tmp/exps/<tmp>.
EXPERIMENT_COPIES = (".dvc", "tmp", "exps")
# For the reachability check of a tracking server only: fail in seconds, not after MLflow's retries
# (7 retries with exponential backoff by default, minutes in all).
PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def original_repo(path: Path) -> Path:
    """The repository that a DVC experiment's temporary copy inside ``path`` was made from; else ``path``."""
    parts = path.parts
    for i in range(len(parts) - len(EXPERIMENT_COPIES) + 1):
        if parts[i : i + len(EXPERIMENT_COPIES)] == EXPERIMENT_COPIES:
            return Path(*parts[:i])
    return path


def repo_root() -> Path:
    """``DVC_ROOT`` if set (DVC sets it to the original repository, in queued experiments too), else the nearest
    folder upwards holding ``.dvc``, else the working directory; a stage run by hand inside an experiment's
    temporary copy (``<root>/.dvc/tmp/exps/...``) gets ``<root>`` too.
    """
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = original_repo(Path.cwd().resolve())
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return here


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI``, else the SQLite store ``mlflow.db`` at the repository root (`repo_root`)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def connect(experiment: str = EXPERIMENT) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id.

    Raises `TrackingUnavailable` with the URI when the store cannot be reached, so a stage can stop
    before doing any work.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    # MLflow's INFO lines ("Creating initial MLflow database tables...", "Validating input example against
    # model signature"), and its progress bar for artifacts of a few kilobytes: not for the stages' users.
    for chatty in ("mlflow", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        with environment(PROBE_ENV), sqlite_setup(uri):
            found = mlflow.get_experiment_by_name(experiment)
            if found is not None:
                for key, value in EXPERIMENT_TAGS.items():  # a store made before the experiment had them
                    if key not in found.tags:
                        mlflow.MlflowClient().set_experiment_tag(found.experiment_id, key, value)
                return found.experiment_id
            location = None
            if uri.startswith("sqlite:"):
                location = (repo_root() / "mlartifacts").as_uri()
            try:
                return mlflow.create_experiment(experiment, artifact_location=location, tags=EXPERIMENT_TAGS)
            except mlflow.exceptions.MlflowException:
                found = mlflow.get_experiment_by_name(experiment)  # another training created it just now
                if found is None:
                    raise
                return found.experiment_id
    except Exception as error:  # MLflow raises many types for a store it cannot reach
        raise TrackingUnavailable(f"cannot reach the MLflow tracking store at {uri}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block (MLflow reads its settings at each call)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory databases)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?")[0]
    return Path(path) if path and path != ":memory:" else None


@contextlib.contextmanager
def sqlite_setup(uri: str) -> Iterator[None]:
    """For a SQLite store: hold an exclusive lock (one per database file, in the temporary folder) while
    the block runs, and switch the database to write-ahead logging first.

    MLflow creates its tables on first use without a lock, so two experiments starting together on a new
    store would both try, and one would fail ('table already exists'); under this lock the second finds
    them made. WAL (a setting stored in the database file) lets readers, such as an open ``mlflow ui`` or
    another experiment's evaluate, go on while one process writes; writers wait for each other on the busy
    timeout MLflow sets (20 s). While a process has the store open, ``mlflow.db-wal`` and ``mlflow.db-shm``
    sit beside it.
    """
    path = sqlite_file(uri)
    if path is None or os.name == "nt":
        yield
        return
    import fcntl

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"colorizer-mlflow-{os.getuid()}-{digest}.lock"
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=60)) as db:
                db.execute("PRAGMA journal_mode=WAL")
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_reachable() -> None:
    """Raise within seconds if the tracking store does not answer (say, a server that went away during
    training), rather than after MLflow's retries, which take minutes for each call."""
    with environment(PROBE_ENV):
        mlflow.get_experiment_by_name(EXPERIMENT)


def tracking_failed(stage: str, what: str, error: BaseException) -> None:
    """Warn that something did not reach MLflow, and stop retrying for the rest of this process: MLflow has
    just spent its retries on the server, so the remaining calls (closing the run) should fail at once."""
    print(f"{stage}: warning: {what} ({tracking_uri()}): {first_line(error)}", file=sys.stderr)
    os.environ.update(PROBE_ENV)


def runs_url(experiment_id: str) -> str:
    """The MLflow UI page of the experiment's training runs: at the tracking server, or where `mlflow ui`
    serves a local store."""
    uri = tracking_uri()
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else UI_ADDRESS
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW}"
