"""train.distribute: data_parallel, one model trained by several processes (colorizer.training.cluster).

The end-to-end test launches two processes on 127.0.0.1 the way docs/scaling-out.md tells a user to: the
chief through `dvc repro train` in the project, the other as the stage's plain command in its own copy of the
project (as on a second machine after `git pull` and `dvc pull`). It kills one in the middle of the training,
restarts both, and compares the result with one process trained on the same global batches.
"""

import csv
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from colorizer.data.preparation import prepare
from colorizer.data.shards import LabSplit
from colorizer.inference.predict import predict_ab  # L, and empty hints for a hint-taking network
from colorizer.params import ParamError
from colorizer.training import cluster
from colorizer.training.batches import CropBatches, EvenBatches
from colorizer.training.cluster import ClusterError, group_from_env
from conftest import (
    REPO,
    copy_project,
    free_port,
    prepare_config,
    run,
    set_params,
    stage_command,
    venv_env,
    write_photos,
)


def env_of(addresses="127.0.0.1:1234", count="2", index="0") -> dict:
    return {cluster.ADDRESSES: addresses, cluster.COUNT: count, cluster.INDEX: index}


def test_the_process_group_comes_from_keras_environment_variables():
    assert group_from_env({}) == cluster.SOLO and cluster.SOLO.chief
    group = group_from_env(env_of(index="1"))
    assert (group.index, group.count, group.coordinator, group.chief) == (1, 2, "127.0.0.1:1234", False)
    # Every process's address, the chief's first, as keras.distribution.initialize takes them.
    assert group_from_env(env_of("h0:9000,h1:9000")).coordinator == "h0:9000"
    for environ, named in [
        ({cluster.COUNT: "2"}, cluster.ADDRESSES),
        (env_of(index="2"), cluster.INDEX),
        (env_of(count="two"), cluster.COUNT),
        (env_of("h0"), cluster.ADDRESSES),
        (env_of("h0:1,h1:1,h2:1"), cluster.ADDRESSES),
    ]:
        with pytest.raises(ClusterError, match=named):
            group_from_env(environ)


def test_several_processes_need_data_parallel(monkeypatch):
    from colorizer.training.settings import join_group

    for name, value in env_of().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ParamError, match="several processes train one model with distribute: data_parallel"):
        join_group({"distribute": "none"})
    with pytest.raises(ParamError, match="data_parallel needs the JAX backend"):  # this process runs TensorFlow
        join_group({"distribute": "data_parallel"})


