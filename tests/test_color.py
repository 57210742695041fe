import numpy as np
import pytest
from skimage import color as skcolor

from colorizer.color import AB_SCALE, gray_lab, lab_image_to_srgb8, merge_lab, srgb_to_lab


def skimage_srgb8(lab: np.ndarray) -> np.ndarray:
    """scikit-image's Lab -> sRGB, clipped and rounded to the nearest 8-bit code."""
    return (np.clip(skcolor.lab2rgb(lab), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def test_fast_lab_matches_skimage_on_every_code_of_each_channel():
    # Every 8-bit code in each channel against a random other two, plus the darkest codes (the linear
    # segments of sRGB and of CIE f) in every combination.
    rng = np.random.default_rng(0)
    codes = np.arange(256, dtype=np.uint8)
    rows = [
        np.stack([codes, rng.permutation(codes), rng.permutation(codes)], -1)[:, perm]
        for perm in ([0, 1, 2], [1, 0, 2], [1, 2, 0])
    ]
    dark = np.stack(np.meshgrid(*[np.arange(16, dtype=np.uint8)] * 3, indexing="ij"), -1).reshape(16, 256, 3)
    rgb = np.concatenate([np.stack(rows), dark, rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)])
    lab = srgb_to_lab(rgb)
    assert lab.dtype == np.float32 and lab.shape == rgb.shape
    assert np.abs(lab - skcolor.rgb2lab(rgb)).max() < 1e-3


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_fast_lab_matches_skimage_for_16_bit_and_float_rgb_and_batches(dtype):
    rng = np.random.default_rng(1)
    if dtype == np.uint16:
        rgb = rng.integers(0, 65536, (2, 24, 32, 3), dtype=np.uint16)
    else:
        rgb = rng.random((2, 24, 32, 3)).astype(dtype)
    lab = srgb_to_lab(rgb)
    assert lab.dtype == np.float32 and lab.shape == rgb.shape
    assert np.abs(lab - skcolor.rgb2lab(rgb)).max() < 1e-3


def test_lab_round_trip_is_lossless_on_uint8():
    """Back by the conversion `colorize` writes with, and by scikit-image's: both give every code again, the
    darkest ones (the linear segments) included."""
    rng = np.random.default_rng(0)
    dark = np.stack(np.meshgrid(*[np.arange(16, dtype=np.uint8)] * 3, indexing="ij"), -1).reshape(16, 256, 3)
    rgb = np.concatenate([rng.integers(0, 256, size=(240, 256, 3), dtype=np.uint8), dark])
    lab = srgb_to_lab(rgb)
    assert lab.dtype == np.float32
    assert 0 <= lab[..., 0].min() and lab[..., 0].max() <= 100
    np.testing.assert_array_equal(lab_image_to_srgb8(lab), rgb)
    np.testing.assert_array_equal(skimage_srgb8(lab), rgb)


def test_gray_has_zero_chroma_and_keeps_lightness():
    lab = srgb_to_lab(np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8))
    gray = gray_lab(lab[..., :1])
    np.testing.assert_array_equal(gray[..., 0], lab[..., 0])
    assert not gray[..., 1:].any()
    for rgb in (lab_image_to_srgb8(gray).astype(int), skimage_srgb8(gray).astype(int)):
        assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 1 and np.abs(rgb[..., 1] - rgb[..., 2]).max() <= 1


def test_merge_lab_scales_network_output_to_lab_units():
    lightness = np.full((2, 4, 4, 1), 60.0, np.float32)
    ab = np.full((2, 4, 4, 2), 0.25, np.float32)
    lab = merge_lab(lightness, ab)
    assert lab.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(lab[..., 1:], 0.25 * AB_SCALE)
    np.testing.assert_allclose(lab[..., 0], 60.0)
