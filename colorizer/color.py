"""Colour conventions, in one place.

RGB is float32 in [0, 1]; L is in [0, 100]; the network's target is ab / 128, in [-1, 1].
The saved model takes raw L and returns ab / 128 (its normalisation is inside it), so callers only
ever convert between RGB and Lab with the functions here.
"""

import functools

import numpy as np

AB_SCALE = 128.0

# Prepared data holds Lab at one byte a channel: L in steps of 100/255 (0.39), a and b rounded to whole Lab
# units and offset by 128 (sRGB's a and b stay within -87..99 and -108..95). The rounding adds 1/12 Lab unit
# squared to the ab error, a thousandth of what the networks make.
L_PER_CODE = 100.0 / 255.0
AB_OFFSET = 128.0

# sRGB primaries and D65 white, as in skimage.color.
XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB).astype(np.float32)
LUMINANCE = XYZ_FROM_RGB[1].astype(np.float32)  # Y of linear RGB; the weights add up to 1
WHITE = (0.95047, 1.0, 1.08883)


# ---------------------------------------------------------------------------------------------------------
# Fast conversions: float32, planar, through lookup tables; exact to scikit-image within 1e-3.
# scikit-image's rgb2lab works in float64 on interleaved pixels: 3.7 ms for a 184x272 photograph where
# `srgb_to_lab` takes 0.9 ms (one core, BENCHMARKS.md), and 4.5 s and 1 GB for a 12-megapixel photograph.


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """Linear light (float64) of sRGB values in [0, 1]."""
    v = np.asarray(v, np.float64)
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


@functools.cache
def linear_table(levels: int) -> np.ndarray:
    """Linear light of each code of an 8-bit (levels=256) or 16-bit (65536) sRGB channel."""
    return srgb_to_linear(np.arange(levels) / (levels - 1)).astype(np.float32)


