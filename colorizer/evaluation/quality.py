"""Colour-quality metrics, following the protocol in the project guide.

PSNR and SSIM on RGB uint8 (scikit-image), colour MSE on ab in Lab units, and the colorfulness of
Hasler and Suesstrunk (2003) on 0-255 RGB, which PSNR alone cannot see (grey output scores well on PSNR).
"""

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorizer.color import lab_image_to_srgb8

PSNR_CAP = 100.0  # dB: identical images (a grey photo and the zero-chroma baseline) score this, not infinity


def psnr(truth_rgb8: np.ndarray, predicted_rgb8: np.ndarray) -> float:
    if np.array_equal(truth_rgb8, predicted_rgb8):
        return PSNR_CAP
    return min(PSNR_CAP, float(peak_signal_noise_ratio(truth_rgb8, predicted_rgb8, data_range=255)))


def ssim(truth_rgb8: np.ndarray, predicted_rgb8: np.ndarray) -> float:
    return float(structural_similarity(truth_rgb8, predicted_rgb8, channel_axis=-1, data_range=255))


def ab_mse(truth_lab: np.ndarray, predicted_lab: np.ndarray) -> float:
    """Mean squared error of a and b, in Lab units (not divided by 128)."""
    diff = truth_lab[..., 1:].astype(np.float64) - predicted_lab[..., 1:]
    return float(np.mean(diff**2))


def colorfulness(rgb8: np.ndarray) -> float:
    """Hasler and Suesstrunk's colorfulness of one RGB image with values 0..255."""
    r, g, b = (rgb8[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = (r + g) / 2.0 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def psnr_of_lab(truth_lab: np.ndarray, predicted_lab: np.ndarray) -> float:
    """PSNR of two Lab images through the same sRGB conversion as `image_scores`."""
    return psnr(lab_image_to_srgb8(truth_lab), lab_image_to_srgb8(predicted_lab))


def image_scores(truth_lab: np.ndarray, predicted_lab: np.ndarray) -> dict:
    """Every metric for one image pair given in Lab, each converted to sRGB as `colorize` converts (colours
    outside the gamut mixed with grey at their own luminance, `colorizer.color.lab_to_srgb8`)."""
    truth8 = lab_image_to_srgb8(truth_lab)
    predicted8 = lab_image_to_srgb8(predicted_lab)
    return {
        "psnr": psnr(truth8, predicted8),
        "ssim": ssim(truth8, predicted8),
        "ab_mse": ab_mse(truth_lab, predicted_lab),
        "colorfulness": colorfulness(predicted8),
        "colorfulness_truth": colorfulness(truth8),
    }
