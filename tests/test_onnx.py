"""The colorizer as an ONNX file (`colorizer.inference.onnx_export`), coloured on ONNX Runtime
(`colorizer.inference.onnx_model`) without TensorFlow: the same colours as the Keras model, hints included, and no
TensorFlow or Keras imported.

Two conversions in all, shared: the trained hint-taking regression network of conftest (`hint_model`), and a small
untrained hint-free ensemble with the distribution head (the custom read-out layers, their bin centres).
"""

import json
import subprocess
import sys
import tomllib

import numpy as np
import pytest
from PIL import Image

from colorizer import hints as H
from colorizer.apps import colorize as C
from colorizer.inference.loading import load_model
from colorizer.inference.photo import read_photo
from colorizer.inference.predict import HintsNotSupported, network_input
from conftest import REPO, venv_env, write_photos

BLOCKED = ("tensorflow", "keras", "tf_keras")
# Put first on PYTHONPATH, this makes every import of TensorFlow or Keras fail, and notes each attempt.
SITECUSTOMIZE = f"""
import importlib.abc, os, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            with open(os.environ["BLOCKED_LOG"], "a") as log:
                log.write(name + "\\n")
            raise ImportError(f"{{name}} is not installed here (tests/test_onnx.py)")
        return None

sys.meta_path.insert(0, Blocker())
"""
RED = "#c03020"
# Run in the same blocked subprocess: colorize-studio on the ONNX file, over HTTP, a red point on the grey square.
STUDIO = """
import io, json, sys, urllib.request
import numpy as np
from PIL import Image
from colorizer.inference.loading import load_model
from colorizer.apps.studio.server import serve_in_background
from colorizer.apps.studio.workspace import Studio

folder, output, model = sys.argv[1:4]
studio = Studio(load_model(model), __import__("pathlib").Path(folder), __import__("pathlib").Path(output))
studio.warm_up()
server = serve_in_background(studio)
url = "http://127.0.0.1:%d/" % server.server_address[1]

def ask(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return answer.read()

info = json.loads(ask("api/info"))
opened = json.loads(ask("api/open?name=square.png"))
points = [{"x": 15, "y": 15, "color": "#c03020", "size": 3}]
picture = np.asarray(Image.open(io.BytesIO(ask("api/colour", {"id": opened["id"], "points": points}))))
saved = json.loads(ask("api/save", {"id": opened["id"], "points": points}))
red_minus_green = float(picture[10:22, 10:22, 0].mean() - picture[10:22, 10:22, 1].mean())
print(json.dumps({"info": info, "red_minus_green": red_minus_green, "saved": saved}))
server.shutdown()
"""


@pytest.fixture(scope="module")
def hint_onnx(hint_model, tmp_path_factory):
    """The trained hint-taking regression network of conftest, exported to ONNX: (.keras path, .onnx path)."""
    from colorizer.inference.onnx_export import write_onnx

    path = tmp_path_factory.mktemp("onnx") / "hints.onnx"
    assert write_onnx(load_model(hint_model), path) < 0.01  # checked against Keras on writing
    return hint_model, path


@pytest.fixture(scope="module")
def distribution_onnx(tmp_path_factory):
    """A small untrained hint-free ensemble of two unets with the distribution head and a read-out set, as a
    .keras file and as ONNX: (.keras path, .onnx path)."""
    import keras

    from colorizer.inference.onnx_export import write_onnx
    from colorizer.network import readout
    from colorizer.network.builder import build
    from colorizer.network.readout import set_vividness

    keras.utils.set_random_seed(5)
    model = build("unet", width=4, head="distribution", members=2, global_context=True)
    for layer in model.layers:  # logits far from uniform, so that the read-out gives real colours to compare
        if layer.name.endswith("logits") and layer.weights:
            layer.kernel.assign(layer.kernel * 40.0)
    set_vividness(model, temperature=0.6, rebalance=0.25, saturation=1.2)
    weights = readout.annealed_mean(model).log_weights  # as training sets them: rebalance then counts
    weights.assign(np.random.default_rng(5).normal(0.0, 1.0, weights.shape).astype(np.float32))
    folder = tmp_path_factory.mktemp("onnx")
    model.save(folder / "distribution.keras")
    write_onnx(model, folder / "distribution.onnx")
    return folder / "distribution.keras", folder / "distribution.onnx"


