"""Fine-tuning (train.init_from): the train stage starts from a trained network's weights, from a .keras file in
models/start/ or an MLflow model URI, records which model in the MLflow run, and refuses a parent of another
architecture before any work."""

import shutil

import mlflow
import numpy as np
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.tracking._tracking_service import utils as tracking_state

from colorizer import params as P
from colorizer.data.shards import LabSplit
from colorizer.inference.export import export
from colorizer.inference.loading import load_model
from colorizer.inference.predict import predict_ab
from colorizer.network import readout
from colorizer.network.readout import set_vividness
from colorizer.tracking import runs, store
from colorizer.tracking.logged_model import log_model
from colorizer.training import finetune
from colorizer.training.fit import compile_model, learning_rate
from colorizer.training.settings import check_params
from conftest import REPO
from stages import train as T

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
# A small, quick training of the default network kind (distribution head, hints, scene context), one network.
SMALL = {"width": 4, "members": 1, "epochs": 2, "crops_per_image": 2, "batch_size": 8, "restore_best": False, "seed": 1}
READ_OUT = {"rebalance": 0.25, "temperature": 0.5, "saturation": 1.2}  # export's, not learnt
# train's command line after `python -m stages.train`, as dvc.yaml gives it
PATHS = [
    "data/prepared",
    "models/start",
    "models/network.keras",
    "models/mlflow-run.json",
    "metrics/train.json",
    "metrics/history.csv",
]


def train_cfg(**changes) -> dict:
    return check_params({**PARAMS["train"], **SMALL, **changes})


def test_init_from_is_null_a_keras_file_or_an_mlflow_uri():
    assert train_cfg()["init_from"] is None and train_cfg(init_from="")["init_from"] is None
    for spec in ("models/start/bsds.keras", "models:/colorizer@champion", "models:/colorizer/3", "runs:/0123abc/model"):
        assert train_cfg(init_from=spec)["init_from"] == spec
    for spec, message in [
        (3, "train.init_from must be null, a .keras file or an MLflow model URI"),
        ("models/start/net.h5", "train.init_from must be a .keras file"),
        ("runs:/0123abc", "is not a complete MLflow model URI"),
        ("s3://bucket/net.keras", "the MLflow model URIs a training starts from are"),
    ]:
        with pytest.raises(P.ParamError, match=message):
            train_cfg(init_from=spec)


def test_a_fine_tuning_runs_at_its_own_learning_rate_on_the_same_schedule():
    cfg = train_cfg(init_from="models/start/x.keras", lr_schedule="cosine", epochs=4)
    schedule = learning_rate(cfg, 10)
    assert float(schedule(0)) == pytest.approx(cfg["init_learning_rate"])
    assert float(schedule(40)) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(dict(cfg, lr_schedule="constant"), 10) == cfg["init_learning_rate"]
    assert learning_rate(dict(cfg, init_from=None, lr_schedule="constant"), 10) == cfg["learning_rate"]


class Project:
    """A working folder as dvc.yaml's train stage sees it (prepared data, models/start, params.yaml), with its
    own MLflow store, and a parent: a training run with its network exported and registered as colorizer
    version 1, alias champion."""

    def __init__(self, root):
        self.root, self.store = root, f"sqlite:///{root / 'store' / 'mlflow.db'}"
        self.parent_run = self.parent_model = None

    def params(self, **train):
        (self.root / "params.yaml").write_text(
            yaml.safe_dump({**PARAMS, "train": {**PARAMS["train"], **SMALL, **train}}, sort_keys=False)
        )

    def train(self, **train):
        """The train stage, as `dvc repro` runs it (in this process); its exit message if it stops."""
        self.params(**train)
        try:
            T.main(PATHS)
        except SystemExit as stop:
            return str(stop.code)
        return None

    def runs(self):
        return MlflowClient(self.store).search_runs([store.connect()], order_by=["start_time DESC"])


@pytest.fixture(scope="module")
def project(tmp_path_factory, prepared_data):
    root = tmp_path_factory.mktemp("finetune")
    project = Project(root)
    shutil.copytree(prepared_data, root / "data" / "prepared")
    shutil.copytree(REPO / "models" / "start", root / "models" / "start")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setattr(tracking_state, "_tracking_uri", None)
        patch.setenv("MLFLOW_TRACKING_URI", project.store)
        assert project.train() is None  # the parent, from scratch
        export("models/network.keras", READ_OUT, "models/colorizer.keras")
        with runs.reopen_training_run("models/mlflow-run.json", "export") as run:
            log_model("models/colorizer.keras", READ_OUT, run)
            project.parent_run = run.info.run_id
        MlflowClient().set_registered_model_alias("colorizer", "champion", "1")
        [logged] = mlflow.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            output_format="list",
            filter_string=f"source_run_id = '{project.parent_run}'",
        )
        project.parent_model = logged.model_id
        shutil.copy(root / "models" / "colorizer.keras", root / "parent.keras")
    return project


