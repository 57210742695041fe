"""Steady colour through a shot: each frame's colour is the frame before's, carried along the motion, where
that can be trusted; the network's colour fills in where it cannot (occlusions, new content, a shot's first
frame) and, every few frames, nudges the carried colour towards its own.

The state is a colour field C (ab / 128 at the working size) and a confidence Q in [0, 1] per pixel: how
much of C is backed by the network's predictions at the places the pixel was traced to. Each frame, C and Q
are carried along the backward flow and Q is multiplied by the trust of that step (`colorizer.video.motion
.trusted`). On a frame where the network runs (the first of a shot, a key frame, after ``every`` frames, or
when too little of the frame is backed), C becomes ``memory * Q * carried + (1 - memory * Q) * network`` and
Q becomes 1: where the motion is trusted, the network's frame-to-frame wandering enters only by the share
``1 - memory``; where it is not, its colour is taken whole. A cut (`colorizer.video.motion.is_cut`) starts
afresh: nothing is carried across it.

Hints follow their objects: a key frame's points (`colorizer.hints.Hint`, in pixels of the frame, as for a
photograph; `colorizer.video.keyframes`) move with the forward flow and are given to the network at every run
until the next cut or key frame; a key frame's picture sets C outright and becomes a grid of such points.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from colorizer.hints import Hint, hint_map
from colorizer.video.motion import Motion, carry, gray8, histogram, is_cut, trusted

MEMORY = 0.8  # the carried colour's weight where the motion is trusted, on a frame the network colours
EVERY = 4  # the network colours at least every this many frames of a shot
BACKED = 0.9  # ... and whenever less than this share of the frame is backed by its predictions

Predict = Callable[[np.ndarray, np.ndarray | None], np.ndarray]  # (L (h, w), hint map or None) -> ab / 128


@dataclass
class Step:
    """What happened at one frame: whether a shot started there, and whether the network coloured it."""

    cut: bool
    predicted: bool


@dataclass
class SteadyColour:
    """The colour of a clip's frames at the working size, one frame after the other (`next`)."""

    predict: Predict
    shape: tuple[int, int]  # (H, W) of the frames, in whose pixels the points are
    memory: float = MEMORY
    every: int = EVERY
    motion: Motion = field(default_factory=Motion)
    points: list[Hint] = field(default_factory=list)
    _before: np.ndarray | None = None  # L of the frame before
    _gray: np.ndarray | None = None
    _histogram: np.ndarray | None = None
    _colour: np.ndarray | None = None
    _backed: np.ndarray | None = None
    _since: int = 0

    def next(
        self, lightness: np.ndarray, points: list[Hint] | None = None, colour: np.ndarray | None = None
    ) -> tuple[np.ndarray, Step]:
        """The colour (ab / 128, (h, w, 2)) of the frame whose working-size L is ``lightness``, and what was
        done. ``points`` and ``colour`` (ab / 128 of the whole frame) make it a key frame: they replace the
        hints being followed, and ``colour`` is taken as the frame's colour."""
        gray, hist = gray8(lightness), histogram(lightness)
        cut = self._before is None or self._before.shape != lightness.shape
        if not cut:
            backward = self.motion.flow(gray, self._gray)
            forward = self.motion.flow(self._gray, gray)
            trust = trusted(lightness, self._before, backward, forward)
            cut = is_cut(trust, hist, self._histogram)
        if cut:
            self.points = []
            carried, backed = None, None
        else:
            self.points = follow(self.points, forward, self.shape)
            carried = carry(self._colour, backward)
            backed = carry(self._backed[..., None], backward)[..., 0] * trust
        keyframe = points is not None or colour is not None
        if keyframe:
            self.points = list(points or [])
        run = cut or keyframe or self._since + 1 >= self.every or float(backed.mean()) < BACKED
        if colour is not None:
            self._colour, self._backed = colour.astype(np.float32), np.ones(lightness.shape, np.float32)
        elif run:
            predicted = self.predict(
                lightness, hint_map(self.points, self.shape, lightness.shape) if self.points else None
            )
            if carried is None or keyframe:  # a new shot, or a person's colour: the network's whole
                self._colour = predicted
            else:
                weight = (self.memory * backed)[..., None]
                self._colour = weight * carried + (1.0 - weight) * predicted
            self._backed = np.ones(lightness.shape, np.float32)
        else:
            self._colour, self._backed = carried, backed
        self._since = 0 if run else self._since + 1
        self._before, self._gray, self._histogram = lightness, gray, hist
        return self._colour, Step(cut=cut, predicted=run and colour is None)


def follow(points: list[Hint], forward: np.ndarray, shape: tuple[int, int]) -> list[Hint]:
    """``points`` (in pixels of the frame, whose size is ``shape``) moved by the ``forward`` flow (frame before
    -> this frame, at the working size) at their centres; those that leave the frame are dropped."""
    (height, width), (h, w) = shape, forward.shape[:2]
    sx, sy = w / width, h / height
    moved = []
    for point in points:
        col, row = min(max(int(point.x * sx), 0), w - 1), min(max(int(point.y * sy), 0), h - 1)
        dx, dy = forward[row, col]
        x, y = point.x + float(dx) / sx, point.y + float(dy) / sy
        if 0 <= x < width and 0 <= y < height:
            moved.append(replace(point, x=x, y=y))
    return moved
