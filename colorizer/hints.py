"""Colour hints: a user says what colour a thing is, and the network follows.

A hint-taking network (`colorizer.network.model`, ``train.hints``) reads, besides L, a hint map [H, W, 3]: the a and b
(/ 128) of the hinted pixels and a mask that is 1 where there is a hint, 0 elsewhere (the input of Zhang et al.,
"Real-Time User-Guided Image Colorization with Learned Deep Priors", SIGGRAPH 2017). Without hints the map is
all zeros, and the network colours on its own.

Where hints come from:
- Training simulates them from the truth (`draw_training_points`, on the host, seeded like the crops, then
  `paint_from_truth` in the training graph): Zhang et al.'s recipe, a point added while a uniform draw stays
  above ``stop`` (1/8: 12.5% of crops get none, 7 on average), each a square of side ``sides`` (uniform, 1..9
  pixels) at a position normal around the centre (sigma ``spread`` of the side), of the truth's mean colour.
- Evaluation draws them as Zhang et al.'s sweep does (`sweep_points`): 6x6 squares, positions normal around the
  centre with a quarter of the side as sigma, the first N of one seeded sequence, so N points are a subset of
  N + 1's.
- A user writes them in a sidecar, ``<photograph's file name>.hints.json`` (`read_sidecar`):
  ``{"points": [{"x": 120, "y": 64, "color": "#a03c28", "size": 6}]}``, in pixels of the photograph as it is
  displayed (after its EXIF orientation), origin top-left; ``color`` is sRGB hex, of which only the colour
  (a, b) counts, not its lightness; ``size`` (optional) is the side of the square the colour covers, by
  default `default_size` (1/40 of the photograph's long side, 6 pixels on a 256-pixel one).

`nearest_point_colours` is the propagation with no learning that a hint-taking network must beat: each pixel
takes the colour of its nearest hint.
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
MAX_POINTS = 64  # training: at most this many points a crop (Zhang et al.'s draw exceeds it once in 5,000)
POINT_FIELDS = ("top", "left", "side", "valid")  # a drawn point, in pixels of the crop
SWEEP_SIDE = 6  # Zhang et al.'s sweep: each point a 6x6 square of the truth's mean colour
SWEEP_COUNTS = (0, 1, 2, 5, 10, 20, 50)
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


def sidecar_of(photo) -> Path:
    """The hints file beside a photograph: ``photo.jpg`` -> ``photo.jpg.hints.json``."""
    photo = Path(photo)
    return photo.with_name(photo.name + SUFFIX)


def is_sidecar(path) -> bool:
    return Path(path).name.lower().endswith(SUFFIX)


def default_size(height: int, width: int) -> int:
    """The side of a hint's square when its point gives none: 1/40 of the long side, at least 1 pixel."""
    return max(1, round(max(height, width) / 40))


def parse_colour(text) -> tuple[float, float]:
    """The Lab (a, b) of an sRGB hex colour ("#a03c28" or "#a32"); ValueError if it does not parse."""
    match = HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"color {text!r} is not an sRGB hex colour such as \"#a03c28\"")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    rgb = np.array([[[int(digits[i:i + 2], 16) for i in (0, 2, 4)]]], np.uint8)
    lab = srgb_to_lab(rgb)[0, 0]
    return float(lab[1]), float(lab[2])


def colour_hex(lab) -> str:
    """The sRGB hex of a Lab colour (out-of-gamut colours brought into it as `colorizer.color` does)."""
    from colorizer.color import lab_to_srgb8

    lab = np.asarray(lab, np.float32).reshape(1, 1, 3)
    rgb = lab_to_srgb8(lab[..., 0], lab[..., 1], lab[..., 2])[0, 0]
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def parse_hints(data, height: int, width: int, name: str = "hints") -> list[Hint]:
    """The hints of a parsed sidecar for a photograph of ``height`` x ``width`` (as displayed); `BadHints`
    naming ``name`` and the point for anything wrong: not an object with a "points" list, an unknown key, a
    missing or non-numeric coordinate, a point outside the photograph, a colour that does not parse, a size
    below 1."""
    if not isinstance(data, dict) or set(data) - {"points"} or not isinstance(data.get("points"), list):
        unknown = sorted(set(data) - {"points"}) if isinstance(data, dict) else []
        detail = f"unknown key {unknown[0]!r}; " if unknown else ""
        raise BadHints(f"{name}: {detail}expected {{\"points\": [{{\"x\": .., \"y\": .., \"color\": \"#rrggbb\"}}, ...]}}")
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
            raise BadHints(f"{where}: ({x}, {y}) is outside the photograph, which is {width}x{height} "
                           f"(x 0..{width - 1}, y 0..{height - 1})")
        if size < 1:
            raise BadHints(f"{where}: size {size} is below 1 pixel")
        try:
            ab = parse_colour(point["color"])
        except ValueError as error:
            raise BadHints(f"{where}: {error}") from None
        hints.append(Hint(float(x), float(y), ab, float(size)))
    return hints


