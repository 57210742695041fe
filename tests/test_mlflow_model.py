"""The model that export logs, as its users load it: with ``mlflow.pyfunc`` in a Python that has never seen
this repository, with ``mlflow models predict`` and ``mlflow models serve`` (hints included), and by its
registered name with ``colorize``."""

import json
import os
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.tracking._tracking_service import utils as tracking_state
from PIL import Image

from colorizer.apps import colorize as C
from colorizer.inference.export import export
from colorizer.network.builder import build
from colorizer.tracking import registry, runs
from colorizer.tracking.logged_model import log_model
from colorizer.tracking.store import connect
from conftest import free_port, write_photos

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out

GREY = {"rebalance": 0.0, "temperature": 1.0, "saturation": 0.0}  # the first export: no colour at all
READ_OUT = {"rebalance": 0.5, "temperature": 0.4, "saturation": 1.2}  # the second, the newest
# Not a multiple of 64 (the size export's input example has) nor square.
LIGHTNESS = np.linspace(20, 80, 40 * 56, dtype=np.float32).reshape(1, 40, 56, 1)

LOAD_AND_PREDICT = """
import importlib.util, sys
import mlflow, numpy as np

assert importlib.util.find_spec("colorizer") is None, "the project is importable here"
model = mlflow.pyfunc.load_model(sys.argv[1])
print(model.predict(np.load(sys.argv[2])).shape)
"""


class Store:
    def __init__(self, folder: Path):
        self.folder, self.uri, self.run_id = folder, f"sqlite:///{folder / 'mlflow.db'}", None
        self.hints_run_id = None  # a second training, of a network that takes hints