def gray_square_photo(path):
    """A 32x32 mid-grey photograph with a brighter 16x16 square: only a hint says the square's colour."""
    lightness = np.full((32, 32), 50.0, np.float32)
    lightness[8:24, 8:24] = 75.0
    gray = (np.clip(((lightness + 16) / 116) ** 3, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray).save(path)
    return path


def lab_of(path):
    from skimage import color as skcolor

    return skcolor.rgb2lab(np.asarray(Image.open(path).convert("RGB")))


# ---------------------------------------------------------------------------------------------------------
# The file


def test_the_onnx_file_takes_l_and_hints_only_and_says_what_it_is(hint_onnx, distribution_onnx):
    """Keras' own export made the distribution head's bin centres a second input; here they are constants."""
    import onnx

    with_hints, alone = load_model(hint_onnx[1]), load_model(distribution_onnx[1])
    assert with_hints.inputs == ["L", "hints"] and alone.inputs == ["L"]
    for model in (with_hints, alone):
        shapes = {value.name: value.shape for value in [*model.runtime.get_inputs(), *model.runtime.get_outputs()]}
        assert shapes["L"] == ["n", "H", "W", 1] and shapes["ab"] == ["n", "H", "W", 2]
    assert shapes.keys() == {"L", "ab"}
    assert alone.head == "distribution" and alone.read_out == {"saturation": 1.2, "temperature": 0.6, "rebalance": 0.25}
    assert with_hints.head == "regression" and with_hints.name == "unet_regression_hints"
    graph = onnx.load(str(distribution_onnx[1])).graph
    assert [value.name for value in graph.input] == ["L"] and not list(graph.sparse_initializer)
    # The forms that ONNX Runtime runs slowly are rewritten (`onnx_export`): no Softmax over the channel axis,
    # no emulated symmetric padding, and the two members' logits one convolution, not two and a LogSoftmax.
    kinds = [node.op_type for node in graph.node]
    assert {"Softmax", "LogSoftmax", "ScatterElements", "Compress"}.isdisjoint(kinds)
    assert "edge" in [
        attribute.s.decode()
        for node in graph.node
        if node.op_type == "Pad"
        for attribute in node.attribute
        if attribute.name == "mode"
    ]
    assert [p.name for p in distribution_onnx[1].parent.iterdir()] == ["distribution.keras", "distribution.onnx"]


def test_onnx_runtime_colours_within_a_lab_unit_of_keras_at_any_size_and_batch(hint_onnx, distribution_onnx, tmp_path):
    """colorize's own path (read_photo, network_input, predict_on_batch) with each model, on photographs of
    several sizes, batches of 1 and 3, with and without hints."""
    sources = write_photos(tmp_path / "a", 3, size=(48, 64)) + write_photos(
        tmp_path / "b", 1, size=(37, 101), start_seed=9
    )
    hints = H.parse_hints(
        {"points": [{"x": 20, "y": 10, "color": RED, "size": 5}, {"x": 50, "y": 30, "color": "#2060c0"}]}, 48, 64
    )
    largest = 0.0
    for keras_path, onnx_path in (hint_onnx, distribution_onnx):
        keras_model, onnx_model = load_model(str(keras_path)), load_model(str(onnx_path))
        for group, size in ((sources[:3], 64), (sources[:1], 40), (sources[3:], 256)):
            photos = [read_photo(source, size) for source in group]
            lightness = np.stack([photo.small for photo in photos])[..., None]
            maps = None
            if keras_path == hint_onnx[0]:
                maps = np.zeros((*lightness.shape[:3], 3), np.float32)
                if lightness.shape[1:3] == (48, 64):
                    maps[0] = H.hint_map(hints, (48, 64), (48, 64))
            inputs = network_input(keras_model, lightness, maps)
            expected = np.asarray(keras_model.predict_on_batch(inputs), np.float32)
            got = onnx_model.predict_on_batch(network_input(onnx_model, lightness, maps))
            assert got.shape == expected.shape == (*lightness.shape[:3], 2)
            assert np.abs(expected).max() > 0.05  # colours, not grey: a comparison that can fail
            largest = max(largest, float(np.abs(got - expected).max() * 128))
    assert largest < 1.0, f"ONNX Runtime is {largest:.3f} Lab units away from Keras"


# ---------------------------------------------------------------------------------------------------------
# colorize with the .onnx, TensorFlow and Keras unimportable


def test_colorize_with_the_onnx_file_runs_where_tensorflow_and_keras_cannot_be_imported(hint_onnx, tmp_path):
    """A subprocess in which importing tensorflow, keras or tf_keras fails: colorize colours photographs and
    follows a sidecar's hint, and nothing tried to import them."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "blocked.log"
    env = venv_env(PYTHONPATH=f"{blocker}:{REPO}", BLOCKED_LOG=str(log))
    probe = subprocess.run([sys.executable, "-c", "import keras"], env=env, capture_output=True, text=True)
    assert probe.returncode == 1 and "is not installed here" in probe.stderr  # the blocker works
    log.unlink()

    photos = write_photos(tmp_path / "in", 2, size=(48, 64))
    square = gray_square_photo(tmp_path / "in" / "square.png")
    (tmp_path / "in" / "square.png.hints.json").write_text(
        json.dumps({"points": [{"x": 15, "y": 15, "color": RED, "size": 3}]})
    )
    plain = gray_square_photo(tmp_path / "plain" / "plain.png")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorizer.apps.colorize",
            str(tmp_path / "in"),
            str(plain),
            "-o",
            str(tmp_path / "out"),
            "--model",
            str(hint_onnx[1]),
            "-q",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not log.exists(), f"tried to import {log.read_text().split()}"
    assert "4 of 4 photographs coloured" in result.stderr and "(1 with hints)" in result.stderr
    for photo in photos:
        with Image.open(tmp_path / "out" / photo.name) as image:
            assert image.size == (64, 48) and image.mode == "RGB"
    hinted, alone = lab_of(tmp_path / "out" / square.name), lab_of(tmp_path / "out" / plain.name)
    assert hinted[10:22, 10:22, 1].mean() > 25  # the hinted square is red
    assert abs(alone[10:22, 10:22, 1:]).mean() < 12  # without the hint it stays close to grey

    # colorize-studio on the ONNX file: the page's requests colour with the point and save, without suggestions
    (tmp_path / "in" / "square.png.hints.json").unlink()
    result = subprocess.run(
        [sys.executable, "-c", STUDIO, str(tmp_path / "in"), str(tmp_path / "studio"), str(hint_onnx[1])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not log.exists(), f"tried to import {log.read_text().split()}"
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["info"]["hints"] is True and answer["info"]["suggestions"] is False
    assert answer["red_minus_green"] > 20  # the point turned the square red
    saved = lab_of(tmp_path / "studio" / "square.png")
    assert saved[10:22, 10:22, 1].mean() > 25 and answer["saved"]["hints"].endswith("square.png.hints.json")


def test_colorize_gives_the_same_photographs_with_the_onnx_file_as_with_the_keras_file(hint_onnx, tmp_path):
    photos = write_photos(tmp_path / "in", 2, size=(40, 72))
    for kind, model in (("keras", hint_onnx[0]), ("onnx", hint_onnx[1])):
        assert C.main([str(tmp_path / "in"), "-o", str(tmp_path / kind), "--model", str(model), "-q"]) == 0
    for photo in photos:
        difference = np.abs(lab_of(tmp_path / "keras" / photo.name) - lab_of(tmp_path / "onnx" / photo.name))
        assert difference.max() < 2.0  # within a Lab unit, and 8-bit rounding


# ---------------------------------------------------------------------------------------------------------
# What it refuses


def test_a_hint_free_onnx_model_refuses_hints_as_the_keras_model_does(distribution_onnx, tmp_path, capsys):
    keras_model, onnx_model = load_model(str(distribution_onnx[0])), load_model(str(distribution_onnx[1]))
    lightness = np.full((1, 16, 16, 1), 50.0, np.float32)
    maps = np.zeros((1, 16, 16, 3), np.float32)
    maps[0, 4, 4] = (0.3, 0.2, 1.0)
    messages = []
    for model in (keras_model, onnx_model):
        with pytest.raises(HintsNotSupported) as error:
            network_input(model, lightness, maps)
        messages.append(str(error.value))
    assert messages[0] == messages[1] and "takes no hints" in messages[0]

    photo = gray_square_photo(tmp_path / "in" / "square.png")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"points": [{"x": 15, "y": 15, "color": RED}]}))
    assert (
        C.main(
            [str(photo), "-o", str(tmp_path / "out"), "--model", str(distribution_onnx[1]), "-q", "--hints", str(hints)]
        )
        == 2
    )
    assert "takes no hints (it was trained without them)" in capsys.readouterr().err
    (tmp_path / "in" / "square.png.hints.json").write_text(hints.read_text())
    assert C.main([str(photo.parent), "-o", str(tmp_path / "out"), "--model", str(distribution_onnx[1]), "-q"]) == 1
    assert "but the model takes none" in capsys.readouterr().err


def test_suggest_and_temperature_say_they_need_the_keras_model(distribution_onnx, tmp_path, capsys):
    photo = gray_square_photo(tmp_path / "in" / "square.png")
    assert C.main([str(photo), "--suggest", "10,10", "--model", str(distribution_onnx[1])]) == 2
    assert "--suggest needs the Keras model" in capsys.readouterr().err
    assert (
        C.main([str(photo), "-o", str(tmp_path / "out"), "--model", str(distribution_onnx[1]), "--temperature", "0.38"])
        == 2
    )
    assert "--temperature needs the Keras model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_an_onnx_model_is_refused_with_status_2(tmp_path, capsys):
    photo = gray_square_photo(tmp_path / "in" / "square.png")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    assert C.main([str(photo), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "broken.onnx"), "-q"]) == 2
    assert "cannot load the model" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# The install


def test_the_base_install_and_the_onnx_extra_leave_tensorflow_out_and_the_test_extra_has_both():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    name = lambda requirement: requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip()  # noqa
    extras = project["optional-dependencies"]
    colour_only = {name(r) for r in project["dependencies"] + extras["onnx"]}
    assert colour_only >= {"numpy", "pillow", "onnxruntime"}
    assert not colour_only & {"tensorflow", "keras", "mlflow", "dvc", "tf2onnx", "scikit-image"}
    assert {"tensorflow", "keras", "dvc", "mlflow", "tf2onnx"} <= {name(r) for r in extras["pipeline"]}
    assert "colorizer[pipeline,onnx]" in extras["test"]
    pinned = {line.split("==")[0].lower() for line in (REPO / "constraints.txt").read_text().split()}
    assert {"onnx", "onnxruntime", "tf2onnx"} <= pinned
