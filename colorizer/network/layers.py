"""The custom Keras layers of the networks (`colorizer.network.builder`), each registered under
``colorizer>ClassName``, the name a saved ``.keras`` file gives it: the read-out (`AnnealedMean`, `EnsembleMean`,
`Saturation`), the enlarging of the distribution head (`BilinearEnlarge`, `GuidedEnlarge`), the padding of every
convolution (`MirrorPadding`) and the hint branch's layers (`HintGate`, `SpreadHints`). The step that carries
the hints after the network is `colorizer.network.follow_hints`.
"""

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from colorizer.color import AB_SCALE
from colorizer.network import ab_bins
from colorizer.network.ab_bins import Shape, Tensor


@keras.saving.register_keras_serializable(package="colorizer")
class Saturation(layers.Layer):
    """ab / 128 times a saturation factor (1 = as predicted), kept within [-1, 1]."""

    def build(self, input_shape: Shape) -> None:
        self.factor = self.add_weight(shape=(), initializer="ones", trainable=False, name="factor")

    def call(self, ab: Tensor) -> Tensor:
        return ops.clip(ab * self.factor, -1.0, 1.0)


@keras.saving.register_keras_serializable(package="colorizer")
class AnnealedMean(layers.Layer):
    """Logits over the ab bins -> ab / 128: the mean of the distribution, rebalanced and sharpened.

    ``rebalance`` divides each colour's probability by its frequency in the training set to that power
    (``log_weights`` holds the log inverse frequencies, set by training): 0 keeps the network's calibrated
    distribution, whose mean is safe and greyish; towards 1 rare, saturated colours win. ``temperature`` 1
    gives the plain mean; lower values move towards the most likely colour (Zhang et al. use 0.38).
    """

    def build(self, input_shape: Shape) -> None:
        self.temperature = self.add_weight(shape=(), initializer="ones", trainable=False, name="temperature")
        self.rebalance = self.add_weight(shape=(), initializer="zeros", trainable=False, name="rebalance")
        self.log_weights = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", trainable=False, name="log_weights"
        )
        self.centers = ops.convert_to_tensor(ab_bins.centers() / AB_SCALE)

    def call(self, logits: Tensor) -> Tensor:
        logits = (logits + self.rebalance * self.log_weights) / self.temperature
        return ops.matmul(ops.softmax(logits, axis=-1), self.centers)


@keras.saving.register_keras_serializable(package="colorizer")
class MirrorPadding(layers.Layer):
    """Pads height and width by ``size`` pixels mirrored from the image (the edge row or column included, so
    that even a one-pixel-wide map, the bottleneck of an 8-pixel image, can be padded).

    A convolution padded with zeros sees a frame of mid-grey (0 after the input normalisation) around every
    photograph and learns a colour for it: a fringe along the borders. Mirrored padding shows it the
    photograph instead, so a uniform image stays uniform up to its edges."""

    def __init__(self, size: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x: Tensor) -> Tensor:
        s = self.size
        return ops.pad(x, [[0, 0], [s, s], [s, s], [0, 0]], mode="symmetric")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        grow = lambda side: None if side is None else side + 2 * self.size  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="colorizer")
