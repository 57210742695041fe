"""Scaling out on the real tools: a shared `mlflow server`, a DVC experiment queue run with two jobs, a DVC
remote, and a tracking server that dies during training. conftest's `repro_project` (one `dvc repro` that
logged to the session's `mlflow server`, shared with test_pipeline.py) and one copy of it serve them all (in
this order), so the module stays within a few minutes on two cores."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient
from test_pipeline import ran

from colorizer.inference.loading import load_model
from colorizer.inference.predict import predict_ab  # L, and empty hints for a hint-taking network
from conftest import GIT, run, stage_command, venv_env

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out


@pytest.fixture(scope="module")
def project(repro_project, tmp_path_factory):
    """A copy of conftest's `repro_project` (its photographs under DVC, one `dvc repro` that logged to the
    session's `mlflow server`) with the result committed too (dvc.lock: the baseline of the experiments)."""
    root = repro_project.copy(tmp_path_factory.mktemp("scale-out") / "project")
    run(["git", "add", "-A"], root)
    run(GIT + ["commit", "-qm", "repro"], root)
    return root


@pytest.fixture
def server(repro_project):
    return repro_project.server.alive()


def test_the_pipeline_logs_params_metrics_model_and_gallery_to_a_tracking_server(repro_project, server):
    root = repro_project.root
    assert {"prepare", "train", "evaluate", "render"} <= ran(repro_project.first)
    assert repro_project.local_store == [], "with MLFLOW_TRACKING_URI set, nothing may go to the local store"
    recorded = json.loads((root / "models/mlflow-run.json").read_text())
    assert recorded["tracking_uri"] == server.uri
    client = MlflowClient(tracking_uri=server.uri)
    found = client.get_run(recorded["run_id"])
    assert found.data.params["epochs"] == "2" and found.data.params["distribute"] == "none"
    assert found.data.params["prepare.train_size"]
    assert len(client.get_metric_history(found.info.run_id, "val_loss")) == 2
    train = json.loads((root / "metrics/train.json").read_text())
    assert found.data.metrics["val_loss"] == pytest.approx(train["val_loss"], rel=1e-5)
    evaluation = json.loads((root / "metrics/eval.json").read_text())
    # The repro's own figure: its first (test_pipeline.py's copy of the project evaluates again into this run).
    logged = min(client.get_metric_history(found.info.run_id, "test_psnr"), key=lambda m: m.timestamp)
    assert logged.value == pytest.approx(evaluation["psnr"])
    assert found.info.artifact_uri.startswith("mlflow-artifacts:"), "artifacts must go through the server"
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"gallery", "evaluation"} <= artifacts
    assert any(
        m.source_run_id == found.info.run_id
        for m in client.search_logged_models(experiment_ids=[found.info.experiment_id])
    )
    # ... and the files themselves are in the server's artifact folder.
    assert list(server.artifacts.rglob("contact_sheet.png"))
    assert list(server.artifacts.rglob("eval_images.csv"))
    assert list(server.artifacts.rglob("MLmodel")) and list(server.artifacts.rglob("colorizer.keras"))


def wait_for_queue(root: Path, experiments: int, timeout: float = 600) -> str:
    """Wait until ``experiments`` experiments are done; returns `dvc queue status`. Watches the git refs a
    finished experiment gets (cheap) and asks `dvc queue status` (a dvc process, competing with the
    experiments for the two cores) only every 30 s, to stop early on a failure, and at the end."""
    deadline, asked = time.time() + timeout, time.time()
    while time.time() < deadline:
        refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], root).stdout
        done = len(re.findall(r"^refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/", refs, re.M))
        if done >= experiments or time.time() - asked > 30:
            status, asked = run(["dvc", "queue", "status"], root).stdout, time.time()
            if "Failed" in status or not any(word in status for word in ("Queued", "Running")):
                return status
        time.sleep(2)
    raise AssertionError(f"the queue did not finish within {timeout} s")


