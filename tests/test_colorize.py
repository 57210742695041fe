"""The ``colorize`` command, end to end through ``main()``, with a tiny model trained here.

The model learns a colour that follows lightness (bright -> a, b > 0, warm; dark -> a, b < 0, cool), so a
test can tell learned colour from noise without a real training run.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor

from colorizer.apps import colorize as C
from colorizer.apps.files import colorize_files
from colorizer.color import lab_to_srgb8, lightness_of
from colorizer.inference.loading import load_model
from colorizer.inference.photo import working_size
from colorizer.native_logs import NATIVE_LOG

REPO = Path(__file__).resolve().parents[1]


def target_ab(lightness):
    """The colour the tiny model is taught: ab / 128 = 0.5 (L / 50 - 1), for a and b alike."""
    return np.repeat(0.5 * (lightness / 50.0 - 1.0), 2, axis=-1)


def smooth_lightness(rng, count, height, width):
    """Photograph-like L in [5, 95]: a few random low-frequency waves."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    images = []
    for _ in range(count):
        field = 0
        for angle in rng.uniform(0, np.pi, 3):
            fx, fy, phase = rng.uniform(0.3, 2), rng.uniform(0.3, 2), rng.uniform(0, 2 * np.pi)
            field = field + np.sin(2 * np.pi * (fx * x * np.cos(angle) + fy * y * np.sin(angle)) + phase)
        images.append(50 + 45 * field / 3)
    return np.stack(images)[..., None].astype(np.float32)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    import keras

    from colorizer.network.builder import build

    keras.utils.set_random_seed(0)
    lightness = smooth_lightness(np.random.default_rng(0), 96, 32, 32)
    # The default arch: its bilinear upsampling is what makes a new input size need a new trace.
    model = build("unet", width=4)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(lightness, target_ab(lightness), batch_size=16, epochs=25, verbose=0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def gray_photo(height, width, seed=0, darkest=10, brightest=90):
    """uint8 grayscale, photograph-like: L from ``darkest`` (left) to ``brightest`` (right) under low waves."""
    waves = smooth_lightness(np.random.default_rng(seed), 1, height, width)[0, ..., 0] - 50
    lightness = np.clip(np.linspace(darkest, brightest, width)[None, :] + 0.2 * waves, 0, 100)
    rgb = skcolor.lab2rgb(np.stack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)], -1))
    return (rgb[..., 0] * 255 + 0.5).astype(np.uint8)


def lab_of(path):
    return skcolor.rgb2lab(np.asarray(Image.open(path).convert("RGB")))


def skimage_lightness(pixels):
    pixels = np.asarray(pixels)
    rgb = np.repeat(pixels[..., None], 3, -1) if pixels.ndim == 2 else pixels[..., :3]
    return skcolor.rgb2lab(rgb)[..., 0]


def run(model_path, *args):
    return C.main([*map(str, args), "--model", str(model_path), "--quiet"])


# ---------------------------------------------------------------------------------------------------------
# The conversions: exact to scikit-image


def test_lightness_matches_skimage():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    gray16 = rng.integers(0, 65536, (64, 80), dtype=np.uint16)
    assert np.abs(lightness_of(rgb) - skcolor.rgb2lab(rgb)[..., 0]).max() < 1e-3
    reference = skcolor.rgb2lab(np.repeat(gray16[..., None], 3, -1) / 65535.0)[..., 0]
    assert np.abs(lightness_of(gray16) - reference).max() < 1e-3


def test_lab_to_srgb8_matches_skimage_in_gamut():
    rgb = np.random.default_rng(2).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    lab = skcolor.rgb2lab(rgb).astype(np.float32)
    out = lab_to_srgb8(lab[..., 0], lab[..., 1], lab[..., 2])
    assert np.abs(out.astype(int) - rgb).max() <= 1
    assert np.mean(out == rgb) > 0.999


