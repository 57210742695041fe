"""Zhang et al.'s sweep of hints drawn from the truth, which measures how well a network follows hints, and the
propagation with no learning that a hint-taking network must beat (Zhang et al., "Real-Time User-Guided Image
Colorization with Learned Deep Priors", SIGGRAPH 2017).

The sweep (`sweep_points`): 6x6 squares, positions normal around the centre with a quarter of the side as
sigma, the first N of one sequence seeded by the photograph's name, so N points are a subset of N + 1's; each
square takes the truth's mean colour (`truth_hints`), as a hint a user writes (`colorizer.hints.Hint`).
`nearest_point_colours` is the propagation: each pixel takes the colour of its nearest hint. `hint_curve` is
the PSNR of both at each number of points (the ``evaluate`` stage's ``metrics/eval_hints.csv``).
"""

import sys
from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from colorizer.color import AB_SCALE, merge_lab
from colorizer.data.shards import LabSplit
from colorizer.data.splits import unit_hash
from colorizer.evaluation.quality import psnr_of_lab
from colorizer.hints import Hint, hint_map
from colorizer.inference.loading import Network
from colorizer.inference.predict import predict_lab, takes_hints

SWEEP_SIDE = 6  # each point a 6x6 square of the truth's mean colour
SWEEP_COUNTS = (0, 1, 2, 5, 10, 20, 50)


def photo_seed(name: str, seed: int = 0) -> int:
    """The sweep's seed for the photograph ``name`` (its source path): its own, whatever else is measured."""
    return int(unit_hash(f"hints/{seed}/{name}") * 2**32)


def sweep_points(seed: int, count: int, size: tuple[int, int], side: int = SWEEP_SIDE) -> np.ndarray:
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
        lightness, a, b = lab[top : top + side, left : left + side].reshape(-1, 3).mean(axis=0)
        hints.append(
            Hint(float(left + side // 2), float(top + side // 2), (float(a), float(b)), float(side), float(lightness))
        )
    return hints


def nearest_point_colours(shape: tuple[int, ...], hints: list[Hint]) -> np.ndarray:
    """ab [H, W, 2] in Lab units where each pixel takes the colour of the nearest hinted pixel (no learning;
    zero chroma without hints)."""
    from scipy import ndimage

    height, width = shape[:2]
    painted = hint_map(hints, (height, width), (height, width))
    if not hints:
        return np.zeros((height, width, 2), np.float32)
    _, (iy, ix) = ndimage.distance_transform_edt(painted[..., 2] == 0, return_indices=True)
    return painted[iy, ix, :2] * AB_SCALE


def hint_curve(
    model: Network, test: LabSplit, sources: list[str], counts: Iterable[int], batch_size: int
) -> list[dict]:
    """One row per count of points: the mean PSNR (and ab MSE) of the model given that many points drawn from
    the truth, and of the nearest-point propagation (the model's figures are None for a model without a hint
    input, except at 0 points)."""
    hinted = takes_hints(model)
    rows = []
    for count in counts:
        model_psnr, model_mse, near_psnr, near_mse = [], [], [], []
        for start in tqdm(
            range(0, len(test), batch_size),
            desc=f"evaluate, {count} points",
            unit="batch",
            leave=False,
            disable=None,
            file=sys.stderr,
        ):
            truth = test.take(np.arange(start, min(start + batch_size, len(test))))
            size = truth.shape[1:3]
            hints = [
                truth_hints(t, sweep_points(photo_seed(sources[start + i]), count, size)) for i, t in enumerate(truth)
            ]
            if hinted or count == 0:
                maps = np.stack([hint_map(h, size, size) for h in hints])
                predicted = predict_lab(model, truth, batch_size, maps if hinted else None)
                for t, p in zip(truth, predicted):
                    model_psnr.append(psnr_of_lab(t, p))
                    model_mse.append(float(np.mean((t[..., 1:].astype(np.float64) - p[..., 1:]) ** 2)))
            for t, h in zip(truth, hints):
                near = merge_lab(t[None, ..., :1], nearest_point_colours(size, h)[None] / 128.0)[0]
                near_psnr.append(psnr_of_lab(t, near))
                near_mse.append(float(np.mean((t[..., 1:].astype(np.float64) - near[..., 1:]) ** 2)))
        mean = lambda v: round(float(np.mean(v)), 4) if v else None  # noqa: E731
        rows.append(
            {
                "points": count,
                "psnr": mean(model_psnr),
                "ab_mse": mean(model_mse),
                "nearest_point_psnr": mean(near_psnr),
                "nearest_point_ab_mse": mean(near_mse),
            }
        )
    return rows