def read_sidecar(path, height: int, width: int) -> list[Hint]:
    """The hints in the file ``path`` for a photograph of ``height`` x ``width``; `BadHints` if unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except (OSError, UnicodeDecodeError) as error:
        raise BadHints(f"{path}: cannot read it: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadHints(f"{path}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    return parse_hints(data, height, width, str(path))


def write_sidecar(path, hints: list[Hint]) -> None:
    """Write ``hints`` as a sidecar (atomically), each colour as the sRGB hex of its Lab."""
    from colorizer.atomic import write_json

    points = [{"x": h.x, "y": h.y, "color": colour_hex((h.lightness, *h.ab)), "size": h.size} for h in hints]
    write_json(path, {"points": points})


# ---------------------------------------------------------------------------------------------------------
# Hint maps


def square(hint: Hint, shape, working) -> tuple[int, int, int, int]:
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


def hint_map(hints: list[Hint], shape, working) -> np.ndarray:
    """The network's hint input [h, w, 3] (a / 128, b / 128, mask) for ``hints`` on a photograph of ``shape``
    (H, W), at the working size ``working`` = (h, w). Where squares overlap, their colours are averaged, as in
    training (`paint_from_truth`)."""
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


def empty_map(height: int, width: int, count: int | None = None) -> np.ndarray:
    """No hints: zeros [h, w, 3], or [count, h, w, 3]."""
    return np.zeros(((count,) if count is not None else ()) + (height, width, CHANNELS), np.float32)


# ---------------------------------------------------------------------------------------------------------
# Training: points simulated from the truth


def draw_training_points(rng: np.random.Generator, count: int, size, stop: float, sides, spread: float
                         ) -> np.ndarray:
    """[count, MAX_POINTS, 4] (`POINT_FIELDS`, float32): the simulated hints of ``count`` crops of ``size`` =
    (h, w), Zhang et al.'s draw: points keep coming while a uniform draw stays above ``stop``, each a square of
    side uniform in ``sides`` = (smallest, largest) at a top-left corner normal around the centre with sigma
    ``spread`` times the room left, clipped inside."""
    h, w = size
    # The number of points: failures before the first success of probability `stop` (geometric, from 0).
    numbers = np.minimum(rng.geometric(stop, count) - 1, MAX_POINTS) if stop < 1 else np.zeros(count, int)
    side = rng.integers(sides[0], sides[1] + 1, (count, MAX_POINTS)).astype(np.float32)
    side = np.minimum(side, min(h, w))
    room_h, room_w = h - side + 1, w - side + 1
    top = np.clip(np.floor(rng.normal(room_h / 2, room_h * spread)), 0, h - side)
    left = np.clip(np.floor(rng.normal(room_w / 2, room_w * spread)), 0, w - side)
    valid = (np.arange(MAX_POINTS)[None, :] < numbers[:, None]).astype(np.float32)
    return np.stack([top, left, side, valid], axis=-1).astype(np.float32)


def paint_from_truth(ab, points):
    """The hint map [n, h, w, 3] of ``points`` [n, K, 4] (`POINT_FIELDS`) on the true ab / 128 [n, h, w, 2]:
    each valid point's square filled with the truth's mean colour there, overlapping squares averaged, and the
    mask. Keras ops, in the training graph: two small matrix products a point, no per-pixel Python."""
    from keras import ops

    ab = ops.cast(ab, "float32")
    points = ops.cast(points, "float32")
    shape = ops.shape(ab)
    top, left, side, valid = (points[..., i:i + 1] for i in range(4))
    ys = ops.cast(ops.arange(shape[1]), "float32")[None, None, :]
    xs = ops.cast(ops.arange(shape[2]), "float32")[None, None, :]
    rows = ops.cast((ys >= top) & (ys < top + side), "float32") * valid  # [n, K, h]
    cols = ops.cast((xs >= left) & (xs < left + side), "float32") * valid  # [n, K, w]
    area = ops.sum(rows, axis=-1) * ops.sum(cols, axis=-1)  # [n, K]
    sums = ops.einsum("nkwc,nkw->nkc", ops.einsum("nkh,nhwc->nkwc", rows, ab), cols)
    colour = sums / ops.maximum(area, 1.0)[..., None]  # [n, K, 2]
    cover = ops.einsum("nkh,nkw->nhw", rows, cols)
    painted = ops.einsum("nkhc,nkw->nhwc", ops.einsum("nkh,nkc->nkhc", rows, colour), cols)
    return ops.concatenate([painted / ops.maximum(cover, 1.0)[..., None],
                            ops.cast(cover > 0, "float32")[..., None]], axis=-1)


def has_hints(hint_maps):
    """[n] 1.0 for each hint map [n, h, w, 3] with at least one hinted pixel, 0.0 for the others (Keras ops)."""
    from keras import ops

    return ops.cast(ops.max(ops.cast(hint_maps, "float32")[..., 2], axis=(1, 2)) > 0, "float32")


# ---------------------------------------------------------------------------------------------------------
# Evaluation: Zhang et al.'s sweep, and the propagation with no learning


def photo_seed(name: str, seed: int = 0) -> int:
    """The sweep's seed for the photograph ``name`` (its source path): its own, whatever else is measured."""
    from colorizer.data.splits import unit_hash

    return int(unit_hash(f"hints/{seed}/{name}") * 2**32)