def test_out_of_gamut_colour_keeps_lightness():
    rng = np.random.default_rng(3)
    lightness = rng.uniform(0, 100, (64, 80)).astype(np.float32)
    a, b = rng.uniform(-128, 127, (2, 64, 80)).astype(np.float32)
    out = lab_to_srgb8(lightness, a, b)
    back = skcolor.rgb2lab(out)
    assert np.abs(back[..., 0] - lightness).max() < 0.5  # 8-bit rounding only; clipping would move it by 10s
    assert np.hypot(back[..., 1], back[..., 2]).mean() > 20  # still coloured, not greyed out


@pytest.mark.parametrize(
    "height, width, size, expected",
    [
        (3000, 4000, 256, (192, 256)),
        (667, 1001, 256, (168, 256)),
        (1001, 667, 512, (512, 344)),
        (23, 37, 256, (24, 40)),
        (3, 5, 256, (8, 8)),
    ],
)
def test_working_size(height, width, size, expected):
    assert working_size(height, width, size) == expected


# ---------------------------------------------------------------------------------------------------------
# The command


@pytest.mark.parametrize("height, width", [(667, 1001), (1001, 667), (23, 37)])
def test_gray_photo_gets_colour_at_its_own_size_and_lightness(model_path, tmp_path, height, width):
    gray = gray_photo(height, width)
    Image.fromarray(gray).save(tmp_path / "old.png")
    assert run(model_path, tmp_path / "old.png", "-o", tmp_path / "out") == 0
    out = Image.open(tmp_path / "out" / "old.png")
    assert (out.mode, out.size) == ("RGB", (width, height))
    lab = skcolor.rgb2lab(np.asarray(out))
    assert np.abs(lab[..., 0] - skimage_lightness(gray)).max() < 0.5
    # The learned colour: warm where bright, cool where dark, and clearly not grey.
    bright, dark = lab[..., 0] > 70, lab[..., 0] < 30
    assert lab[..., 1][bright].mean() > 5 and lab[..., 2][bright].mean() > 5
    assert lab[..., 1][dark].mean() < -5 and lab[..., 2][dark].mean() < -5


def test_rgb_photo_colour_is_dropped_first(model_path, tmp_path):
    gray = gray_photo(120, 160)
    lightness = skimage_lightness(gray)
    # The same lightness, painted the opposite of what the model predicts (cool where bright).
    painted = skcolor.lab2rgb(np.stack([lightness, -30 * np.ones_like(lightness), -30 * np.ones_like(lightness)], -1))
    painted = (np.clip(painted, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(painted).save(tmp_path / "painted.png")
    assert run(model_path, tmp_path / "painted.png", "-o", tmp_path / "out") == 0
    lab = lab_of(tmp_path / "out" / "painted.png")
    assert np.abs(lab[..., 0] - skimage_lightness(painted)).max() < 0.5
    bright = lab[..., 0] > 70
    assert lab[..., 1][bright].mean() > 5 and lab[..., 2][bright].mean() > 5


def test_rgba_keeps_its_alpha(model_path, tmp_path):
    gray = gray_photo(61, 83)
    alpha = np.random.default_rng(4).integers(0, 256, gray.shape, dtype=np.uint8)
    Image.fromarray(np.dstack([gray, gray, gray, alpha])).save(tmp_path / "cut-out.png")
    assert run(model_path, tmp_path / "cut-out.png", "-o", tmp_path / "out") == 0
    out = np.asarray(Image.open(tmp_path / "out" / "cut-out.png"))
    assert out.shape == (61, 83, 4)
    assert np.array_equal(out[..., 3], alpha)
    assert np.abs(skimage_lightness(out) - skimage_lightness(gray)).max() < 0.5


def test_exif_rotated_photo_comes_out_upright(model_path, tmp_path):
    upright = np.zeros((90, 60), np.uint8)
    upright[:30] = 40  # dark band at the top of the upright photograph, bright below
    upright[30:] = 220
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view": stored lying on its side
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    assert stored.size == (90, 60)
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=98)
    assert run(model_path, tmp_path / "phone.jpg", "-o", tmp_path / "out") == 0
    out = Image.open(tmp_path / "out" / "phone.jpg")
    assert out.size == (60, 90)
    assert out.getexif().get(0x0112, 1) == 1  # no viewer will rotate it again
    lightness = skcolor.rgb2lab(np.asarray(out))[..., 0]
    assert lightness[:25].mean() < 25 and lightness[35:].mean() > 80


def test_16_bit_and_palette_photos(model_path, tmp_path):
    noise = np.random.default_rng(5).integers(-128, 129, (45, 71))
    gray16 = np.clip(gray_photo(45, 71).astype(np.int64) * 257 + noise, 0, 65535).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "scan16.png")
    assert Image.open(tmp_path / "scan16.png").mode == "I;16"
    Image.fromarray(gray_photo(45, 71, seed=1)).convert("P").save(tmp_path / "palette.png")
    assert run(model_path, tmp_path, "-o", tmp_path / "out") == 0
    out16 = np.asarray(Image.open(tmp_path / "out" / "scan16.png"))
    reference = skcolor.rgb2lab(np.repeat(gray16[..., None], 3, -1) / 65535.0)[..., 0]
    assert out16.shape == (45, 71, 3) and np.abs(skimage_lightness(out16) - reference).max() < 0.6
    palette_in = np.asarray(Image.open(tmp_path / "palette.png").convert("RGB"))
    palette_out = np.asarray(Image.open(tmp_path / "out" / "palette.png"))
    assert palette_out.shape == (45, 71, 3)
    assert np.abs(skimage_lightness(palette_out) - skimage_lightness(palette_in)).max() < 0.5


