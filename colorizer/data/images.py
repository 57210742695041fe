"""Finding and reading photographs: every format Pillow reads (the first frame of an animation), upright
(EXIF orientation), as RGB."""

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


class UnreadableImage(Exception):
    """A file that cannot be used as a photograph; the message says why."""


def find_images(folder: str | Path) -> list[Path]:
    """Every file under ``folder`` (recursively, following folder links once each, hidden files and folders
    skipped), as sorted relative paths. No file is left out by its name: Pillow knows an image by its
    content (a GIF, a PPM, a JPEG without an extension), and a file it cannot read is skipped by the reader
    with the reason (`open_upright`), so nothing is passed over without a word."""
    folder = Path(folder)
    found, visited = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in visited:  # a link back up the tree
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith("."):
                found.append((Path(root) / name).relative_to(folder))
    return sorted(found, key=lambda p: p.as_posix())


def open_upright(path: str | Path, at_least: int | None = None) -> Image.Image:
    """Open an image with EXIF orientation applied; any failure is an `UnreadableImage` saying why.

    Pillow's decompression-bomb warning is treated as an error: an image that large is skipped, not
    decoded into gigabytes of memory. With ``at_least``, a JPEG is decoded at 1/2, 1/4 or 1/8 scale (in the
    DCT, several times faster) as long as both its sides stay at least ``at_least`` pixels.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage("empty file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if at_least and image.format == "JPEG":
                image.draft(None, (at_least, at_least))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy when it is upright already
            return image
    except UnreadableImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnreadableImage(f"too large (decompression-bomb limit): {error}") from None
    except Image.UnidentifiedImageError:
        raise UnreadableImage("not an image Pillow can identify") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableImage(f"cannot decode: {error}") from None


# Grayscale modes of more than 8 bits (16-bit PNG and TIFF, 32-bit integer and float).
WIDE_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def wide_gray_levels(image: Image.Image) -> np.ndarray:
    """A `WIDE_GRAY_MODES` image's grey levels, float64 in [0, 1]: values up to 255 are read as 8-bit ones
    (some files store 8-bit data in a 16-bit mode), larger ones as 16-bit."""
    values = np.asarray(image, dtype=np.float64)
    peak = 65535.0 if values.max() > 255 else 255.0
    return np.clip(values, 0.0, peak) / peak


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode (grayscale, palette, 16-bit, RGBA, CMYK) as 8-bit RGB; transparency composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode in WIDE_GRAY_MODES:  # scaled to 8 bits rather than clipped at 255
        return Image.fromarray((wide_gray_levels(image) * 255.0 + 0.5).astype(np.uint8)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def read_rgb(path: str | Path, at_least: int | None = None) -> Image.Image:
    """The photograph at ``path``, upright and RGB (with ``at_least``: see `open_upright`)."""
    return to_rgb(open_upright(path, at_least))


def resize(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized (antialiased: Pillow's bilinear filter widened by the reduction) to ``size`` =
    (height, width), as a uint8 array: how every stored photograph is made."""
    height, width = size
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
