"""Temporal stability: how much a coloured clip flickers, and clips whose truth and motion are known.

- `pan_clip`: a clip rendered from one photograph: each frame an affine view of it as a camera pans between
  two random points and zooms in by a tenth, so every frame has its true colours and every pixel's place in the
  frame before is known exactly (`PanClip.flows`).
- `warp_error`: Lai et al.'s measure ("Learning Blind Video Temporal Consistency", ECCV 2018), on colour:
  the mean distance |ab(t) - ab(t-1) carried along the motion|, in Lab units, over the pixels seen in both
  frames. The truth's own is the floor that resampling alone sets.
- `cdc`: ColorMNet's colour distribution consistency: the Jensen-Shannon divergence of the RGB histograms of
  frames 1, 2 and 4 apart (per channel, 256 bins), the three gaps weighted equally, as its
  ``evaluation_matrics/cdc.py`` computes it.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from colorizer.video.motion import carry

PAN_FRAMES = 36
PAN_SIZE = (240, 320)  # (h, w)
ZOOM = 1.1  # the last frame's view is this much closer than the first's
CDC_GAPS = (1, 2, 4)


@dataclass
class PanClip:
    """A rendered clip: its frames (uint8 RGB [n, h, w, 3]) and, for each frame after the first, where each of
    its pixels was in the frame before (offsets (dx, dy) [n - 1, h, w, 2]) and whether that lies inside it."""

    frames: np.ndarray
    flows: np.ndarray
    seen: np.ndarray


def _views(height: int, width: int, rng: np.random.Generator, frames: int, size: tuple[int, int]) -> np.ndarray:
    """[frames, 2, 3]: for each frame, the affine map from its pixels to the photograph's."""
    h, w = size
    scale = 0.9 * min(width / w, height / h)
    half = np.array([scale * w / 2, scale * h / 2])
    low, high = half, np.array([width, height]) - half
    start, end = rng.uniform(low, high), rng.uniform(low, high)
    middle = np.array([(w - 1) / 2, (h - 1) / 2])
    maps = []
    for t in range(frames):
        along = t / max(1, frames - 1)
        centre, s = start + along * (end - start), scale / (1 + (ZOOM - 1) * along)
        maps.append([[s, 0, centre[0] - s * middle[0]], [0, s, centre[1] - s * middle[1]]])
    return np.asarray(maps, np.float64)


def pan_clip(photo: np.ndarray, seed: int, frames: int = PAN_FRAMES, size: tuple[int, int] = PAN_SIZE) -> PanClip:
    """The clip of ``photo`` (uint8 RGB, at least ``size``) for ``seed`` (the pan's two points)."""
    height, width = photo.shape[:2]
    views = _views(height, width, np.random.default_rng(seed), frames, size)
    h, w = size
    rendered = np.stack(
        [
            cv2.warpAffine(
                photo, view, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
            )
            for view in views
        ]
    )
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)), axis=-1)
    flows, seen = [], []
    for before, now in zip(views[:-1], views[1:]):
        place = grid @ now[:, :2].T + now[:, 2]  # in the photograph
        back = (place - before[:, 2]) @ np.linalg.inv(before[:, :2]).T  # in the frame before
        flows.append((back - grid).astype(np.float32))
        seen.append((back[..., 0] >= 0) & (back[..., 0] <= w - 1) & (back[..., 1] >= 0) & (back[..., 1] <= h - 1))
    return PanClip(rendered, np.stack(flows), np.stack(seen))


def warp_error(ab: np.ndarray, flows: np.ndarray, seen: np.ndarray) -> float:
    """The mean over frames after the first of the mean |ab(t) - ab(t-1) carried by ``flows``| in Lab units
    over the ``seen`` pixels; ``ab`` [n, h, w, 2] in Lab units, ``flows`` and ``seen`` as `PanClip`'s."""
    errors = []
    for t in range(1, len(ab)):
        carried = carry(np.ascontiguousarray(ab[t - 1], np.float32), flows[t - 1])
        distance = np.linalg.norm(ab[t] - carried, axis=-1)
        errors.append(float(distance[seen[t - 1]].mean()) if seen[t - 1].any() else 0.0)
    return float(np.mean(errors))


def _histograms(frames: np.ndarray) -> np.ndarray:
    """[n, 3, 256]: each frame's share of pixels at each level of R, G and B."""
    n = len(frames)
    out = np.empty((n, 3, 256))
    for i in range(n):
        for c in range(3):
            out[i, c] = np.bincount(frames[i, ..., c].ravel(), minlength=256)
    return out / (frames.shape[1] * frames.shape[2])


def _js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural log) along the last axis."""
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log(a / np.where(b > 0, b, 1)), 0.0).sum(axis=-1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(frames: np.ndarray, gaps: tuple[int, ...] = CDC_GAPS) -> float:
    """Colour distribution consistency of uint8 RGB ``frames`` [n, h, w, 3]: lower is steadier."""
    histograms = _histograms(frames)
    per_gap = []
    for gap in gaps:
        if len(frames) > gap:
            per_gap.append(float(_js(histograms[:-gap], histograms[gap:]).mean()))
    return float(np.mean(per_gap))