def test_saturation(model_path, tmp_path):
    # Mid-tones, where the sRGB gamut leaves room for twice the predicted colour.
    Image.fromarray(gray_photo(80, 100, darkest=40, brightest=60)).save(tmp_path / "old.png")
    chroma = {}
    for saturation in (0, 0.5, 1, 2):
        out = tmp_path / f"x{saturation}"
        assert run(model_path, tmp_path / "old.png", "-o", out, "--saturation", saturation) == 0
        lab = lab_of(out / "old.png")
        chroma[saturation] = np.hypot(lab[..., 1], lab[..., 2]).mean()
    assert chroma[0] < 1.0
    assert chroma[1] > 5
    assert chroma[0.5] == pytest.approx(0.5 * chroma[1], rel=0.1)
    assert chroma[2] == pytest.approx(2 * chroma[1], rel=0.1)


def test_batches_give_the_same_colours_as_single_photos(model_path, tmp_path):
    model = load_model(model_path)
    sources = []
    for i, size in enumerate([(40, 56), (40, 56), (40, 56), (56, 40), (40, 56)]):
        sources.append(tmp_path / f"{i}.png")
        Image.fromarray(gray_photo(*size, seed=i)).save(sources[-1])
    for batch_size in (1, 3):
        pairs = [(s, tmp_path / f"b{batch_size}" / s.name) for s in sources]
        assert colorize_files(model, pairs, batch_size=batch_size, progress=False) == []
    for s in sources:
        one, three = (np.asarray(Image.open(tmp_path / f"b{n}" / s.name), int) for n in (1, 3))
        assert np.abs(one - three).max() <= 1


