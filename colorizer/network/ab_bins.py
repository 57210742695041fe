"""Colour as a distribution: the ab plane quantized into bins, after Zhang, Isola and Efros, "Colorful Image
Colorization" (ECCV 2016).

A network with a distribution head predicts, for each pixel, a probability over `centers` (a 10-unit grid of
the in-gamut ab plane). Training targets are soft: a Gaussian (sigma 5) over the bins near the true colour.
Class rebalancing can weigh each pixel by how rare its colour is in the training set (`rebalancing_weights`,
``train.rebalance``), so that the network does not settle on the common desaturated browns; by default it does
not (``train.rebalance: 0``): the loss is the plain cross-entropy plus the mean colour's error
(``train.colour_loss``), and the read-out rebalances instead (``export.rebalance``), without retraining. The
read-out (the annealed mean, `colorizer.network.layers.AnnealedMean`) turns the distribution back into one colour,
vivid or safe by its temperature.
"""

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import numpy as np
from keras import ops

from colorizer.color import AB_SCALE, lab_to_linear_rgb

GRID = 10.0  # bin spacing in Lab units
SIGMA = 5.0  # soft-encoding width in Lab units
POOL = 4  # the distribution is predicted at 1/4 of the image's resolution

Tensor: TypeAlias = Any  # a backend tensor (TensorFlow's), or a KerasTensor while a model is built
Shape: TypeAlias = tuple[int | None, ...]  # a tensor's shape, None where it is not known


class Split(Protocol):
    """Rows of Lab images (a `colorizer.data.shards.LabSplit`)."""

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> np.ndarray: ...


@functools.cache
def centers() -> np.ndarray:
    """[Q, 2] ab centres of the 10-unit grid cells that hold an sRGB colour (at any lightness)."""
    axis = np.arange(-110.0, 110.0 + 1, GRID)
    a, b = (v.ravel() for v in np.meshgrid(axis, axis, indexing="ij"))
    offsets = np.array([-4.0, 0.0, 4.0])  # a 3x3 set of points across each cell
    da, db = (v.ravel() for v in np.meshgrid(offsets, offsets, indexing="ij"))
    pa, pb = a[:, None] + da, b[:, None] + db  # [cells, 9]
    lightness = np.arange(1.0, 100.0, 1.0)[:, None, None]
    linear = lab_to_linear_rgb(lightness, pa, pb)  # without the clipping of scikit-image's conversions
    inside = np.all((linear >= 0.0) & (linear <= 1.0), axis=-1).any(axis=(0, 2))
    return np.stack([a[inside], b[inside]], -1).astype(np.float32)


