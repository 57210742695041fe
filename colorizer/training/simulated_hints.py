"""The hints a hint-taking network is trained with, simulated from the truth (Zhang et al., "Real-Time
User-Guided Image Colorization with Learned Deep Priors", SIGGRAPH 2017).

`draw_training_points` draws the points on the host, seeded like the crops (`colorizer.training.batches`);
`paint_from_truth` paints them in the training graph (`colorizer.training.crops`). Zhang et al.'s recipe: a
point added while a uniform draw stays above ``stop`` (1/8: 12.5% of crops get none, 7 on average), each a
square of side ``sides`` (uniform, 1..9 pixels) at a position normal around the centre (sigma ``spread`` of the
side), of the truth's mean colour. The maps they make are those a user's hints make (`colorizer.hints.hint_map`).
"""

from typing import Any

import numpy as np

Tensor = Any  # what Keras ops take and give: a NumPy array or a backend tensor
MAX_POINTS = 64  # at most this many points a crop (Zhang et al.'s draw exceeds it once in 5,000)
POINT_FIELDS = ("top", "left", "side", "valid")  # a drawn point, in pixels of the crop


def draw_training_points(
    rng: np.random.Generator, count: int, size: tuple[int, int], stop: float, sides: tuple[int, int], spread: float
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


def paint_from_truth(ab: Tensor, points: Tensor) -> Tensor:
    """The hint map [n, h, w, 3] of ``points`` [n, K, 4] (`POINT_FIELDS`) on the true ab / 128 [n, h, w, 2]:
    each valid point's square filled with the truth's mean colour there, overlapping squares averaged, and the
    mask. Keras ops, in the training graph: two small matrix products a point, no per-pixel Python."""
    from keras import ops

    ab = ops.cast(ab, "float32")
    points = ops.cast(points, "float32")
    shape = ops.shape(ab)
    top, left, side, valid = (points[..., i : i + 1] for i in range(4))
    ys = ops.cast(ops.arange(shape[1]), "float32")[None, None, :]
    xs = ops.cast(ops.arange(shape[2]), "float32")[None, None, :]
    rows = ops.cast((ys >= top) & (ys < top + side), "float32") * valid  # [n, K, h]
    cols = ops.cast((xs >= left) & (xs < left + side), "float32") * valid  # [n, K, w]
    area = ops.sum(rows, axis=-1) * ops.sum(cols, axis=-1)  # [n, K]
    sums = ops.einsum("nkwc,nkw->nkc", ops.einsum("nkh,nhwc->nkwc", rows, ab), cols)
    colour = sums / ops.maximum(area, 1.0)[..., None]  # [n, K, 2]
    cover = ops.einsum("nkh,nkw->nhw", rows, cols)
    painted = ops.einsum("nkhc,nkw->nhwc", ops.einsum("nkh,nkc->nkhc", rows, colour), cols)
    return ops.concatenate(
        [painted / ops.maximum(cover, 1.0)[..., None], ops.cast(cover > 0, "float32")[..., None]], axis=-1
    )


def has_hints(hint_maps: Tensor) -> Tensor:
    """[n] 1.0 for each hint map [n, h, w, 3] with at least one hinted pixel, 0.0 for the others (Keras ops)."""
    from keras import ops

    return ops.cast(ops.max(ops.cast(hint_maps, "float32")[..., 2], axis=(1, 2)) > 0, "float32")