def test_folders_are_mirrored_and_a_broken_file_is_skipped(model_path, tmp_path, capsys):
    photos = tmp_path / "photos"
    (photos / "1950s" / "summer").mkdir(parents=True)
    Image.fromarray(gray_photo(33, 47)).save(photos / "first.jpg")
    Image.fromarray(gray_photo(47, 33, seed=2)).save(photos / "1950s" / "summer" / "beach.bmp")
    (photos / "1950s" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (photos / "empty.png").write_bytes(b"")
    frames = [Image.fromarray(gray_photo(20, 30, darkest=d, brightest=d + 20)).convert("P") for d in (10, 70)]
    frames[0].save(photos / "animated.gif", save_all=True, append_images=frames[1:])  # its first frame
    (photos / "notes.txt").write_text("summer 1950")  # not an image: named as skipped, not passed over
    assert run(model_path, photos, "-o", tmp_path / "out") == 1
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*"))
    assert written == ["1950s", "1950s/summer", "1950s/summer/beach.png", "animated.png", "first.jpg"]
    assert Image.open(tmp_path / "out" / "first.jpg").size == (47, 33)
    assert lab_of(tmp_path / "out" / "animated.png")[..., 0].max() < 35  # the first frame (dark), not the second
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "empty.png" in err and "notes.txt: not an image" in err
    assert "3 of 6 photographs" in err


def test_bad_arguments_exit_2_before_any_work(model_path, tmp_path, capsys):
    Image.fromarray(gray_photo(20, 30)).save(tmp_path / "old.png")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "notes.keras").write_text("not a model")
    for args, message in [
        (
            (tmp_path / "old.png", tmp_path / "missing.png", "-o", tmp_path / "out"),
            "no such file or folder: " + str(tmp_path / "missing.png"),
        ),
        ((tmp_path / "old.png", "-o", tmp_path / "a-file"), "is a file; give a folder"),
        (
            (tmp_path / "old.png", "-o", tmp_path / "out", "--model", tmp_path / "notes.keras"),
            "notes.keras is not a Keras model",
        ),
    ]:
        given = [str(a) for a in args] + ([] if "--model" in args else ["--model", str(model_path)])
        assert C.main(given + ["--quiet"]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        run(model_path, tmp_path / "old.png", "-o", tmp_path / "out", "--saturation", "1e20")
    assert exited.value.code == 2 and "--saturation must be between 0 and 4" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_write_stops_the_run_at_once(model_path, tmp_path, monkeypatch, capsys):
    """A full disk or a read-only folder: the first failed write ends the run with one summary line,
    rather than colouring every other photograph only to fail to write it too."""
    for i in range(3):
        Image.fromarray(gray_photo(20, 30, seed=i)).save(tmp_path / f"old{i}.png")
    writes = []

    def disk_full(image, fp, *args, **kwargs):
        writes.append(fp)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    assert run(model_path, *sorted(tmp_path.glob("old*.png")), "-o", tmp_path / "out", "--batch-size", 1) == 1
    assert len(writes) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"colorize: stopped (cannot write {tmp_path / 'out' / 'old0.png'}: No space left on device): "
        f"0 of 3 photographs coloured into {tmp_path / 'out'}"
    ]