@functools.cache
def srgb8_table(steps: int = 65536) -> np.ndarray:
    """The rounded 8-bit sRGB code of linear light i / (steps - 1): encoding without a power per pixel."""
    v = np.arange(steps) / (steps - 1)
    srgb = np.where(v > 0.0031308, 1.055 * v ** (1 / 2.4) - 0.055, 12.92 * v)
    return (np.clip(srgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def lightness_of(pixels: np.ndarray) -> np.ndarray:
    """CIE L (0..100, float32) of integer sRGB pixels: (H, W) grayscale or (H, W, 3), uint8 or uint16."""
    table = linear_table(256 if pixels.dtype == np.uint8 else 65536)
    if pixels.ndim == 2:
        y = table[pixels]
    else:
        y = table[pixels[..., 0]] * LUMINANCE[0]
        y += table[pixels[..., 1]] * LUMINANCE[1]
        y += table[pixels[..., 2]] * LUMINANCE[2]
    return 116.0 * _f(y) - 16.0


def _f(t: np.ndarray) -> np.ndarray:
    """CIE f: the cube root, linear near black; float32 in, float32 out."""
    out = np.cbrt(t)
    dark = t <= 0.008856
    if dark.any():
        np.copyto(out, np.float32(7.787) * t + np.float32(16 / 116), where=dark)
    return out


def _f_inverse(t: np.ndarray) -> np.ndarray:
    """The inverse of `_f`."""
    return np.where(t > 0.2068966, t * t * t, (t - np.float32(16 / 116)) / 7.787)


def lab_to_linear_rgb(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lab -> XYZ (D65) -> linear sRGB [..., 3], unclipped: a colour outside the sRGB gamut has a channel
    outside 0..1 (the dtype follows the inputs')."""
    fy = (lightness + 16.0) / 116.0
    xyz = np.stack(
        np.broadcast_arrays(
            _f_inverse(fy + a / 500.0) * WHITE[0], _f_inverse(fy), _f_inverse(fy - b / 200.0) * WHITE[2]
        ),
        -1,
    )
    return xyz @ RGB_FROM_XYZ.T


def srgb_to_lab(pixels: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) to float32 Lab, as ``skimage.color.rgb2lab`` computes it (within 1e-3).

    uint8 and uint16 codes go through a table of their linear light; float RGB is taken in [0, 1]
    (clipped). Each channel is done as a plane, with the D65 white folded into the matrix.
    """
    if pixels.dtype in (np.uint8, np.uint16):
        table = linear_table(256 if pixels.dtype == np.uint8 else 65536)
        linear = [table[pixels[..., i]] for i in range(3)]
    else:
        clipped = np.clip(pixels, 0.0, 1.0).astype(np.float32)
        linear = [srgb_to_linear(clipped[..., i]).astype(np.float32) for i in range(3)]
    f = []
    for row in XYZ_FROM_RGB / np.array(WHITE)[:, None]:  # X / Xn, Y / Yn, Z / Zn
        t = np.float32(row[0]) * linear[0]
        t += np.float32(row[1]) * linear[1]
        t += np.float32(row[2]) * linear[2]
        f.append(_f(t))
    fx, fy, fz = f
    lab = np.empty(pixels.shape, np.float32)
    np.multiply(fy, np.float32(116), out=lab[..., 0])
    lab[..., 0] -= np.float32(16)
    np.subtract(fx, fy, out=lab[..., 1])
    lab[..., 1] *= np.float32(500)
    np.subtract(fy, fz, out=lab[..., 2])
    lab[..., 2] *= np.float32(200)
    return lab


def lab_to_srgb8(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) L, a, b in Lab units -> (H, W, 3) uint8 sRGB, with the luminance of ``lightness`` kept exactly.

    A colour outside the sRGB gamut is mixed with the grey of the same luminance, in linear light, just
    enough to fit: that keeps its lightness and hue, where clipping each channel would change both.
    """
    fy = (lightness + 16.0) / 116.0
    y = np.clip(_f_inverse(fy), 0.0, 1.0)  # luminance, and the linear RGB of the grey of that lightness
    x = _f_inverse(fy + a / 500.0) * np.float32(WHITE[0])
    z = _f_inverse(fy - b / 200.0) * np.float32(WHITE[2])
    m = RGB_FROM_XYZ
    rgb = [m[i, 0] * x + m[i, 1] * y + m[i, 2] * z for i in range(3)]  # planar: 10x faster than (H, W, 3)
    high, low = np.maximum(np.maximum(*rgb[:2]), rgb[2]), np.minimum(np.minimum(*rgb[:2]), rgb[2])
    outside = (high > 1.0) | (low < 0.0)
    if outside.any():
        y_out, high, low = y[outside], high[outside], low[outside]
        keep = np.ones_like(y_out)
        over, under = high > 1.0, low < 0.0
        keep[over] = (1.0 - y_out[over]) / np.maximum(high[over] - y_out[over], 1e-12)
        keep[under] = np.minimum(keep[under], y_out[under] / np.maximum(y_out[under] - low[under], 1e-12))
        for channel in rgb:
            channel[outside] = y_out + np.clip(keep, 0.0, 1.0) * (channel[outside] - y_out)
    table = srgb8_table()
    out = np.empty(lightness.shape + (3,), np.uint8)
    for i, channel in enumerate(rgb):
        np.clip(channel, 0.0, 1.0, out=channel)
        out[..., i] = table[(channel * (len(table) - 1) + 0.5).astype(np.int32)]
    return out


def lab_image_to_srgb8(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) in Lab units -> uint8 sRGB (..., 3) by `lab_to_srgb8`: what `colorize` writes, so what
    evaluate scores and the gallery shows."""
    return lab_to_srgb8(lab[..., 0], lab[..., 1], lab[..., 2])


def lab_to_codes(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) in Lab units -> uint8 codes (L / `L_PER_CODE`, ab + `AB_OFFSET`, rounded and clipped)."""
    codes = np.empty(lab.shape, np.float32)
    np.multiply(lab[..., 0], np.float32(1 / L_PER_CODE), out=codes[..., 0])
    np.add(lab[..., 1:], np.float32(AB_OFFSET), out=codes[..., 1:])
    np.rint(codes, out=codes)
    return np.clip(codes, 0, 255).astype(np.uint8)


def codes_to_lab(codes: np.ndarray) -> np.ndarray:
    """uint8 Lab codes (`lab_to_codes`) -> float32 Lab units."""
    lab = codes.astype(np.float32)
    lab[..., 0] *= np.float32(L_PER_CODE)
    lab[..., 1:] -= np.float32(AB_OFFSET)
    return lab


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