def with_hints(lightness: np.ndarray) -> np.ndarray:
    """[n, H, W, 4]: ``lightness`` and a hint map with one red square near its top-left corner."""
    hints = np.zeros((*lightness.shape[:3], 3), np.float32)
    hints[:, 4:10, 4:10] = (0.45, 0.3, 1.0)
    return np.concatenate([lightness, hints], axis=-1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A training run as train leaves it, then two exports of its network (a tiny one with the distribution
    head, so with the custom read-out layers) by the export stage's own functions: a grey one, then a vivid one."""
    store = Store(tmp_path_factory.mktemp("store"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(store.folder)
        patch.setattr(tracking_state, "_tracking_uri", None)
        patch.setenv("MLFLOW_TRACKING_URI", store.uri)
        with runs.start_training_run(connect()) as run:
            store.run_id = run.info.run_id
        runs.write_run_file(store.run_id, "mlflow-run.json")
        build("unet", width=4, head="distribution").save("network.keras")  # no hint input
        for read_out in (GREY, READ_OUT):
            export("network.keras", read_out, "colorizer.keras")
            with runs.reopen_training_run("mlflow-run.json", "export") as reopened:
                log_model("colorizer.keras", read_out, reopened)
        with runs.start_training_run(connect()) as run:
            store.hints_run_id = run.info.run_id
        runs.write_run_file(store.hints_run_id, "hints-run.json")
        build("unet", width=4, head="distribution", members=2, with_hints=True).save("hints-network.keras")
        export("hints-network.keras", READ_OUT, "hints-colorizer.keras")
        with runs.reopen_training_run("hints-run.json", "export") as reopened:
            log_model("hints-colorizer.keras", READ_OUT, reopened)
        registry.promote(MlflowClient(), "3")  # @champion: what `colorize-promote 3` does
    return store


def elsewhere(store: Store) -> dict:
    """The environment of a Python that cannot import this project: run with ``-S``, it skips the ``.pth``
    files, among them this project's editable install, and PYTHONPATH names only the installed packages. The
    environment's programs come first on PATH, as in an activated one (`mlflow models serve` runs ``uvicorn``)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DVC_ROOT")}
    packages = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    env.update(
        PYTHONPATH=os.pathsep.join(packages),
        MLFLOW_TRACKING_URI=store.uri,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def run_elsewhere(args: list, store: Store, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-S", *map(str, args)],
        cwd=cwd,
        env=elsewhere(store),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_pyfunc_loads_the_model_where_the_project_is_not(store, tmp_path):
    np.save(tmp_path / "lightness.npy", LIGHTNESS)
    found = run_elsewhere(["-c", LOAD_AND_PREDICT, f"runs:/{store.run_id}/model", "lightness.npy"], store, tmp_path)
    assert found.stdout.strip().splitlines()[-1] == "(1, 40, 56, 2)"


def test_mlflow_models_predict_serves_it(store, tmp_path):
    (tmp_path / "input.json").write_text(json.dumps({"inputs": LIGHTNESS.tolist()}))
    mlflow_command = Path(sys.executable).parent / "mlflow"
    run_elsewhere(
        [
            mlflow_command,
            "models",
            "predict",
            "-m",
            f"runs:/{store.run_id}/model",
            "-i",
            "input.json",
            "-o",
            "output.json",
            "-t",
            "json",
            "--env-manager",
            "local",
        ],
        store,
        tmp_path,
    )
    predictions = np.asarray(json.loads((tmp_path / "output.json").read_text())["predictions"])
    assert predictions.shape == (1, 40, 56, 2)
    assert np.all(np.abs(predictions) <= 1)


def test_each_export_is_a_described_version_of_the_registered_model(store):
    client = MlflowClient(store.uri)
    assert "Colours grayscale photographs" in client.get_registered_model(registry.NAME).description
    for number, read_out, run_id in (
        ("1", "rebalance 0.0, temperature 1.0, saturation 0.0", store.run_id),
        ("2", "rebalance 0.5, temperature 0.4, saturation 1.2", store.run_id),
        ("3", "rebalance 0.5, temperature 0.4, saturation 1.2", store.hints_run_id),
    ):
        version = client.get_model_version(registry.NAME, number)
        assert version.run_id == run_id
        # The read-out is the logged model's: a second export into the same run did not overwrite the first's.
        logged = client.get_logged_model(registry.model_id(version))
        assert (
            f"rebalance {logged.params['rebalance']}, temperature {logged.params['temperature']}, saturation "
            f"{logged.params['saturation']}" == read_out
        )
        assert f"Trained in MLflow run {run_id}" in version.description
        assert f"Read-out: {read_out}." in version.description


def test_colorize_takes_the_registered_model(store, tmp_path, monkeypatch):
    monkeypatch.setattr(tracking_state, "_tracking_uri", None)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    photo = write_photos(tmp_path, 1, size=(40, 56))[0]
    assert C.main([str(photo), "-o", str(tmp_path / "out"), "--model", "models:/colorizer@candidate", "-q"]) == 0
    coloured = np.asarray(Image.open(tmp_path / "out" / photo.name)).astype(int)
    assert coloured.shape == (40, 56, 3)
    assert np.abs(coloured[..., 0] - coloured[..., 2]).max() > 5, "grey: not the newest version"
    assert MlflowClient(store.uri).get_model_version_by_alias(registry.NAME, "candidate").version == 3
    # The same colours as from the newest export's Keras file.
    newest = store.folder / "hints-colorizer.keras"  # the third version, of the second training
    assert C.main([str(photo), "-o", str(tmp_path / "from-file"), "--model", str(newest), "-q"]) == 0
    assert np.array_equal(coloured, np.asarray(Image.open(tmp_path / "from-file" / photo.name)))


def test_pyfunc_takes_hints_and_a_model_without_a_hint_input_refuses_them_clearly(store, monkeypatch):
    import mlflow

    from colorizer.inference.loading import load_model as load

    monkeypatch.setattr(tracking_state, "_tracking_uri", None)
    mlflow.set_tracking_uri(store.uri)
    hinted = mlflow.pyfunc.load_model(f"runs:/{store.hints_run_id}/model")
    alone, given = hinted.predict(LIGHTNESS), hinted.predict(with_hints(LIGHTNESS))
    assert alone.shape == given.shape == (1, 40, 56, 2) and not np.allclose(alone, given)
    network = load(store.folder / "hints-colorizer.keras")
    expected = network.predict({"L": LIGHTNESS, "hints": with_hints(LIGHTNESS)[..., 1:]}, verbose=0)
    np.testing.assert_allclose(given, expected, atol=1e-5)
    palette = hinted.unwrap_python_model().suggest(LIGHTNESS[0, ..., 0], 30, 20)
    assert palette and palette[0]["colour"].startswith("#") and 0 < palette[0]["probability"] <= 1
    with pytest.raises(Exception, match=r"expected \[n, H, W, 1\] \(L\) or \[n, H, W, 4\]"):
        hinted.predict(LIGHTNESS[..., [0, 0]])

    plain = mlflow.pyfunc.load_model(f"runs:/{store.run_id}/model")  # a network without a hint input
    assert plain.predict(LIGHTNESS).shape == (1, 40, 56, 2)
    with pytest.raises(Exception, match="takes no hints"):
        plain.predict(with_hints(LIGHTNESS))


def test_mlflow_models_serve_answers_a_request_with_hints_for_the_champion(store, tmp_path):
    port = free_port()
    mlflow_command = Path(sys.executable).parent / "mlflow"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-S",
            str(mlflow_command),
            "models",
            "serve",
            "-m",
            "models:/colorizer@champion",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--env-manager",
            "local",
        ],
        cwd=tmp_path,
        env=elsewhere(store),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
                    break
            except OSError:
                assert server.poll() is None and time.time() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
                time.sleep(1)
        answers = []
        for values in (with_hints(LIGHTNESS), LIGHTNESS):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=json.dumps({"inputs": values.tolist()}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as answer:
                answers.append(np.asarray(json.loads(answer.read())["predictions"], np.float32))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    from colorizer.inference.loading import load_model as load

    network = load(store.folder / "hints-colorizer.keras")
    expected = network.predict({"L": LIGHTNESS, "hints": with_hints(LIGHTNESS)[..., 1:]}, verbose=0)
    assert answers[0].shape == (1, 40, 56, 2)
    np.testing.assert_allclose(answers[0], expected, atol=1e-4)
    assert not np.allclose(answers[0], answers[1])  # the request's hints were used
