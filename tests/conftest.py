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
