"""Shared test helpers: small generated photographs whose colour follows from their lightness."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from colorizer.color import lab_to_rgb, to_uint8

REPO = Path(__file__).resolve().parents[1]


def lightness_coded_rgb(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth random scene whose colour is a function of lightness: dark is blue, bright is orange."""
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.normal(size=(height, width)), sigma=max(height, width) / 10)
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    lightness = 15 + 75 * field
    a = 0.9 * (lightness - 50)
    b = 1.2 * (lightness - 50)
    return to_uint8(lab_to_rgb(np.stack([lightness, a, b], axis=-1)))


def write_photos(folder, count: int, size=(48, 64), start_seed: int = 0, ext: str = "png") -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo_{start_seed + i:03d}.{ext}"
        Image.fromarray(lightness_coded_rgb(*size, seed=start_seed + i)).save(path)
        paths.append(path)
    return paths


def copy_project(root: Path) -> None:
    """The project as git sees it (tracked and untracked, not ignored), without its outputs and tests."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file() and not name.startswith(("metrics/", "tests/")) and name != "dvc.lock":
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)


def prepare_config(images, **overrides) -> dict:
    """params.yaml's prepare section, validated as the stage does, for the photographs in ``images``: made
    small (32x32 training and test images, no test subfolder, one worker) unless ``overrides`` say otherwise."""
    from colorizer.params import load
    from stages.prepare import check_params

    cfg = {**load("prepare", REPO / "params.yaml"), "images": str(images), "train_size": [32, 32],
           "test_size": [32, 32], "test_subfolder": None, "workers": 1}
    cfg.update({key: list(value) if isinstance(value, tuple) else value for key, value in overrides.items()})
    return check_params(cfg)


def set_params(project, **changes):
    """Change ``section.key`` values of the params.yaml in folder ``project``."""
    from colorizer.params import update

    update(Path(project) / "params.yaml", changes)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stage_command(name: str) -> list[str]:
    """The command dvc.yaml runs for stage ``name``, as a list (to run a stage as DVC would, without DVC)."""
    import yaml

    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]["cmd"].split()


def venv_env(**extra) -> dict:
    """The environment for subprocesses: this interpreter's bin folder first, so `python` and `dvc` are ours."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DVC_ROOT", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def run(cmd, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env or venv_env(), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


@pytest.fixture
def photos(tmp_path):
    write_photos(tmp_path / "photos", 12)
    return tmp_path / "photos"


def scenes(rng, count, size=32):
    """Lab [count, size, size, 3]: a mid-grey background (no colour) with a brighter or darker square of a
    random colour. Lightness says where the square is but never its colour: only a hint can."""
    lab = np.zeros((count, size, size, 3), np.float32)
    lab[..., 0] = 50 + rng.normal(0, 1.5, (count, size, size))
    for n in range(count):
        side = rng.integers(10, 18)
        top, left = rng.integers(0, size - side, 2)
        lab[n, top:top + side, left:left + side, 0] += rng.choice([-25, 25])
        lab[n, top:top + side, left:left + side, 1:] = rng.uniform(-60, 60, 2)
    return lab


@pytest.fixture(scope="session")
def hint_model(tmp_path_factory):
    """A small regression-head unet that follows hints, trained on `scenes` with points simulated as training
    simulates them (the test modules of hints and of the studio share it)."""
    import keras

    from colorizer import hints as H
    from colorizer.color import AB_SCALE
    from colorizer.network.model import build

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    lab = scenes(rng, 768)
    ab = lab[..., 1:] / AB_SCALE
    points = H.draw_training_points(rng, len(lab), (32, 32), stop=0.2, sides=(2, 5), spread=0.3)
    maps = np.asarray(H.paint_from_truth(ab, points))
    model = build("unet", width=8, head="regression", with_hints=True)
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="mse")
    model.fit({"L": lab[..., :1], "hints": maps}, ab, batch_size=32, epochs=30, verbose=0)
    path = tmp_path_factory.mktemp("hints") / "hints.keras"
    model.save(path)
    return path