def test_never_overwrites_an_input(model_path, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(gray_photo(20, 30)).save(photos / "old.png")
    before = (photos / "old.png").read_bytes()
    assert run(model_path, photos, "-o", photos) == 2
    assert run(model_path, photos / "old.png", "-o", photos) == 2
    assert (photos / "old.png").read_bytes() == before
    # An output folder inside the input folder is fine, and its contents are not taken as inputs.
    assert run(model_path, photos, "-o", photos / "coloured") == 0
    assert run(model_path, photos, "-o", photos / "coloured") == 0
    assert sorted(p.name for p in (photos / "coloured").rglob("*")) == ["old.png"]
    assert (photos / "old.png").read_bytes() == before


def test_inputs_that_would_share_an_output(model_path, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(gray_photo(20, 30)).save(tmp_path / folder / "old.png")
    assert run(model_path, tmp_path / "a", tmp_path / "b", "-o", tmp_path / "out") == 2
    assert not (tmp_path / "out").exists()
    # The same file named twice (itself and through its folder) is coloured once.
    assert run(model_path, tmp_path / "a", tmp_path / "a" / "old.png", "-o", tmp_path / "out") == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old.png"]


def test_an_interrupted_write_leaves_no_half_written_file(model_path, tmp_path, monkeypatch, capsys):
    Image.fromarray(gray_photo(20, 30)).save(tmp_path / "old.png")
    out = tmp_path / "out"
    assert run(model_path, tmp_path / "old.png", "-o", out) == 0
    whole = (out / "old.png").read_bytes()

    def save_half(image, fp, *args, **kwargs):
        Path(fp).write_bytes(whole[: len(whole) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", save_half)
    assert run(model_path, tmp_path / "old.png", "-o", out, "--saturation", 2) == 130  # Ctrl-C: no traceback
    assert "colorize: stopped (interrupted): 0 of 1 photographs" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["old.png"]  # no temporary file left beside it
    assert (out / "old.png").read_bytes() == whole


def test_mlflow_model_uri(model_path, tmp_path, monkeypatch):
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_state

    # A store of this test's own; MLflow's global URI and the environment are restored afterwards.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tracking_state, "_tracking_uri", None)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("test", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as logged:
        mlflow.keras.log_model(load_model(model_path), name="model")
    Image.fromarray(gray_photo(40, 50)).save(tmp_path / "old.png")
    uri = f"runs:/{logged.info.run_id}/model"
    assert C.main([str(tmp_path / "old.png"), "-o", str(tmp_path / "out"), "--model", uri, "-q"]) == 0
    from_file = tmp_path / "from-file"
    assert run(model_path, tmp_path / "old.png", "-o", from_file) == 0
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "out" / "old.png")), np.asarray(Image.open(from_file / "old.png"))
    )


def test_python_m_exit_status(model_path, tmp_path):
    Image.fromarray(gray_photo(20, 30)).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorizer.apps.colorize",
            str(tmp_path / "good.png"),
            str(tmp_path / "bad.png"),
            "-o",
            str(tmp_path / "out"),
            "--model",
            str(model_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "bad.png" in result.stderr
    assert not [line for line in result.stderr.splitlines() if NATIVE_LOG.match(line.encode())], result.stderr
    assert (tmp_path / "out" / "good.png").is_file() and not (tmp_path / "out" / "bad.png").exists()


def test_temperature_makes_a_distribution_model_more_vivid(tmp_path):
    """--temperature sets the read-out of a distribution-head model; a regression model refuses it."""
    from colorizer.network import readout
    from colorizer.network.builder import build

    model = build("unet", width=4, head="distribution")
    # Every pixel: most likely a = +40, nearly as likely a = -40: the mean is pale, the mode is not.
    from colorizer.network.ab_bins import centers

    logits = readout.logits(model)
    kernel, bias = logits.get_weights()
    bias[:] = -5.0
    bias[centers().tolist().index([40, 0])] = 2.0
    bias[centers().tolist().index([-40, 0])] = 1.5
    logits.set_weights([np.zeros_like(kernel), bias])
    model.save(tmp_path / "dist.keras")
    gray = np.tile(np.linspace(30, 220, 64, dtype=np.uint8), (48, 1))
    Image.fromarray(gray).save(tmp_path / "in.png")
    chroma = {}
    for temperature in ("1.0", "0.3"):
        out = tmp_path / f"out{temperature}"
        assert (
            C.main(
                [
                    str(tmp_path / "in.png"),
                    "-o",
                    str(out),
                    "--model",
                    str(tmp_path / "dist.keras"),
                    "--temperature",
                    temperature,
                    "-q",
                ]
            )
            == 0
        )
        rgb = np.asarray(Image.open(out / "in.png")).astype(float)
        chroma[temperature] = np.abs(rgb - rgb.mean(-1, keepdims=True)).mean()
    assert chroma["0.3"] > 1.2 * chroma["1.0"]
    build("seed").save(tmp_path / "seed.keras")
    assert (
        C.main(
            [
                str(tmp_path / "in.png"),
                "-o",
                str(tmp_path / "x"),
                "--model",
                str(tmp_path / "seed.keras"),
                "--temperature",
                "0.5",
                "-q",
            ]
        )
        == 2
    )
