"""Colour hints: a user says what colour a thing is, and the network follows.

A hint-taking network (`colorizer.network.builder`, ``train.hints``) reads, besides L, a hint map [H, W, 3]: the a and b
(/ 128) of the hinted pixels and a mask that is 1 where there is a hint, 0 elsewhere (the input of Zhang et al.,
"Real-Time User-Guided Image Colorization with Learned Deep Priors", SIGGRAPH 2017). Without hints the map is
all zeros, and the network colours on its own.

A user writes hints in a sidecar, ``<photograph's file name>.hints.json`` (`read_sidecar`):
``{"points": [{"x": 120, "y": 64, "color": "#a03c28", "size": 6}]}``, in pixels of the photograph as it is
displayed (after its EXIF orientation), origin top-left; ``color`` is sRGB hex, of which only the colour
(a, b) counts, not its lightness; ``size`` (optional) is the side of the square the colour covers, by
default `default_size` (1/40 of the photograph's long side, 6 pixels on a 256-pixel one).

Hints made by the project itself take the same form: training simulates them from the truth
(`colorizer.training.simulated_hints`), evaluation draws them from the truth as Zhang et al.'s sweep does
(`colorizer.evaluation.hint_sweep`).
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorizer import HINT_CHANNELS
from colorizer.color import AB_SCALE, srgb_to_lab

SUFFIX = ".hints.json"
CHANNELS = HINT_CHANNELS  # a / 128, b / 128, mask
KEYS = {"x", "y", "color", "size"}
HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class BadHints(ValueError):
    """A hints file that cannot be used; the message names the file and, where there is one, the point."""


@dataclass(frozen=True)
class Hint:
    """One hint in pixels of the photograph: the square of side ``size`` whose top-left corner is
    (``x`` - size // 2, ``y`` - size // 2), of the colour ``ab`` (Lab a and b)."""

    x: float
    y: float
    ab: tuple[float, float]
    size: float
    lightness: float = 50.0  # only for writing the colour as sRGB hex: the network reads a and b alone


def sidecar_of(photo: Path | str) -> Path:
    """The hints file beside a photograph: ``photo.jpg`` -> ``photo.jpg.hints.json``."""
    photo = Path(photo)
    return photo.with_name(photo.name + SUFFIX)


def is_sidecar(path: Path | str) -> bool:
    return Path(path).name.lower().endswith(SUFFIX)


def default_size(height: int, width: int) -> int:
    """The side of a hint's square when its point gives none: 1/40 of the long side, at least 1 pixel."""
    return max(1, round(max(height, width) / 40))


def parse_colour(text: object) -> tuple[float, float]:
    """The Lab (a, b) of an sRGB hex colour ("#a03c28" or "#a32"); ValueError if it does not parse."""
    match = HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f'color {text!r} is not an sRGB hex colour such as "#a03c28"')
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    rgb = np.array([[[int(digits[i : i + 2], 16) for i in (0, 2, 4)]]], np.uint8)
    lab = srgb_to_lab(rgb)[0, 0]
    return float(lab[1]), float(lab[2])