class BilinearEnlarge(layers.Layer):
    """Enlarges each channel ``factor`` times, bilinearly: a fixed transposed convolution whose weights at each
    output pixel are divided by their sum, so that the pixels along the borders, which have fewer input
    neighbours, are not pulled towards 0 (grey). (UpSampling2D's bilinear mode fails in TensorFlow graphs of
    unknown image size; this does not.)"""

    def __init__(self, factor: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = int(factor)
        size = 2 * self.factor - self.factor % 2
        centre = self.factor - 1 if size % 2 == 1 else self.factor - 0.5
        ramp = 1 - np.abs(np.arange(size) - centre) / self.factor
        self.kernel = np.outer(ramp, ramp).astype(np.float32)[:, :, None, None]

    def call(self, x: Tensor) -> Tensor:
        kernel = ops.convert_to_tensor(self.kernel, dtype=x.dtype)
        channels = [x[..., i : i + 1] for i in range(x.shape[-1])]
        enlarged = [ops.conv_transpose(c, kernel, self.factor, padding="same") for c in channels]
        weights = ops.conv_transpose(ops.ones_like(channels[0]), kernel, self.factor, padding="same")
        return ops.concatenate(enlarged, axis=-1) / weights

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        grow = lambda side: None if side is None else side * self.factor  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="colorizer")
class GuidedEnlarge(BilinearEnlarge):
    """Enlarges the colour ``factor`` times guided by the photograph's full-resolution lightness: the fast
    guided filter (He, Sun and Tang, "Guided Image Filtering", 2013; Wu et al., "Fast End-to-End Trainable
    Guided Filter", 2018). Called on ``[ab, lightness]``: ab at 1/``factor`` of the size, raw L (0..100) at
    full size.

    Around each pixel of the small colour map, within ``radius`` pixels, the colour is fitted as a straight
    line in the lightness shrunk to the same size (block means); ``eps`` (in (L / 100) squared) keeps the line
    flat where the lightness barely varies. The fitted slopes and offsets, averaged, are enlarged bilinearly
    (`BilinearEnlarge`) and applied to the full-resolution lightness. Colour edges so follow the photograph's
    edges instead of a ``factor``-wide blur, and a uniform photograph still gets one colour up to its borders
    (no slope where the lightness does not vary; the averages at the borders are over the pixels inside).
    ``radius`` 0 is `BilinearEnlarge` exactly. It has no weights: a network is trained without it (on the
    logits) and it can be changed after training."""

    def __init__(self, factor: int, radius: int = 1, eps: float = 1e-4, **kwargs: Any) -> None:
        super().__init__(factor, **kwargs)
        self.radius, self.eps = int(radius), float(eps)

    def _box(self, x: Tensor) -> Tensor:
        """The mean over the (2 radius + 1)-pixel square around each pixel, of the pixels inside the image."""
        side = 2 * self.radius + 1
        return x if self.radius == 0 else ops.average_pool(x, side, strides=1, padding="same")

    def call(self, inputs: Sequence[Tensor]) -> Tensor:
        ab, lightness = inputs
        guide = ops.cast(lightness, ab.dtype) / 100.0
        small = ops.average_pool(guide, self.factor, strides=self.factor, padding="valid")
        mean_guide, mean_ab = self._box(small), self._box(ab)
        variance = self._box(small * small) - mean_guide * mean_guide
        slope = (self._box(small * ab) - mean_guide * mean_ab) / (variance + self.eps)
        offset = mean_ab - slope * mean_guide
        enlarged = super().call(ops.concatenate([self._box(slope), self._box(offset)], axis=-1))  # one pass
        channels = ab.shape[-1]
        return enlarged[..., :channels] * guide + enlarged[..., channels:]

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        ab_shape, lightness_shape = input_shape
        return (*lightness_shape[:3], ab_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "radius": self.radius, "eps": self.eps}


@keras.saving.register_keras_serializable(package="colorizer")
class EnsembleMean(layers.Layer):
    """The logits of ``train.members`` networks side by side -> the mean of their log-probabilities over the ab
    bins (`colorizer.network.ab_bins.ensemble_log_probs`), which the read-out takes as it takes one network's
    logits."""

    def call(self, logits: Tensor) -> Tensor:
        return ab_bins.ensemble_log_probs(logits)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], len(ab_bins.centers()))


@keras.saving.register_keras_serializable(package="colorizer")
class HintGate(layers.Layer):
    """Called on ``[prior, branch, hints]``: the hint-free networks' logits (or log-probabilities) over the ab
    bins, the hint branch's and the hint map -> the prior plus the branch in the images that have hints, the
    prior alone (exactly) in those that have none. The prior is held fixed (no gradient) here: the branch learns
    what the hints add to it, and the loss of what it gives never moves the networks that colour without hints,
    which so train as they would in a model without hints."""

    def call(self, inputs: Sequence[Tensor]) -> Tensor:
        prior, branch, hint_map = inputs
        hinted = ops.cast(ops.max(hint_map[..., 2:], axis=(1, 2, 3), keepdims=True) > 0, branch.dtype)
        return ops.stop_gradient(ops.cast(prior, branch.dtype)) + hinted * branch

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        return input_shape[0]


@keras.saving.register_keras_serializable(package="colorizer")
class SpreadHints(layers.Layer):
    """The hint map (a / 128, b / 128, mask) -> what the hints say around each pixel at 1/``pool`` of the size:
    the mean colour of the hinted pixels within ``radius`` pixels there (a normalised convolution: the box
    mean of the colours over the box mean of the mask), and how much of that box is hinted. With ``whole``, the
    mean colour of every hint in the image instead, at every pixel. No weights: a network learns how far to
    trust it. A convolution alone reaches a few pixels at each scale; this hands every level of the unet the
    nearest hints' colour, so that a few points can colour a whole object."""

    def __init__(self, pool: int = 1, radius: int = 2, whole: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool, self.radius, self.whole = int(pool), int(radius), bool(whole)

    def call(self, hint_map: Tensor) -> Tensor:
        hint_map = ops.cast(hint_map, self.compute_dtype)
        if self.pool > 1:
            hint_map = ops.average_pool(hint_map, self.pool, strides=self.pool, padding="valid")
        if self.whole:
            spread = ops.mean(hint_map, axis=(1, 2), keepdims=True) * ops.ones_like(hint_map[..., :1])
        else:
            spread = ops.average_pool(hint_map, 2 * self.radius + 1, strides=1, padding="same")
        cover = spread[..., 2:]
        return ops.concatenate([spread[..., :2] / (cover + 1e-4), cover], axis=-1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shrink = lambda side: None if side is None else side // self.pool  # noqa: E731
        return (input_shape[0], shrink(input_shape[1]), shrink(input_shape[2]), input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "pool": self.pool, "radius": self.radius, "whole": self.whole}
