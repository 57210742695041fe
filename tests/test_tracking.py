"""MLflow tracking without a pipeline around it: which store a queued experiment finds, two trainings
starting together on a new SQLite store, and a tracking server that cannot be reached."""

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from colorizer.tracking.store import EXPERIMENT, repo_root, tracking_uri
from conftest import REPO, free_port, stage_command, venv_env

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out


def test_a_queued_experiment_finds_the_store_of_the_original_repository(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    copy = root / ".dvc" / "tmp" / "exps" / "tmpa1b2c3"
    (copy / ".dvc").mkdir(parents=True)
    monkeypatch.setenv("DVC_ROOT", str(root))  # what DVC sets in a queued experiment
    assert repo_root() == root.resolve()
    # A stage run by hand inside the copy, without DVC_ROOT: the copy's own .dvc is not the answer.
    monkeypatch.delenv("DVC_ROOT")
    monkeypatch.chdir(copy)
    assert repo_root() == root.resolve()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == f"sqlite:///{root.resolve() / 'mlflow.db'}"


WRITER = """
import sys, time
import mlflow
from colorizer.tracking import runs, store

start, steps = float(sys.argv[1]), int(sys.argv[2])
while time.time() < start:
    time.sleep(0.01)
experiment = store.connect()
with runs.start_training_run(experiment) as run:
    mlflow.log_params({"writer": sys.argv[3]})
    for step in range(steps):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
print(run.info.run_id)
"""


def test_two_trainings_starting_together_on_a_new_sqlite_store_both_log_everything(tmp_path):
    """Without the lock around MLflow's table creation, both create the tables at once and one fails
    ('table ... already exists', 'duplicate column'); without a busy timeout, writes fail as locked."""
    store = tmp_path / "mlflow.db"
    env = venv_env(MLFLOW_TRACKING_URI=f"sqlite:///{store}", PYTHONPATH=str(REPO))
    start = time.time() + 5  # both import MLflow first, then connect within milliseconds of each other
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(start), "60", name],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    results = [(*w.communicate(timeout=240), w.returncode) for w in writers]
    for _out, err, code in results:
        assert code == 0, err[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    for out, _err, _code in results:
        run_id = out.strip().splitlines()[-1]
        assert len(client.get_metric_history(run_id, "loss")) == 60
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    assert sorted(r.data.params["writer"] for r in runs) == ["a", "b"]
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def tiny_project(folder: Path, prepared: Path) -> Path:
    """params.yaml and prepared shards (a copy of ``prepared``): what the train stage reads."""
    shutil.copytree(prepared, folder / "data" / "prepared")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"].update(epochs=2, width=4, batch_size=8, members=1)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def test_an_unreachable_tracking_server_stops_train_before_training_and_fast(tmp_path, prepared_data):
    project = tiny_project(tmp_path / "project", prepared_data)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = venv_env(MLFLOW_TRACKING_URI=uri, PYTHONPATH=str(REPO))
    for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(key, None)  # MLflow's own defaults: 7 retries with backoff, minutes in all
    started = time.time()
    result = subprocess.run(
        [sys.executable, *stage_command("train")[1:]], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    elapsed = time.time() - started
    assert result.returncode != 0
    assert f"train: cannot reach the MLflow tracking store at {uri}" in result.stderr
    assert elapsed < 60, f"the check took {elapsed:.0f} s"
    assert not (project / "checkpoints").exists(), "training started"
    assert not (project / "models").exists() and not (project / "metrics").exists()


def test_export_evaluate_and_render_finish_without_the_tracking_server(tmp_path, monkeypatch, capsys, prepared_data):
    """Their outputs are written first; a server that is gone costs only the logging, with a warning each."""
    import json

    from mlflow.tracking._tracking_service import utils as tracking_state

    from colorizer.network.builder import build
    from stages import evaluate, export, render

    project = tiny_project(tmp_path / "project", prepared_data)
    monkeypatch.chdir(project)
    monkeypatch.setattr(tracking_state, "_tracking_uri", None)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    (project / "models").mkdir()
    build("unet", width=4, head="distribution").save(project / "models" / "network.keras")
    (project / "models" / "mlflow-run.json").write_text(json.dumps({"run_id": "0" * 32, "tracking_uri": uri}))
    for stage in (export, evaluate, render):
        stage.main(stage_command(stage.__name__.split(".")[-1])[3:])
    err = capsys.readouterr().err
    for what in ("export: warning: the model", "evaluate: warning: the metrics", "render: warning: the gallery"):
        assert f"{what} not logged to MLflow ({uri})" in err, err
    assert (project / "models/colorizer.keras").stat().st_size > 0
    assert json.loads((project / "metrics/eval.json").read_text())["psnr"] > 0
    assert (project / "gallery/index.html").exists()