def test_a_queue_of_experiments_with_two_jobs_lands_each_as_its_own_run_in_the_one_store(project):
    """Up to the train stage only, to keep it short: train makes the run; the later stages find it the
    same way (`store.connect`, tested in test_tracking.py for experiment copies)."""
    root = project
    for rate in ("0.002", "0.004"):
        run(
            ["dvc", "exp", "run", "--queue", "-S", "train.epochs=1", "-S", f"train.learning_rate={rate}", "train"], root
        )
    run(["dvc", "queue", "start", "-j", "2"], root)
    status = wait_for_queue(root, 2)
    assert status.count("Success") == 2 and "Failed" not in status, status

    shown = json.loads(run(["dvc", "exp", "show", "--json"], root).stdout)
    experiments = {}
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            rev = experiment["revs"][0]
            data = rev["data"]
            experiments[rev["name"]] = {
                "learning_rate": data["params"]["params.yaml"]["data"]["train"]["learning_rate"],
                "train": data["metrics"]["metrics/train.json"]["data"],
            }
    assert sorted(e["learning_rate"] for e in experiments.values()) == [0.002, 0.004], experiments
    assert all(e["train"]["epochs"] == 1 for e in experiments.values()), experiments

    # The store at the repository root, not in the experiments' temporary copies (gone by now).
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("colorization").experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(experiments)
    for found in runs:
        expected = experiments[found.info.run_name]
        assert found.data.tags["dvc.experiment"] == found.info.run_name
        assert float(found.data.params["learning_rate"]) == expected["learning_rate"]
        assert found.data.params["epochs"] == "1"
        assert found.data.metrics["val_loss"] == pytest.approx(expected["train"]["val_loss"], rel=1e-5)
        assert len(client.get_metric_history(found.info.run_id, "val_loss")) == 1
        assert found.info.artifact_uri.startswith((root / "mlartifacts").as_uri())
        assert client.get_run(found.info.run_id).inputs.dataset_inputs[0].dataset.name == "data/prepared"
    # Both wrote to the SQLite store at the same time (else this test would not test that).
    first, second = sorted(runs, key=lambda r: r.info.start_time)
    assert second.info.start_time < first.info.end_time, "the two experiments did not run at once"


def test_a_dvc_remote_restores_images_shards_and_model_in_an_empty_cache(project, tmp_path):
    root = project
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "team", str(remote)], root)
    pushed = run(["dvc", "push"], root)
    assert list(remote.rglob("*")), pushed.stdout
    shutil.rmtree(root / ".dvc" / "cache")
    outputs = ["photos", *cached_outputs(root)]
    assert {"data/prepared", "models/colorizer.keras", "gallery"} <= set(outputs)
    for output in outputs:
        path = root / output
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert "models/colorizer.keras" in run(["dvc", "status"], root).stdout  # missing now

    run(["dvc", "pull"], root)
    status = run(["dvc", "status"], root)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout
    assert len(list((root / "photos").glob("*.png"))) == 14
    model = load_model(root / "models/colorizer.keras")
    assert np.asarray(predict_ab(model, np.full((1, 32, 32, 1), 50.0, "float32"))).shape == (1, 32, 32, 2)


def cached_outputs(root: Path) -> list[str]:
    """The outputs of dvc.yaml that DVC caches (not the `cache: false` metrics, kept in git)."""
    found = []
    for stage in yaml.safe_load((root / "dvc.yaml").read_text())["stages"].values():
        for out in stage.get("outs", []):
            path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if (options or {}).get("cache", True):
                found.append(path)
    return found


# The train stage, whose tracking server is killed once the first epoch's metrics are logged.
KILL_DURING_TRAINING = """
import os, signal, sys
from colorizer.tracking.training_run import EpochMetrics
from stages.train import main

log_epoch = EpochMetrics.on_epoch_end


def on_epoch_end(self, epoch, logs=None):
    log_epoch(self, epoch, logs)
    if epoch == 0:
        os.killpg(int(sys.argv[1]), signal.SIGKILL)
        print("killed the tracking server after epoch 1", flush=True)

EpochMetrics.on_epoch_end = on_epoch_end
main(sys.argv[2:])
"""


def test_a_tracking_server_lost_during_training_costs_neither_the_model_nor_the_metrics(project, server, tmp_path):
    """Kills the session's server (its next user starts it again): keep this test last in the module."""
    root = project
    work = tmp_path / "work"
    shutil.copytree(root / "data" / "prepared", work / "data" / "prepared")
    shutil.copy2(root / "params.yaml", work / "params.yaml")
    # MLflow retries a failed request 7 times with backoff: with its defaults the outcome is the same, but
    # the stage ends only after the metrics it had queued give up (measured: 4.5 minutes in all).
    env = venv_env(
        MLFLOW_TRACKING_URI=server.uri,
        PYTHONPATH=str(root),
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="10",
    )
    result = subprocess.run(
        [sys.executable, "-c", KILL_DURING_TRAINING, str(server.proc.pid), *stage_command("train")[3:]],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert "killed the tracking server after epoch 1" in result.stdout, result.stderr[-3000:]
    assert server.proc.wait(timeout=30) == -signal.SIGKILL, "the server was not killed by the callback"
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"train: warning: could not log the final metrics to MLflow ({server.uri})" in result.stderr
    report = json.loads((work / "metrics/train.json").read_text())
    assert report["epochs"] == 2
    assert len((work / "metrics/history.csv").read_text().splitlines()) == 3
    assert json.loads((work / "models/mlflow-run.json").read_text())["run_id"]
    models = list((work / "models").glob("*.keras"))
    assert len(models) == 1 and models[0].stat().st_size > 0
    assert not (work / "checkpoints" / "train").exists()
