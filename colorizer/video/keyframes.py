"""Key frames: a video's hints, in its sidecar ``clip.mp4.hints.json``::

    {"keyframes": [{"frame": 0, "points": [{"x": 120, "y": 64, "color": "#a03c28"}]},
                   {"frame": 240, "image": "frame240.png"}]}

``frame`` is the 0-based index in presentation order; ``points`` are exactly a photograph's
(`colorizer.hints.parse_hints`: the same keys and checks, in pixels of the frame); ``image`` (instead of or
beside points) is a coloured picture of that frame, of the video's pixel size, its path relative to the
sidecar's folder, whose colours the frame takes. A key frame's colours follow the motion through its shot,
until the next cut or key frame (`colorizer.video.steady`).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer.color import AB_SCALE, srgb_to_lab
from colorizer.data.images import UnreadableImage, read_rgb
from colorizer.hints import BadHints, Hint, default_size, parse_hints, read_json

KEYS = {"frame", "points", "image"}
GRID = 16  # an image key frame becomes a grid of this many points along its long side


@dataclass(frozen=True)
class Keyframe:
    """One key frame: its hints (in pixels of the frame) and, for an image key frame, the picture (H, W, 3)."""

    frame: int
    points: list[Hint]
    image: np.ndarray | None = None
    where: str = ""  # "FILE: key frame N (frame F)", for what is said about it

    def colour(self, working: tuple[int, int]) -> np.ndarray | None:
        """The picture's ab / 128 at the working size (h, w), or None."""
        if self.image is None:
            return None
        h, w = working
        small = np.asarray(Image.fromarray(self.image).resize((w, h), Image.Resampling.BILINEAR))
        return (srgb_to_lab(small)[..., 1:] / AB_SCALE).astype(np.float32)


def read_keyframes(path: str | Path, height: int, width: int, frames: int | None = None) -> dict[int, Keyframe]:
    """The key frames of the sidecar ``path`` for a video of ``height`` x ``width`` (and ``frames`` frames when
    known), by frame index; `BadHints` naming the file and the key frame for anything wrong."""
    path = Path(path)
    data = read_json(path)
    expected = '{"keyframes": [{"frame": 0, "points": [...]}, {"frame": 240, "image": "frame240.png"}]}'
    if not isinstance(data, dict) or set(data) != {"keyframes"} or not isinstance(data["keyframes"], list):
        unknown = sorted(set(data) - {"keyframes"}) if isinstance(data, dict) else []
        detail = f"unknown key {unknown[0]!r}; " if unknown else ""
        raise BadHints(f"{path}: {detail}a video's hints are {expected}")
    found = {}
    for i, item in enumerate(data["keyframes"]):
        where = f"{path}: key frame {i + 1}"
        keyframe = _keyframe(item, where, path.parent, height, width)
        if frames is not None and keyframe.frame >= frames:
            raise BadHints(beyond(keyframe, frames))
        if keyframe.frame in found:
            raise BadHints(f"{keyframe.where}: that frame has a key frame already")
        found[keyframe.frame] = keyframe
    return found


def _keyframe(item: object, where: str, folder: Path, height: int, width: int) -> Keyframe:
    if not isinstance(item, dict):
        raise BadHints(f"{where} is not an object with frame and points or image")
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise BadHints(f"{where}: unknown key {unknown[0]!r} (a key frame has frame, points and image)")
    frame = item.get("frame")
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise BadHints(f"{where}: frame {frame!r} is not a frame index (0, 1, 2, ...)")
    where = f"{where} (frame {frame})"
    if "points" not in item and "image" not in item:
        raise BadHints(f"{where}: give points, an image, or both")
    points = parse_hints({"points": item["points"]}, height, width, where) if "points" in item else []
    image = None
    if "image" in item:
        if not isinstance(item["image"], str):
            raise BadHints(f"{where}: image {item['image']!r} is not a file name")
        picture = folder / item["image"]
        try:
            image = np.asarray(read_rgb(picture))
        except (UnreadableImage, OSError) as error:
            raise BadHints(f"{where}: cannot read the image {picture}: {error}") from None
        if image.shape[:2] != (height, width):
            raise BadHints(
                f"{where}: the image {picture} is {image.shape[1]}x{image.shape[0]}, the video {width}x{height}"
            )
        points = points + grid_points(image)
    return Keyframe(frame, points, image, where)


def beyond(keyframe: Keyframe, frames: int) -> str:
    """What is said of a key frame past the clip's last frame."""
    return f"{keyframe.where}: beyond the clip, which has {frames} frames"


def grid_points(image: np.ndarray) -> list[Hint]:
    """A picture's colours as hints: the ab of a `GRID`-per-long-side grid of its pixels."""
    height, width = image.shape[:2]
    step = max(height, width) / GRID
    ys = np.arange(step / 2, height, step)
    xs = np.arange(step / 2, width, step)
    lab = srgb_to_lab(image[np.ix_(ys.astype(int), xs.astype(int))])
    size = default_size(height, width)
    return [
        Hint(float(x), float(y), (float(lab[i, j, 1]), float(lab[i, j, 2])), float(size))
        for i, y in enumerate(ys)
        for j, x in enumerate(xs)
    ]
