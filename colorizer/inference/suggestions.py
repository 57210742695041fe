"""Colour suggestions: the few most likely colours at one point of a photograph, from the distribution head.

Zhang et al.'s interactive tool ("Real-Time User-Guided Image Colorization with Learned Deep Priors", 2017)
offers a palette where the user clicks: it draws 25,000 samples from the predicted distribution over the ab
bins and ranks the clusters of a k-means (k = 9) by size. Here the same clusters come without sampling: a
k-means over the bin centres weighted by their probabilities (what the samples converge to), so the palette is
the same on every call. Each suggestion is a colour at the photograph's own lightness there, as sRGB hex, with
the probability the network gives its cluster.

The distribution is the network's own, before the read-out (no rebalancing or temperature), given the
photograph's other hints: a hint already placed elsewhere changes what is likely here.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from colorizer.network import ab_bins

if TYPE_CHECKING:
    import keras

SUGGESTIONS = 9
MIN_PROBABILITY = 0.01  # clusters holding less than this are not worth offering


class NoDistribution(ValueError):
    """The model has no distribution to suggest from (a regression head)."""


@dataclass(frozen=True)
class Suggestion:
    colour: str  # sRGB hex, at the photograph's lightness at the point
    probability: float
    ab: tuple[float, float]


def distribution_model(model: "keras.Model") -> "keras.Model":
    """A model from the same inputs to the log-probabilities (or logits) over the ab bins at 1/4 of the size."""
    import keras

    from colorizer.network import readout

    if not readout.has_distribution_head(model):
        raise NoDistribution(
            f"the model {model.name!r} has a regression head: it predicts one colour, not a "
            "distribution to suggest from"
        )
    return keras.Model(model.inputs, readout.distribution(model).output)


def probabilities_at(
    distribution: "keras.Model", network_input: np.ndarray | dict[str, np.ndarray], y: int, x: int
) -> np.ndarray:
    """[Q] the probabilities over the ab bins at pixel (``y``, ``x``) of the working size. (``predict_on_batch``:
    ``predict`` sets up a data adapter every call, about 90 ms on 2 cores, which one image does not need.)"""
    scores = np.asarray(distribution.predict_on_batch(network_input), np.float64)[0]
    cell = scores[min(y // ab_bins.POOL, scores.shape[0] - 1), min(x // ab_bins.POOL, scores.shape[1] - 1)]
    cell = np.exp(cell - cell.max())
    return cell / cell.sum()


def weighted_kmeans(
    points: np.ndarray, weights: np.ndarray, k: int, iterations: int = 30, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(centres [k', 2], masses [k']) of a k-means of ``points`` weighted by ``weights`` (k-means++ start,
    seeded), the empty clusters left out, heaviest first."""
    rng = np.random.default_rng(seed)
    k = min(k, int(np.count_nonzero(weights > 0)))
    chosen = [rng.choice(len(points), p=weights / weights.sum())]
    for _ in range(1, k):
        d2 = np.min(((points[:, None] - points[chosen][None]) ** 2).sum(-1), axis=1) * weights
        chosen.append(rng.choice(len(points), p=d2 / d2.sum()) if d2.sum() > 0 else int(np.argmax(weights)))
    centres = points[chosen].astype(np.float64)
    for _ in range(iterations):
        label = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        masses = np.bincount(label, weights, minlength=k)
        moved = np.stack([np.bincount(label, weights * points[:, i], minlength=k) for i in range(2)], -1)
        keep = masses > 0
        centres[keep] = moved[keep] / masses[keep, None]
    label = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    masses = np.bincount(label, weights, minlength=k)
    order = [i for i in np.argsort(-masses) if masses[i] > 0]
    return centres[order], masses[order]


def palette(probabilities: np.ndarray, lightness: float, count: int = SUGGESTIONS) -> list[Suggestion]:
    """The clusters of ``probabilities`` over the ab bins, heaviest first, as colours at ``lightness``; those
    under `MIN_PROBABILITY` left out (the first is always kept)."""
    from colorizer.hints import colour_hex

    centres, masses = weighted_kmeans(ab_bins.centers().astype(np.float64), probabilities, count)
    return [
        Suggestion(colour_hex((lightness, a, b)), float(mass), (float(a), float(b)))
        for i, ((a, b), mass) in enumerate(zip(centres, masses))
        if i == 0 or mass >= MIN_PROBABILITY
    ]


def suggest(
    model: "keras.Model",
    lightness: np.ndarray,
    x: float,
    y: float,
    hint_map: np.ndarray | None = None,
    count: int = SUGGESTIONS,
    distribution: "keras.Model | None" = None,
) -> list[Suggestion]:
    """The ``count`` most likely colours at (``x``, ``y``) (pixels of ``lightness``, the working-size L [h, w]),
    given ``hint_map`` [h, w, 3] (None: no hints), most likely first (`palette`). ``distribution``: the
    model's `distribution_model`, when the caller keeps one (building it takes about a second)."""
    from colorizer.inference.predict import network_input

    h, w = lightness.shape
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"the point ({x:g}, {y:g}) is outside the image, which is {w}x{h}")
    inputs = network_input(model, lightness[None, ..., None], None if hint_map is None else hint_map[None])
    probabilities = probabilities_at(distribution or distribution_model(model), inputs, int(y), int(x))
    return palette(probabilities, float(lightness[int(y), int(x)]), count)
