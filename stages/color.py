"""Colour conventions, in one place.

RGB is float32 in [0, 1]; L is in [0, 100]; the network's target is ab / 128, in [-1, 1].
The saved model takes raw L and returns ab / 128 (its normalisation is inside it), so callers only
ever convert between RGB and Lab with the functions here.
"""

import numpy as np
from skimage import color as skcolor

AB_SCALE = 128.0
L_MAX = 100.0


def to_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or uint16) RGB to float32 in [0, 1]; float input is clipped to [0, 1]."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / 65535.0
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB (..., H, W, 3), any dtype `to_float_rgb` takes, to float32 Lab."""
    return skcolor.rgb2lab(to_float_rgb(rgb)).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., H, W, 3) to float32 RGB in [0, 1] (out-of-gamut colours clipped)."""
    return np.clip(skcolor.lab2rgb(lab.astype(np.float32)), 0.0, 1.0).astype(np.float32)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] to uint8, rounding to nearest."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def merge_lab(lightness: np.ndarray, ab_scaled: np.ndarray) -> np.ndarray:
    """Join L (..., H, W, 1) or (..., H, W) in [0, 100] with a network output ab / 128 into Lab units."""
    if lightness.ndim == ab_scaled.ndim - 1:
        lightness = lightness[..., None]
    return np.concatenate([lightness, ab_scaled * AB_SCALE], axis=-1).astype(np.float32)


def gray_lab(lightness: np.ndarray) -> np.ndarray:
    """The zero-chroma image: L as given, a = b = 0."""
    if lightness.shape[-1] != 1:
        lightness = lightness[..., None]
    return np.concatenate([lightness, np.zeros(lightness.shape[:-1] + (2,), np.float32)], axis=-1)
