import math

import numpy as np
import pytest

from colorizer.evaluation.quality import PSNR_CAP, ab_mse, colorfulness, image_scores, psnr, ssim


def test_psnr_of_a_known_error():
    truth = np.full((10, 10, 3), 100, np.uint8)
    predicted = truth + 5  # MSE 25
    assert psnr(truth, predicted) == pytest.approx(10 * math.log10(255**2 / 25))


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    assert ssim(image, image) == pytest.approx(1.0)
    assert ssim(image, 255 - image) < 0.5


def test_ab_mse_is_in_lab_units():
    truth = np.zeros((4, 4, 3), np.float32)
    predicted = truth.copy()
    predicted[..., 1] = 10.0  # a off by 10, b exact: mean over both channels = 50
    assert ab_mse(truth, predicted) == pytest.approx(50.0)


def test_colorfulness_by_hand():
    assert colorfulness(np.full((5, 5, 3), 128, np.uint8)) == pytest.approx(0.0)
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255  # rg = 255, yb = 127.5, no spread: 0.3 * hypot(255, 127.5)
    assert colorfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    half = red.copy()
    half[0] = 0  # half black: std(rg) = 127.5, std(yb) = 63.75, means 127.5 and 63.75
    assert colorfulness(half) == pytest.approx(math.hypot(127.5, 63.75) * 1.3)


def test_image_scores_of_a_perfect_prediction():
    lab = np.stack([np.full((16, 16), 50.0), np.full((16, 16), 20.0), np.full((16, 16), -10.0)], -1)
    scores = image_scores(lab.astype(np.float32), lab.astype(np.float32))
    assert scores["ab_mse"] == 0.0 and scores["psnr"] == PSNR_CAP and scores["ssim"] == pytest.approx(1.0)
    assert scores["colorfulness"] == scores["colorfulness_truth"] > 0


def test_scores_are_of_the_colours_colorize_writes():
    """A prediction outside the sRGB gamut is scored as `colorize` writes it (mixed with grey at its own
    luminance), not as a channel-clipped conversion, which changes its lightness and hue."""
    from skimage import color as skcolor

    from colorizer.color import gray_lab, lab_to_srgb8

    predicted = np.zeros((8, 8, 3), np.float32)
    predicted[...] = (60.0, 90.0, -90.0)  # a violet no screen shows
    written = lab_to_srgb8(predicted[..., 0], predicted[..., 1], predicted[..., 2])
    clipped = (np.clip(skcolor.lab2rgb(predicted), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    assert not np.array_equal(written, clipped)
    assert colorfulness(written) != pytest.approx(colorfulness(clipped))
    scores = image_scores(gray_lab(predicted[..., :1]), predicted)
    assert scores["colorfulness"] == pytest.approx(colorfulness(written))
