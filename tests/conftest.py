"""Shared test helpers: small generated photographs whose colour follows from their lightness."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage import color as skcolor

REPO = Path(__file__).resolve().parents[1]


def lightness_coded_rgb(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth random scene whose colour is a function of lightness: dark is blue, bright is orange."""
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.normal(size=(height, width)), sigma=max(height, width) / 10)
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    lightness = 15 + 75 * field
    a = 0.9 * (lightness - 50)
    b = 1.2 * (lightness - 50)
    rgb = skcolor.lab2rgb(np.stack([lightness, a, b], axis=-1).astype(np.float32))
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


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
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (REPO / name).is_file() and not name.startswith(("metrics/", "tests/")) and name != "dvc.lock":
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)


def prepare_config(images, **overrides) -> dict:
    """params.yaml's prepare section, validated as the stage does, for the photographs in ``images``: made
    small (32x32 training and test images, no test subfolder, one worker) unless ``overrides`` say otherwise."""
    from colorizer.data.preparation import check_params
    from colorizer.params import load

    cfg = {
        **load("prepare", REPO / "params.yaml"),
        "images": str(images),
        "train_size": [32, 32],
        "test_size": [32, 32],
        "test_subfolder": None,
        "workers": 1,
    }
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
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


class MlflowServer:
    """A real `mlflow server` on 127.0.0.1: SQLite backend, artifacts served by the server itself."""

    def __init__(self, folder: Path):
        self.folder, self.proc, self.port = folder, None, None
        self.artifacts = folder / "artifacts"

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MlflowServer":
        """Start it (on its old port if it ran before); `ready` waits until it answers (it takes a while to
        start: do other work first)."""
        self.port = self.port or free_port()
        cmd = [
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'server.db'}",
            "--artifacts-destination",
            str(self.artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        log = open(self.folder / "server.log", "a")
        env = venv_env()
        env.pop("PYTEST_CURRENT_TEST", None)
        # its own process group, so that the server and its workers are stopped (or killed) together
        self.proc = subprocess.Popen(
            cmd, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def ready(self) -> "MlflowServer":
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mlflow server exited:\n{(self.folder / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise AssertionError("mlflow server did not answer /health within 180 s")

    def alive(self) -> "MlflowServer":
        """Running and answering: started again, on the same port and store, if a test killed it."""
        if self.proc.poll() is not None:
            self.start()
        return self.ready()

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


# Session fixtures that cost a minute or more to build, and the test modules that use each: every test of those
# modules runs on one xdist worker, which builds the fixture once (the other workers never need it). The groups
# run first, the costliest first, so that the other workers take the rest beside them rather than one worker
# finishing a group alone at the end. (By module name, because xdist's scheduler sees test ids only; collection
# checks that the lists are complete.)
SHARED_ON_ONE_WORKER = {
    "repro_project": ("test_pipeline.py", "test_scale_out.py"),
    "hint_model": ("test_hints.py", "test_onnx.py", "test_studio.py", "test_video.py"),
}
GROUP_OF_MODULE = {module: name for name, modules in SHARED_ON_ONE_WORKER.items() for module in modules}
RANK = {name: order for order, name in enumerate(SHARED_ON_ONE_WORKER)}


def pytest_collection_modifyitems(items):
    for item in items:
        module = Path(str(item.fspath)).name
        for name in SHARED_ON_ONE_WORKER:
            if name in item.fixturenames and GROUP_OF_MODULE.get(module) != name:
                raise pytest.UsageError(f"{module} uses {name}: add it to SHARED_ON_ONE_WORKER in tests/conftest.py")
    items.sort(key=lambda item: RANK.get(GROUP_OF_MODULE.get(Path(str(item.fspath)).name), len(RANK)))  # stable


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, a scope being a group of `SHARED_ON_ONE_WORKER` or else a single test."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return GROUP_OF_MODULE.get(Path(nodeid.split("::", 1)[0]).name, nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: a worker a core, at most 4 (each worker imports TensorFlow and builds its own session fixtures)."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
# The small pipeline of the end-to-end tests: 14 photographs, 32x32, two epochs of a width-4 network.
SMALL_PIPELINE = {
    "prepare.images": "photos",
    "prepare.train_size": [32, 32],
    "prepare.test_size": [32, 32],
    "train.crops_per_image": 2,
    "train.epochs": 2,
    "train.width": 4,
    "train.batch_size": 8,
    "render.count": 3,
}


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory):
    """One `mlflow server` for the session; a test that kills it is followed by `alive()` in the next user."""
    made = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield made
    made.stop()


class Repro:
    """The outcome of `repro_project`: the folder, what `dvc repro` printed, and the local store's files
    (none: the repro logged to the tracking server)."""

    def __init__(self, root: Path, first: subprocess.CompletedProcess, local_store: list[str], server: MlflowServer):
        self.root, self.first, self.local_store, self.server = root, first, local_store, server

    def copy(self, folder: Path) -> Path:
        """A copy of the project after the repro (its git history, DVC's cache and run cache) to change at will:
        its outputs are plain files there, not hard links into the cache; its MLflow runs are the server's."""
        shutil.copytree(self.root, folder, symlinks=True)
        return folder


@pytest.fixture(scope="session")
def repro_project(tmp_path_factory, tracking_server) -> Repro:
    """A copy of the project (as git sees it) with small params and its photographs under DVC, committed,
    after one `dvc repro` that logged to the session's `mlflow server` (its outputs and dvc.lock not committed).
    Read it only: `Repro.copy` gives a folder to change."""
    root = tmp_path_factory.mktemp("e2e") / "project"
    copy_project(root)
    write_photos(root / "photos", 14, size=(40, 48))
    set_params(root, **SMALL_PIPELINE)
    run(["git", "init", "-q"], root)
    run(["dvc", "add", "-q", "photos"], root)
    run(["git", "add", "-A"], root)
    run(GIT + ["commit", "-qm", "copy"], root)
    first = run(["dvc", "repro"], root, env=venv_env(MLFLOW_TRACKING_URI=tracking_server.ready().uri))
    local_store = [name for name in ("mlflow.db", "mlartifacts") if (root / name).exists()]
    assert json.loads((root / "models/mlflow-run.json").read_text())["tracking_uri"] == tracking_server.uri
    return Repro(root, first, local_store, tracking_server)


@pytest.fixture(scope="session")
def prepared_data(tmp_path_factory) -> Path:
    """Prepared shards of 24 photographs (40x40, stored for 32x32 training crops): 14 train, 7 val, 3 test
    rows in shards of 16, for the trainings of several modules to read (never to change)."""
    return prepared_shards(tmp_path_factory.mktemp("prepared"), split_seed=0)


def prepared_shards(root: Path, split_seed: int) -> Path:
    """``root/prepared``: 24 photographs of 40x40 (written to ``root/photos``) prepared for 32x32 training crops,
    split 0.65 / 0.25 / 0.1 with ``split_seed``, in shards of 16."""
    from colorizer.data.preparation import prepare

    write_photos(root / "photos", 24, size=(40, 40))
    config = prepare_config(
        root / "photos",
        crop_scale=0.6,
        splits={"train": 0.65, "val": 0.25, "test": 0.1},
        split_seed=split_seed,
        shard_size=16,
    )
    prepare(config, root / "prepared")
    return root / "prepared"


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
        lab[n, top : top + side, left : left + side, 0] += rng.choice([-25, 25])
        lab[n, top : top + side, left : left + side, 1:] = rng.uniform(-60, 60, 2)
    return lab


@pytest.fixture(scope="session")
def hint_model(tmp_path_factory):
    """A small regression-head unet that follows hints, trained on `scenes` with points simulated as training
    simulates them (the test modules of hints and of the studio share it)."""
    import keras

    from colorizer.color import AB_SCALE
    from colorizer.network.builder import build
    from colorizer.training.simulated_hints import draw_training_points, paint_from_truth

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    lab = scenes(rng, 768)
    ab = lab[..., 1:] / AB_SCALE
    points = draw_training_points(rng, len(lab), (32, 32), stop=0.2, sides=(2, 5), spread=0.3)
    maps = np.asarray(paint_from_truth(ab, points))
    model = build("unet", width=8, head="regression", with_hints=True)
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="mse")
    model.fit({"L": lab[..., :1], "hints": maps}, ab, batch_size=32, epochs=30, verbose=0)
    path = tmp_path_factory.mktemp("hints") / "hints.keras"
    model.save(path)
    return path


def moving_scene(frames: int, height: int = 48, width: int = 64, cut_at: int | None = None) -> np.ndarray:
    """RGB uint8 [frames, H, W, 3]: a grey textured background and a coloured square (brighter than it) that
    moves right by 1 pixel a frame; from ``cut_at`` on, another shot (a darker background, a blue disc)."""
    rng = np.random.default_rng(0)
    background = 100 + 40 * gaussian_filter(rng.normal(size=(height, width + frames)), 2)
    out = np.empty((frames, height, width, 3), np.uint8)
    yy, xx = np.mgrid[:height, :width]
    for t in range(frames):
        if cut_at is not None and t >= cut_at:
            grey = 0.5 * background[:, t : t + width]
            frame = np.repeat(grey[..., None], 3, axis=-1)
            disc = (yy - height / 2) ** 2 + (xx - width / 3 - (t - cut_at)) ** 2 < (height / 5) ** 2
            frame[disc] = (40, 80, 200)
        else:
            frame = np.repeat(background[:, frames - t : frames - t + width, None], 3, axis=-1).copy()
            top, left = height // 4, 4 + t
            frame[top : top + height // 2, left : left + height // 2] = (200, 60, 40)
        out[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def write_clip(
    path,
    frames: np.ndarray,
    rate: int = 24,
    audio: bool = False,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    pts: list[int] | None = None,
) -> Path:
    """Encode RGB frames [n, H, W, 3] as a video at ``path`` (its suffix picks the container): at ``rate`` frames
    a second, or at the timestamps ``pts`` in milliseconds (a variable frame rate); with a display rotation
    (degrees counter-clockwise); with a second of a 440 Hz tone as AAC when ``audio``."""
    from fractions import Fraction

    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[index], Fraction(1, 1000)
            container.mux(stream.encode(frame))
            if sound is not None and index == 0:
                tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)[None]
                samples = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                samples.sample_rate = 44100
                container.mux(sound.encode(samples))
        container.mux(stream.encode(None))
        if sound is not None:
            container.mux(sound.encode(None))
    return path