def nearest_bins(ab: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each ab pair, [..., 2] -> [...]."""
    c = centers()
    flat = ab.reshape(-1, 2)
    d2 = (flat[:, None, 0] - c[None, :, 0]) ** 2 + (flat[:, None, 1] - c[None, :, 1]) ** 2
    return np.argmin(d2, axis=1).reshape(ab.shape[:-1])


def pooled_ab(lab: np.ndarray) -> np.ndarray:
    """ab of a Lab batch [n, H, W, 3] averaged over POOL x POOL blocks: [n, H // 4, W // 4, 2] (a remainder
    of rows or columns is left out)."""
    n, h, w, _ = lab.shape
    h, w = h - h % POOL, w - w % POOL
    return lab[:, :h, :w, 1:].reshape(n, h // POOL, POOL, w // POOL, POOL, 2).mean(axis=(2, 4))


def rebalancing_weights(split: Split, strength: float, batch: int = 64) -> np.ndarray:
    """[Q] weights from the colour frequencies of ``split`` (a `LabSplit`): 1 / (strength * p + (1 -
    strength) / Q), with p the bin frequencies smoothed by a Gaussian (sigma 5), normalised so that the
    expected weight is 1. ``strength`` 0 weighs every colour alike; Zhang et al. use 0.5."""
    c = centers()
    counts = np.zeros(len(c))
    for start in range(0, len(split), batch):
        lab = split.take(np.arange(start, min(start + batch, len(split))))
        counts += np.bincount(nearest_bins(pooled_ab(lab)).ravel(), minlength=len(c))
    p = counts / max(counts.sum(), 1.0)
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * SIGMA**2))
    smoothed = kernel @ p / kernel.sum(axis=1)
    smoothed /= smoothed.sum()
    weights = 1.0 / (strength * smoothed + (1.0 - strength) / len(c))
    weights /= (smoothed * weights).sum()
    return weights.astype(np.float32)


def soft_targets(ab_scaled: Tensor, bin_centers: Tensor) -> Tensor:
    """Soft one-hot targets [..., Q] for true colours ab / 128 at full resolution, pooled to 1/4."""
    ab = ops.average_pool(ab_scaled * AB_SCALE, POOL, strides=POOL, padding="valid")
    d2 = ops.sum((ops.expand_dims(ab, -2) - bin_centers) ** 2, axis=-1)
    return ops.softmax(-d2 / (2 * SIGMA**2), axis=-1)


def members_of(logits: Tensor) -> int:
    """How many networks' logits ``logits`` [..., members * Q] holds side by side (`train.members`)."""
    return logits.shape[-1] // len(centers())


def per_member(logits: Tensor) -> Tensor:
    """[..., members * Q] -> [..., members, Q]: each network of an ensemble on its own axis."""
    return ops.stack(ops.split(logits, members_of(logits), axis=-1), axis=-2)


def ensemble_log_probs(logits: Tensor) -> Tensor:
    """[..., members * Q] -> [..., Q]: the mean of the networks' log-probabilities (one network's logits are
    returned as they are). Read out like logits, this is the normalised product of their distributions."""
    if members_of(logits) == 1:
        return logits
    return ops.mean(ops.log_softmax(per_member(logits), axis=-1), axis=-2)


def _colour_error(ab_scaled: Tensor, logits: Tensor, per_network: bool = False) -> Tensor:
    """Mean squared error in Lab units between the plain mean of each distribution in ``logits`` [B, h, w,
    (N,) Q] and the true colour pooled to the logits' 1/4 resolution: [B], or [B, N] with ``per_network``."""
    truth = ops.average_pool(ab_scaled * AB_SCALE, POOL, strides=POOL, padding="valid")
    mean = ops.matmul(ops.softmax(logits, axis=-1), ops.convert_to_tensor(centers()))
    if not per_network:
        return ops.mean((mean - truth) ** 2, axis=(1, 2, 3))
    return ops.mean((mean - ops.expand_dims(truth, -2)) ** 2, axis=(1, 2, 4))


def mean_colour_error(ab_scaled: Tensor, logits: Tensor) -> Tensor:
    """The colour error of the distribution's plain mean (temperature 1, no rebalancing), as a Keras metric:
    mean squared error of a and b in Lab units, at the 1/4 resolution of the logits. For an ensemble's logits,
    that of the ensemble's distribution (`ensemble_log_probs`): the colour it gives."""
    return _colour_error(ab_scaled, ensemble_log_probs(logits))


COLOUR_LOSS_UNIT = 100.0  # train.colour_loss 1 adds the mean colour's squared error in Lab units / 100


def distribution_loss(weights: np.ndarray, colour_weight: float = 0.0) -> Callable[[Tensor, Tensor], Tensor]:
    """Cross-entropy between soft targets and the predicted logits ([B, H/4, W/4, Q]), each pixel weighed by
    its target's ``weights`` over the bins (`rebalancing_weights`: all 1 at ``train.rebalance`` 0), plus, with
    ``colour_weight`` (train.colour_loss), that many times the squared error of the distribution's plain mean
    (`mean_colour_error`, in Lab units squared, over `COLOUR_LOSS_UNIT`): the cross-entropy fits the whole
    distribution, the added term the one colour read out of it.

    The logits of an ensemble (`train.members`, [..., N * Q]) give the sum of each network's own loss, so
    every network is trained exactly as if alone: their weights are separate, so the gradient of the sum reaches
    each through its own term only, unscaled. (A mean would divide each gradient by N; Adam's epsilon then
    changes the steps, and after 30 steps a network's weights were 25% away from its lone training's.)"""
    bin_centers = ops.convert_to_tensor(centers())
    bin_weights = ops.convert_to_tensor(weights)

    def loss(ab_scaled: Tensor, logits: Tensor) -> Tensor:
        target = soft_targets(ab_scaled, bin_centers)
        ensemble = members_of(logits) > 1
        if ensemble:  # [B, h, w, N, Q]: each network fits the targets on its own
            target, logits = ops.expand_dims(target, -2), per_member(logits)
        # (One network's loss is computed exactly as before ensembles: the same operations, the same rounding,
        # so a seeded training gives the same network to the last bit.)
        pixel_weight = ops.sum(target * bin_weights, axis=-1)
        cross_entropy = -ops.sum(target * ops.log_softmax(logits, axis=-1), axis=-1)
        total = ops.mean(pixel_weight * cross_entropy, axis=(1, 2))  # [B], or [B, N]
        if colour_weight:
            total = total + colour_weight / COLOUR_LOSS_UNIT * _colour_error(ab_scaled, logits, per_network=ensemble)
        return ops.sum(total, axis=-1) if ensemble else total  # an ensemble's: its networks' losses added up

    return loss