@pytest.fixture
def working(project):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project.root)
        patch.setattr(tracking_state, "_tracking_uri", None)
        patch.setenv("MLFLOW_TRACKING_URI", project.store)
        yield project
    shutil.rmtree(project.root / "checkpoints", ignore_errors=True)


LIGHTNESS = np.random.default_rng(0).uniform(0, 100, (3, 32, 32, 1)).astype(np.float32)


def colours(network_path):
    """What the network at ``network_path`` colours with the parent's read-out (export's settings)."""
    network = set_vividness(
        load_model(network_path),
        temperature=READ_OUT["temperature"],
        rebalance=READ_OUT["rebalance"],
        saturation=READ_OUT["saturation"],
    )
    return predict_ab(network, LIGHTNESS)


def assert_starts_from_the_parent(project):
    """A fine-tuning of one epoch at a learning rate of 1e-9 changes nothing that shows: its network colours as
    the parent does (a training from scratch of the same seed does not), and has the read-out of a network
    fresh from train, not the parent's (export sets it)."""
    parent = colours(project.root / "parent.keras")
    tuned = colours(project.root / "models" / "network.keras")
    np.testing.assert_allclose(tuned, parent, atol=2e-4)
    scratch = compile_model(
        check_params({**PARAMS["train"], **SMALL}), LabSplit(project.root / "data" / "prepared", "train"), (32, 32)
    )[0]
    assert np.abs(predict_ab(set_vividness(scratch, **READ_OUT), LIGHTNESS) - parent).max() > 1e-2
    saved = load_model(project.root / "models" / "network.keras")
    assert float(readout.annealed_mean(saved).temperature.numpy()) == 1.0
    assert float(readout.saturation(saved).factor.numpy()) == 1.0


@pytest.mark.slow
def test_fine_tuning_from_a_keras_file_starts_from_its_weights(working):
    shutil.copy(working.root / "parent.keras", working.root / "models" / "start" / "parent.keras")
    try:
        assert working.train(init_from="models/start/parent.keras", init_learning_rate=1e-9, epochs=1) is None
    finally:
        (working.root / "models" / "start" / "parent.keras").unlink()
    assert_starts_from_the_parent(working)
    run = working.runs()[0]
    assert run.data.params["init_from"] == "models/start/parent.keras"
    assert run.data.params["init_learning_rate"] == "1e-09"
    assert run.data.tags["init_from"] == "models/start/parent.keras"
    assert run.data.tags["init_from.sha256"] == finetune.sha256(working.root / "parent.keras")


@pytest.mark.slow
def test_fine_tuning_from_an_mlflow_model_records_the_version_it_started_from(working):
    assert working.train(init_from="models:/colorizer@champion", init_learning_rate=1e-9, epochs=1) is None
    assert_starts_from_the_parent(working)
    run = working.runs()[0]
    assert run.data.tags["init_from"] == "models:/colorizer@champion"
    assert run.data.tags["init_from.model_version"] == "1"
    assert run.data.tags["init_from.run_id"] == working.parent_run
    assert run.data.tags["init_from.model_id"] == working.parent_model
    lineage = MlflowClient().get_run(run.info.run_id).inputs.model_inputs  # MLflow 3: the run's model input
    assert [m.model_id for m in lineage] == [working.parent_model]


@pytest.mark.slow  # its fixture trains the parent
def test_a_parent_of_another_architecture_stops_train_before_any_work(working):
    runs = len(working.runs())
    (working.root / "models" / "start" / "parent.keras").write_bytes((working.root / "parent.keras").read_bytes())
    before = {p.relative_to(working.root) for p in working.root.rglob("*")}
    try:
        stopped = working.train(init_from="models/start/parent.keras", width=8, hints=False)
        assert stopped.startswith(
            "train: train.init_from: models/start/parent.keras is a network of another "
            "architecture: it was trained with train.hints: true, train.width: 4, but "
            "params.yaml has train.hints: false, train.width: 8"
        )
        # The URI's parent is checked as the file's is, once the store is reached.
        for uri in ("models:/colorizer/1", f"runs:/{working.parent_run}/model"):
            assert "train.members: 1, but params.yaml has train.members: 2" in working.train(init_from=uri, members=2)
        # Not in models/start/: DVC would not rerun train when it changed (and this one is train's own output).
        assert "cp models/network.keras models/start/network.keras" in working.train(init_from="models/network.keras")
        assert "train.init_from: no model models:/colorizer@nobody" in working.train(
            init_from="models:/colorizer@nobody"
        )
    finally:
        (working.root / "models" / "start" / "parent.keras").unlink()
    after = {p.relative_to(working.root) for p in working.root.rglob("*")}
    assert after - before == set(), "train wrote something although it stopped"
    assert len(working.runs()) == runs, "no MLflow run was started"
