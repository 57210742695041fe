"""The step after the network that carries each hint's colour along the photograph (`FollowHints`), a Keras
layer without weights, registered as ``colorizer>FollowHints``.
"""

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from colorizer.network.ab_bins import Shape, Tensor


def _gaussian(sigma: float, radius: int) -> np.ndarray:
    """A Gaussian of ``sigma`` over -radius..radius, 1 at its centre."""
    return np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).astype(np.float32)


@keras.saving.register_keras_serializable(package="colorizer")
class FollowHints(layers.Layer):
    """Carries each hint's colour to the pixels around it of the same lightness, as the colorizations by
    propagation do (Levin, Lischinski and Weiss 2004), after the network rather than instead of it: a pixel takes
    the hints' colours weighted by their closeness in place and in lightness, and keeps the network's colour as
    far as that weight falls short of ``doubt`` (in blocks' worth of hinted pixels). Near a hint and of its
    lightness a pixel gets the hint's colour; far from every hint, or across an edge of lightness, it keeps the
    network's. The network itself reproduces a hint where it is but lets it fade a few pixels away, which this
    step does not.

    Called on ``[ab, hints, L]``: ab / 128 at 1/``pool`` of the size (the read-out), the hint map and raw L at full
    size. Each ``pool`` x ``pool`` block holding hinted pixels is a source with their summed colour, their count
    and their mean lightness. The weight of a source is a Gaussian of the difference in lightness (``tone``, in
    L units) times one of the distance (``reach``, in pixels of the full size) plus a wider one (``far``) of
    weight ``far_weight`` / (1 + cover / ``far_cover``) ** ``far_power``, where cover is the fraction of the
    photograph that is hinted: a near hint outweighs a far one, a lone hint reaches across a large object, and
    among many hints each keeps to its neighbourhood. The lightness is a bilateral grid (bins of ``tone`` / 2,
    linear in between), so the cost does not grow with the number of hints. No weights: a network is trained
    without it (on the logits), and it changes nothing without hints."""

    def __init__(
        self,
        pool: int = 4,
        reach: float = 24.0,
        tone: float = 6.0,
        doubt: float = 0.05,
        far: float = 80.0,
        far_weight: float = 0.5,
        far_cover: float = 0.00275,
        far_power: float = 1.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool, self.reach, self.tone, self.doubt = int(pool), float(reach), float(tone), float(doubt)
        self.far, self.far_weight = float(far), float(far_weight)
        self.far_cover, self.far_power = float(far_cover), float(far_power)
        self.step = self.tone / 2
        self.bins = int(np.ceil(100.0 / self.step)) + 1
        self.near_gaussian, self.far_gaussian = (
            _gaussian(r / self.pool, int(np.ceil(3 * r / self.pool))) for r in (self.reach, self.far)
        )
        across = np.arange(self.bins)
        self.along = np.exp(-0.5 * ((across[:, None] - across[None, :]) * self.step / self.tone) ** 2).astype(
            np.float32
        )

    @staticmethod
    def _blur(grid: Tensor, gaussian: np.ndarray) -> Tensor:
        """Each channel of ``grid`` [n, h, w, c] blurred by the separable ``gaussian`` (zeros outside)."""
        channels = grid.shape[-1]
        for shape in ((len(gaussian), 1), (1, len(gaussian))):
            kernel = np.tile(gaussian.reshape(*shape, 1, 1), (1, 1, channels, 1))
            grid = ops.depthwise_conv(grid, ops.convert_to_tensor(kernel, grid.dtype), 1, padding="same")
        return grid

    def _hat(self, lightness: Tensor) -> Tensor:
        """[n, h, w, 1] lightness -> [n, h, w, bins]: its linear weights on the grid's lightness bins."""
        centres = ops.convert_to_tensor(np.arange(self.bins, dtype=np.float32) * self.step, lightness.dtype)
        return ops.relu(1.0 - ops.abs(lightness - centres) / self.step)

    def call(self, inputs: Sequence[Tensor]) -> Tensor:
        ab, hint_map, lightness = inputs
        hint_map, lightness = ops.cast(hint_map, ab.dtype), ops.cast(lightness, ab.dtype)
        mask = hint_map[..., 2:]
        pooled = ops.average_pool(
            ops.concatenate([hint_map[..., :2] * mask, mask, mask * lightness, lightness], axis=-1),
            self.pool,
            strides=self.pool,
            padding="valid",
        ) * float(self.pool**2)  # sums a block
        colour, mass, lightness_small = pooled[..., :2], pooled[..., 2:3], pooled[..., 4:5] / float(self.pool**2)
        splat = self._hat(pooled[..., 3:4] / ops.maximum(mass, 1e-6)) * ops.cast(mass > 0, ab.dtype)
        grid = ops.concatenate([colour[..., :1] * splat, colour[..., 1:] * splat, mass * splat], axis=-1)
        cover = ops.mean(mask, axis=(1, 2, 3), keepdims=True)
        far_weight = self.far_weight * (1.0 + cover / self.far_cover) ** -self.far_power
        grid = self._blur(grid, self.near_gaussian) + far_weight * self._blur(grid, self.far_gaussian)
        along = ops.convert_to_tensor(self.along, ab.dtype)
        take = self._hat(lightness_small)
        b = self.bins
        colour_a, colour_b, weight = [
            ops.sum(ops.matmul(grid[..., i * b : (i + 1) * b], along) * take, axis=-1, keepdims=True) for i in range(3)
        ]
        # The hints' weighted colour, and the network's for the weight they lack: (sum w c + doubt ab) / (sum w + doubt)
        hinted = ops.concatenate([colour_a, colour_b], axis=-1)
        return ab + (hinted - weight * ab) / (weight + self.doubt * self.pool**2)

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        return input_shape[0]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool": self.pool,
            "reach": self.reach,
            "tone": self.tone,
            "doubt": self.doubt,
            "far": self.far,
            "far_weight": self.far_weight,
            "far_cover": self.far_cover,
            "far_power": self.far_power,
        }
