"""A photograph's path through the model, at its own size: read upright, shrunk to a working size near the
scale the network was trained at, its predicted colour (ab) enlarged back and joined to its own full-resolution
lightness (L), written in its own format.

The output has the input's exact pixel size, and its lightness is the input's up to 8-bit rounding:
colorization adds colour, never changes brightness. Colours the sRGB gamut cannot show at that lightness are
desaturated towards grey at the same luminance, not clipped (`colorizer.color.lab_to_srgb8`).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer import DOWNSAMPLING
from colorizer.atomic import replacing
from colorizer.color import AB_SCALE, lab_to_srgb8, lightness_of
from colorizer.data.images import WIDE_GRAY_MODES, UnreadableImage, open_upright, wide_gray_levels
from colorizer.hints import hint_map, read_sidecar
from colorizer.inference.loading import Network

STRIP = 256  # rows converted at a time: memory does not grow with the photograph
JPEG_QUALITY = 95
SAVE_AS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
SAVE_OPTIONS = {
    "JPEG": {"quality": JPEG_QUALITY},
    "WEBP": {"quality": JPEG_QUALITY},
    "TIFF": {"compression": "tiff_lzw"},
    "PNG": {"compress_level": 1},
}  # zlib level 1: 2.5x faster than 6 on 12 MP, files 13% larger


@dataclass
class Photo:
    """A photograph as the model colours it: its own pixels and alpha, and its lightness at the working size."""

    pixels: np.ndarray  # (H, W) gray or (H, W, 3) RGB, uint8 or uint16, upright
    alpha: np.ndarray | None  # (H, W) uint8, kept as it was
    small: np.ndarray  # (h, w) L at the working size, what the network sees
    hints: np.ndarray | None = None  # (h, w, 3) the hint map at the working size (`colorizer.hints`), if any


def working_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(h, w): the long side ``size`` (or the photograph's own, if smaller), the aspect kept, both sides
    rounded to multiples of `DOWNSAMPLING`."""
    scale = min(1.0, size / max(height, width))
    return tuple(max(DOWNSAMPLING, round(side * scale / DOWNSAMPLING) * DOWNSAMPLING) for side in (height, width))


def split_channels(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode as (pixels, alpha): gray or RGB integer codes, and the alpha channel if there is one."""
    if image.mode in WIDE_GRAY_MODES:
        return (wide_gray_levels(image) * 65535.0 + 0.5).astype(np.uint16), None
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L")), None
    if image.mode in ("LA", "La"):
        gray_alpha = np.asarray(image.convert("LA"))
        return gray_alpha[..., 0], gray_alpha[..., 1]
    if image.mode in ("RGBA", "RGBa", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"))
        return rgba[..., :3], rgba[..., 3]
    return np.asarray(image.convert("RGB")), None


def shrink(pixels: np.ndarray, working: tuple[int, int]) -> np.ndarray:
    """L at the working size (h, w) of a photograph's (or a video frame's) gray or RGB pixels."""
    h, w = working
    # Pillow resizes 8-bit gray, RGB and 16-bit gray (I;16) with antialiasing, like `colorizer.data.images.resize`.
    return lightness_of(np.asarray(Image.fromarray(pixels).resize((w, h), Image.Resampling.BILINEAR)))


def read_photo(path: str | Path, size: int, hints_file: str | Path | None = None) -> Photo:
    """The photograph at ``path``, upright, with its lightness at the working size, and the hint map of
    ``hints_file`` when one is given; `UnreadableImage` if the photograph cannot be read, `BadHints` if the
    hints cannot be used."""
    image = open_upright(path)
    try:
        pixels, alpha = split_channels(image)
    except (OSError, ValueError) as error:
        raise UnreadableImage(f"cannot convert a {image.mode} image: {error}") from None
    height, width = pixels.shape[:2]
    h, w = working_size(height, width, size)
    hints = None
    if hints_file is not None:  # points in pixels of the photograph as displayed: upright, as `pixels` is
        hints = hint_map(read_sidecar(hints_file, height, width), (height, width), (h, w))
    return Photo(pixels, alpha, shrink(pixels, (h, w)), hints)


def predict_photos(model: Network, photos: list[Photo]) -> np.ndarray:
    """The network's ab / 128 [n, h, w, 2] for photographs of one working size, each with its hints if it has
    any (`colorizer.inference.predict.network_input`; none for a model without a hint input)."""
    from colorizer.inference.predict import network_input, takes_hints

    lightness = np.stack([photo.small for photo in photos])[..., None]
    maps = None
    if takes_hints(model):
        maps = np.stack(
            [np.zeros((*photo.small.shape, 3), np.float32) if photo.hints is None else photo.hints for photo in photos]
        )
    return np.asarray(model.predict_on_batch(network_input(model, lightness, maps)), np.float32)


def enlarge(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of one float32 channel to (height, width)."""
    return np.asarray(Image.fromarray(channel).resize((width, height), Image.Resampling.BILINEAR))


def colorize_photo(photo: Photo, ab_scaled: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    """The full-resolution colour photograph (uint8 RGB, or RGBA when the input had alpha) from the network's
    ab / 128 at the working size and the photograph's own lightness."""
    height, width = photo.pixels.shape[:2]
    scale = np.float32(AB_SCALE * saturation)
    a, b = (enlarge(np.ascontiguousarray(ab_scaled[..., i]) * scale, height, width) for i in range(2))
    out = np.empty((height, width, 3 if photo.alpha is None else 4), np.uint8)
    for top in range(0, height, STRIP):
        rows = slice(top, top + STRIP)
        out[rows, :, :3] = lab_to_srgb8(lightness_of(photo.pixels[rows]), a[rows], b[rows])
    if photo.alpha is not None:
        out[..., 3] = photo.alpha
    return out


def output_name(relative: Path) -> Path:
    """The output's path: the input's, with BMP (and any format Pillow cannot write back) as PNG."""
    return relative if relative.suffix.lower() in SAVE_AS else relative.with_suffix(".png")


def save(pixels: np.ndarray, path: Path) -> None:
    """Write atomically in the format of ``path``'s suffix (`output_name`): a crash or Ctrl-C never leaves a
    half-written file at ``path``."""
    fmt = SAVE_AS[path.suffix.lower()]
    with replacing(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt, **SAVE_OPTIONS[fmt])