def test_each_process_reads_its_own_slice_of_every_batch(tmp_path):
    write_photos(tmp_path / "photos", 16, size=(40, 40))
    prepare(prepare_config(tmp_path / "photos", crop_scale=0.6, shard_size=4), tmp_path / "prepared")
    split = LabSplit(tmp_path / "prepared", "train")
    drawn = {"crops_per_image": 3, "min_scale": 0.6, "flip": True, "seed": 5, "epoch": 2}
    whole = CropBatches(split, 8, **drawn)
    parts = [EvenBatches(split, 8, 2, part=(i, 2), **drawn) for i in range(2)]
    read = []
    split.take_codes = lambda rows, take=split.take_codes: read.append(rows.copy()) or take(rows)
    assert len(split) * 3 >= 16
    for index in range(len(split) * 3 // 8):  # the whole batches (a last, partial one may not split evenly)
        one = whole[index]
        halves = [part[index] for part in parts]
        for key in ("codes", "boxes"):  # the halves, in process order, are the one process's batch
            np.testing.assert_array_equal(np.concatenate([h[key] for h in halves]), one[key])
        # Each process read its 4 rows only, and together they read the one process's 8, each once.
        everything, mine, theirs = read[-3:]
        assert len(mine) == len(theirs) == 4
        np.testing.assert_array_equal(np.concatenate([mine, theirs]), everything)
    with pytest.raises(ValueError, match="cannot be split evenly between 2 processes"):
        CropBatches(split, 7, part=(0, 2), **drawn)[0]


# End to end ----------------------------------------------------------------------------------------------

TRAIN = {
    "train.width": 4,
    "train.epochs": 2,
    "train.crops_per_image": 8,
    "train.batch_size": 8,
    "train.checkpoint_every": 4,
    "train.distribute": "data_parallel",
    "train.members": 1,
}


def launch(folder: Path, command: list[str], port: int, index: int, log: Path) -> subprocess.Popen:
    env = venv_env(KERAS_BACKEND="jax", **env_of(f"127.0.0.1:{port}", "2", str(index)))
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def files_of(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and ".git/" not in str(p)
    }


def predictions(network: Path, lightness) -> np.ndarray:
    import keras

    import colorizer.network.follow_hints  # noqa: F401  (registers the custom layers)
    import colorizer.network.layers  # noqa: F401

    return np.asarray(predict_ab(keras.models.load_model(network, compile=False), lightness))


@pytest.mark.slow
def test_two_processes_train_like_one_and_stop_together_and_resume(tmp_path):
    chief = tmp_path / "chief"
    copy_project(chief)
    write_photos(chief / "photos", 24, size=(40, 40))
    set_params(
        chief,
        **{
            "prepare.images": "photos",
            "prepare.train_size": [32, 32],
            "prepare.test_size": [32, 32],
            "prepare.crop_scale": 0.6,
            "prepare.splits": {"train": 0.65, "val": 0.25, "test": 0.1},
            "prepare.workers": 1,
            **TRAIN,
        },
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    run(["git", "init", "-q"], chief)
    run(["git", "add", "-A"], chief)
    run(git + ["commit", "-qm", "copy"], chief)
    run(["dvc", "repro", "prepare"], chief)
    train, val = LabSplit(chief / "data/prepared", "train"), LabSplit(chief / "data/prepared", "val")
    crops = TRAIN["train.crops_per_image"]
    assert len(train) * crops % 8 == 0 and len(val) % 2 == 0, (len(train), len(val))  # every batch splits evenly
    worker = tmp_path / "worker"  # another machine: the same commit and data
    shutil.copytree(chief, worker, symlinks=True)
    alone = tmp_path / "alone"
    shutil.copytree(chief, alone, symlinks=True)
    set_params(alone, **{"train.distribute": "none"})
    command = stage_command("train")
    # The documented command for the other processes is the stage's command in dvc.yaml.
    for doc in ("docs/scaling-out.md", "docs/slurm-train.sh"):
        assert " ".join(command) in (REPO / doc).read_text(), doc

    # One process, the same global batches: the reference.
    run(command, alone, env=venv_env(KERAS_BACKEND="jax"))

    # A machine left on other parameters is found before the first step, by every process.
    set_params(worker, **{"train.seed": 7})
    port = free_port()
    started = [
        launch(worker, command, port, 1, tmp_path / "worker-0.log"),
        launch(chief, ["dvc", "repro", "train"], port, 0, tmp_path / "chief-0.log"),
    ]
    for process, name in zip(started, ("worker", "chief")):
        process.wait(timeout=300)
        printed = (tmp_path / f"{name}-0.log").read_text()
        assert process.returncode != 0, printed[-3000:]
        assert "train's parameters or the prepared data of process 1 differ from the chief's" in printed, printed
    shutil.copy2(chief / "params.yaml", worker / "params.yaml")
    assert not (chief / "checkpoints").exists()

    # Two processes; the second one killed once the chief has checkpointed inside the first epoch.
    before = files_of(worker)
    port = free_port()
    other = launch(worker, command, port, 1, tmp_path / "worker-1.log")
    first = launch(chief, ["dvc", "repro", "train"], port, 0, tmp_path / "chief-1.log")
    position = chief / "checkpoints/train/state/position.json"
    deadline = time.time() + 300
    while not position.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert position.exists(), (tmp_path / "chief-1.log").read_text()[-3000:]
    other.send_signal(signal.SIGKILL)
    killed = time.time()
    first.wait(timeout=cluster.PEER_TIMEOUT + 30)
    waited = time.time() - killed
    chief_log = (tmp_path / "chief-1.log").read_text()
    assert first.returncode != 0, chief_log[-3000:]
    assert "process 0 of 2 stops:" in chief_log and "start them all again to resume" in chief_log, chief_log[-3000:]
    assert waited < cluster.PEER_TIMEOUT, f"the chief took {waited:.0f} s to stop"
    assert not (chief / "models/network.keras").exists()

    # Both started again: the chief's checkpoint resumes the training on both.
    other = launch(worker, command, port := free_port(), 1, tmp_path / "worker-2.log")
    second = launch(chief, ["dvc", "repro", "train"], port, 0, tmp_path / "chief-2.log")
    for process, name in ((second, "chief"), (other, "worker")):
        process.wait(timeout=400)
        assert process.returncode == 0, (tmp_path / f"{name}-2.log").read_text()[-3000:]
    chief_log, worker_log = (tmp_path / "chief-2.log").read_text(), (tmp_path / "worker-2.log").read_text()
    assert "resuming the interrupted training" in chief_log, chief_log[-3000:]
    assert "data parallel across 2 devices" in chief_log
    assert "process 1 of 2 done; the chief wrote" in worker_log
    assert "Epoch" not in worker_log  # only the chief reports

    # The other process wrote nothing in its project (models, metrics, checkpoints, MLflow store) and logged
    # nowhere; the chief wrote the outputs and one MLflow run.
    assert files_of(worker) == before
    assert not (worker / "checkpoints").exists()
    for name in ("models/network.keras", "metrics/train.json", "metrics/history.csv", "mlflow.db"):
        assert (chief / name).exists(), name
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{chief / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [r.data.params.get("processes") for r in runs] == ["2"]
    assert runs[0].data.params["distribute"] == "data_parallel"

    # The same model as one process: each process computed the gradient of its half of every batch and the
    # halves were averaged, which is the whole batch's gradient; only the order of float additions differs.
    # Measured: predictions within 6e-8 after two epochs of 53 steps, and the same losses to six digits.
    # 1e-4 (ab / 128) leaves room for other CPUs' rounding, yet a process reading the other's half, or left
    # out of the update, moves the predictions by percents within a few steps.
    losses = {
        name: [
            [float(row[key]) for key in ("loss", "val_loss", "val_ab_mse")]
            for row in csv.DictReader((folder / "metrics/history.csv").open())
        ]
        for name, folder in (("chief", chief), ("alone", alone))
    }
    assert len(losses["chief"]) == TRAIN["train.epochs"]
    # The interrupted epoch's training loss is the mean of the batches after the resume only (as on one
    # machine: Keras starts its running mean afresh); every other figure is comparable.
    losses["chief"][0][0] = losses["alone"][0][0]
    assert np.allclose(losses["chief"], losses["alone"], rtol=1e-4), losses
    lightness = val.take(np.arange(len(val)))[..., :1]
    difference = np.abs(
        predictions(chief / "models/network.keras", lightness) - predictions(alone / "models/network.keras", lightness)
    ).max()
    assert difference < 1e-4, f"predictions differ by {difference} (ab / 128)"