def colour_hex(lab: np.ndarray | tuple[float, float, float]) -> str:
    """The sRGB hex of a Lab colour (out-of-gamut colours brought into it as `colorizer.color` does)."""
    from colorizer.color import lab_to_srgb8

    lab = np.asarray(lab, np.float32).reshape(1, 1, 3)
    rgb = lab_to_srgb8(lab[..., 0], lab[..., 1], lab[..., 2])[0, 0]
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def parse_hints(data: object, height: int, width: int, name: str = "hints") -> list[Hint]:
    """The hints of a parsed sidecar for a photograph of ``height`` x ``width`` (as displayed); `BadHints`
    naming ``name`` and the point for anything wrong: not an object with a "points" list, an unknown key, a
    missing or non-numeric coordinate, a point outside the photograph, a colour that does not parse, a size
    below 1."""
    if not isinstance(data, dict) or set(data) - {"points"} or not isinstance(data.get("points"), list):
        unknown = sorted(set(data) - {"points"}) if isinstance(data, dict) else []
        detail = f"unknown key {unknown[0]!r}; " if unknown else ""
        expected = '{"points": [{"x": .., "y": .., "color": "#rrggbb"}, ...]}'
        raise BadHints(f"{name}: {detail}expected {expected}")
    hints = []
    for i, point in enumerate(data["points"]):
        where = f"{name}: point {i + 1}"
        if not isinstance(point, dict):
            raise BadHints(f"{where} is not an object with x, y and color")
        unknown = sorted(set(point) - KEYS)
        if unknown:
            raise BadHints(f"{where}: unknown key {unknown[0]!r} (a point has x, y, color and optionally size)")
        for key in ("x", "y", "color"):
            if key not in point:
                raise BadHints(f"{where}: no {key!r}")
        x, y, size = point["x"], point["y"], point.get("size", default_size(height, width))
        for key, value in (("x", x), ("y", y), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise BadHints(f"{where}: {key} {value!r} is not a number")
        if not (0 <= x < width and 0 <= y < height):
            raise BadHints(
                f"{where}: ({x}, {y}) is outside the photograph, which is {width}x{height} "
                f"(x 0..{width - 1}, y 0..{height - 1})"
            )
        if size < 1:
            raise BadHints(f"{where}: size {size} is below 1 pixel")
        try:
            ab = parse_colour(point["color"])
        except ValueError as error:
            raise BadHints(f"{where}: {error}") from None
        hints.append(Hint(float(x), float(y), ab, float(size)))
    return hints


def read_json(path: Path | str) -> object:
    """The parsed JSON of a hints file (a photograph's or a video's); `BadHints` naming it if it cannot be read
    or parsed."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except (OSError, UnicodeDecodeError) as error:
        raise BadHints(f"{path}: cannot read it: {getattr(error, 'strerror', None) or error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadHints(f"{path}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None


def read_sidecar(path: Path | str, height: int, width: int) -> list[Hint]:
    """The hints in the file ``path`` for a photograph of ``height`` x ``width``; `BadHints` if unusable."""
    return parse_hints(read_json(path), height, width, str(path))


def write_sidecar(path: Path | str, hints: list[Hint]) -> None:
    """Write ``hints`` as a sidecar (atomically), each colour as the sRGB hex of its Lab."""
    from colorizer.atomic import write_json

    points = [{"x": h.x, "y": h.y, "color": colour_hex((h.lightness, *h.ab)), "size": h.size} for h in hints]
    write_json(path, {"points": points})


# ---------------------------------------------------------------------------------------------------------
# Hint maps


def square(hint: Hint, shape: tuple[int, ...], working: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of ``hint``'s square in an image of ``working`` = (h, w) pixels, from a
    photograph of ``shape`` = (H, W): the square's extent scaled, at least one pixel, kept inside."""
    (height, width), (h, w) = shape[:2], working
    sy, sx = h / height, w / width
    y0, x0 = hint.y - hint.size // 2, hint.x - hint.size // 2
    top, left = int(np.floor(y0 * sy + 1e-6)), int(np.floor(x0 * sx + 1e-6))
    bottom = max(top + 1, int(np.ceil((y0 + hint.size) * sy - 1e-6)))
    right = max(left + 1, int(np.ceil((x0 + hint.size) * sx - 1e-6)))
    top, left = min(max(top, 0), h - 1), min(max(left, 0), w - 1)
    return top, left, min(max(bottom, top + 1), h), min(max(right, left + 1), w)


def hint_map(hints: list[Hint], shape: tuple[int, ...], working: tuple[int, int]) -> np.ndarray:
    """The network's hint input [h, w, 3] (a / 128, b / 128, mask) for ``hints`` on a photograph of ``shape``
    (H, W), at the working size ``working`` = (h, w). Where squares overlap, their colours are averaged, as in
    training (`colorizer.training.simulated_hints.paint_from_truth`)."""
    h, w = working
    total = np.zeros((h, w, 2), np.float32)
    count = np.zeros((h, w), np.float32)
    for hint in hints:
        top, left, bottom, right = square(hint, shape, working)
        total[top:bottom, left:right] += np.asarray(hint.ab, np.float32) / AB_SCALE
        count[top:bottom, left:right] += 1
    out = np.zeros((h, w, CHANNELS), np.float32)
    out[..., :2] = total / np.maximum(count, 1)[..., None]
    out[..., 2] = count > 0
    return out
