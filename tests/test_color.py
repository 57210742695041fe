import numpy as np

from stages.color import AB_SCALE, gray_lab, lab_to_rgb, merge_lab, rgb_to_lab, to_uint8


def test_lab_round_trip_is_lossless_on_uint8():
    rgb = np.random.default_rng(0).integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float32
    assert 0 <= lab[..., 0].min() and lab[..., 0].max() <= 100
    np.testing.assert_array_equal(to_uint8(lab_to_rgb(lab)), rgb)


def test_gray_has_zero_chroma_and_keeps_lightness():
    lab = rgb_to_lab(np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8))
    gray = gray_lab(lab[..., :1])
    np.testing.assert_array_equal(gray[..., 0], lab[..., 0])
    assert not gray[..., 1:].any()
    rgb = to_uint8(lab_to_rgb(gray)).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 1 and np.abs(rgb[..., 1] - rgb[..., 2]).max() <= 1


def test_merge_lab_scales_network_output_to_lab_units():
    lightness = np.full((2, 4, 4, 1), 60.0, np.float32)
    ab = np.full((2, 4, 4, 2), 0.25, np.float32)
    lab = merge_lab(lightness, ab)
    assert lab.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(lab[..., 1:], 0.25 * AB_SCALE)
    np.testing.assert_allclose(lab[..., 0], 60.0)