def sweep_points(seed, count: int, size, side: int = SWEEP_SIDE) -> np.ndarray:
    """[count, 2] (top, left) of the first ``count`` points of the sweep for one photograph of ``size`` (h, w):
    squares of ``side`` at positions normal around the centre, sigma a quarter of the room, clipped inside.
    The sequence depends on ``seed`` alone, so the N points are the first N of the N + 1's."""
    h, w = size
    rng = np.random.default_rng(seed)
    room_h, room_w = h - side + 1, w - side + 1
    draws = rng.normal(size=(max(count, *SWEEP_COUNTS), 2))  # always as many: N's are the N + 1's first
    top = np.clip(np.floor(room_h / 2 + draws[:count, 0] * room_h / 4), 0, h - side)
    left = np.clip(np.floor(room_w / 2 + draws[:count, 1] * room_w / 4), 0, w - side)
    return np.stack([top, left], axis=1).astype(int)


def truth_hints(lab: np.ndarray, corners: np.ndarray, side: int = SWEEP_SIDE) -> list[Hint]:
    """Hints at the squares of ``side`` with top-left ``corners`` [n, 2], each the truth's mean a and b there
    (``lab`` [H, W, 3]), in the photograph's pixels (the form a sidecar takes)."""
    hints = []
    for top, left in corners:
        lightness, a, b = lab[top:top + side, left:left + side].reshape(-1, 3).mean(axis=0)
        hints.append(Hint(float(left + side // 2), float(top + side // 2), (float(a), float(b)), float(side),
                          float(lightness)))
    return hints


def nearest_point_colours(shape, hints: list[Hint]) -> np.ndarray:
    """ab [H, W, 2] in Lab units where each pixel takes the colour of the nearest hinted pixel (no learning;
    zero chroma without hints)."""
    from scipy import ndimage

    height, width = shape[:2]
    painted = hint_map(hints, (height, width), (height, width))
    if not hints:
        return np.zeros((height, width, 2), np.float32)
    _, (iy, ix) = ndimage.distance_transform_edt(painted[..., 2] == 0, return_indices=True)
    return painted[iy, ix, :2] * AB_SCALE
