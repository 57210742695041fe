"""A video's path through the model: each frame shrunk to the working size as a photograph is
(`colorizer.inference.photo`), its colour made steady through the shot (`colorizer.video.steady`), enlarged back
and joined to the frame's own full-resolution lightness, encoded as it comes (`colorizer.video.streams`).

The output goes to a temporary name beside the target and is renamed into place when the last frame is
written: a killed run, Ctrl-C or a full disk leaves no half-written video.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorizer.atomic import replacing
from colorizer.hints import BadHints
from colorizer.inference.loading import Network
from colorizer.inference.photo import Photo, colorize_photo, predict_photos, shrink, working_size
from colorizer.video.keyframes import Keyframe, beyond, read_keyframes
from colorizer.video.steady import EVERY, MEMORY, SteadyColour
from colorizer.video.streams import UnreadableVideo, VideoReader, VideoWriter


@dataclass
class Coloured:
    """What `colorize_video` did: frames written, the frames where shots start, frames the network coloured, key
    frames used."""

    frames: int = 0
    predicted: int = 0
    keyframes: int = 0
    seconds: float = 0.0
    cuts: list[int] = field(default_factory=list)

    @property
    def shots(self) -> int:
        return len(self.cuts)


def network_colour(model: Network) -> Callable:
    """(L at the working size, hint map or None) -> the network's ab / 128, for `SteadyColour`."""

    def predict(lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        return predict_photos(model, [Photo(None, None, lightness, hints)])[0]

    return predict


class ClipColour:
    """The colour of one clip's frames, one after the other (`frame`): each shrunk to the working size, its
    colour made steady (`SteadyColour`), with the key frames' hints, and joined to its own lightness."""

    def __init__(
        self,
        model: Network,
        shape: tuple[int, int],
        size: int,
        saturation: float = 1.0,
        keyframes: dict[int, Keyframe] | None = None,
        memory: float = MEMORY,
        every: int = EVERY,
    ) -> None:
        self.working = working_size(*shape, size)
        self.saturation, self.keyframes = saturation, keyframes or {}
        self.steady = SteadyColour(network_colour(model), shape, memory=memory, every=every)
        self.done = Coloured(keyframes=len(self.keyframes))

    def frame(self, pixels: np.ndarray) -> np.ndarray:
        """The next frame, coloured: uint8 RGB of the size of its grey ``pixels`` (H, W)."""
        index = self.done.frames
        small = shrink(pixels, self.working)
        key = self.keyframes.get(index)
        ab, step = self.steady.next(
            small, points=None if key is None else key.points, colour=None if key is None else key.colour(self.working)
        )
        if step.cut:
            self.done.cuts.append(index)
        self.done.predicted += step.predicted
        self.done.frames += 1
        return colorize_photo(Photo(pixels, None, small), ab, self.saturation)


def colorize_video(
    model: Network,
    source: Path,
    target: Path,
    size: int,
    saturation: float = 1.0,
    hints_file: Path | None = None,
    on_frame: Callable[[int, int | None], None] | None = None,
    memory: float = MEMORY,
    every: int = EVERY,
) -> Coloured:
    """Colour the video ``source`` into ``target`` (MP4); returns what was done. ``hints_file``: its key frames
    (`colorizer.video.keyframes`). ``on_frame(done, total)`` after each frame (total an estimate, or None).

    `UnreadableVideo` when the file cannot be read or decoded, `BadHints` for a sidecar that cannot be used;
    OSError from the write (a full disk). In every case nothing is left at ``target``.
    """
    started = time.perf_counter()
    with VideoReader(source) as reader:
        info = reader.info
        keyframes = {} if hints_file is None else read_keyframes(hints_file, info.height, info.width, info.frames)
        colour = ClipColour(model, (info.height, info.width), size, saturation, keyframes, memory, every)
        with replacing(target) as tmp:
            writer = VideoWriter(tmp, reader)
            try:
                for pixels, frame in reader.frames(on_audio=writer.copy_audio):
                    writer.write(colour.frame(pixels), frame)
                    if on_frame is not None:
                        on_frame(colour.done.frames, info.frames)
                if colour.done.frames == 0:
                    raise UnreadableVideo("it has no frames")
                late = [keyframes[k] for k in sorted(keyframes) if k >= colour.done.frames]
                if late:  # the container's frame count was missing or wrong
                    raise BadHints(beyond(late[0], colour.done.frames))
            finally:
                writer.close()
    colour.done.seconds = time.perf_counter() - started
    return colour.done
