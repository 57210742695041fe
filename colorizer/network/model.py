"""The colorization networks, built with the Keras 3 functional API.

Every saved network takes raw L (shape [H, W, 1], values 0..100) and returns ab / 128 in [-1, 1]. The input
normalisation and the read-out are layers inside the model, so callers never normalise. The networks halve
the image three times, so H and W must be multiples of `DOWNSAMPLING`.

Two heads:
- ``regression``: ab through tanh, trained with MSE (or MAE/Huber): the article's approach.
- ``distribution``: logits over the ab bins of `colorizer.network.ab_bins` at 1/4 resolution, trained with rebalanced
  cross-entropy; the `AnnealedMean` read-out turns them into one colour, then it is enlarged 4x along the
  photograph's own edges (`GuidedEnlarge`).

With ``members`` > 1 the distribution head's unet is an ensemble in one model: that many U-Nets side by side,
read out from the mean of their log-probabilities (`EnsembleMean`).

A unet built ``with_hints`` also reads a hint map (`colorizer.hints`): the colours a user gives at some
pixels, which it learns to spread along the photograph's edges. With the distribution head a hint branch
learns what the hints add to the hint-free networks' logits (`HintGate`), so that without hints the model
colours exactly as those do.

Both end in the vividness read-out: `AnnealedMean`'s rebalancing and temperature (distribution head) and
`Saturation`.
They are weights of the model, so `set_vividness` changes them without retraining.
"""

import keras
import numpy as np
from keras import layers, ops

from colorizer import HINT_CHANNELS
from colorizer.network import ab_bins
from colorizer.color import AB_SCALE

ARCHS = ("seed", "unet")
HEADS = ("regression", "distribution")
# The output layers compute in float32 even under a mixed-precision policy (train.mixed_precision), so every
# network still returns float32 ab / 128 and its loss (tanh, softmax cross-entropy) is taken in float32.
OUTPUT_DTYPE = "float32"


@keras.saving.register_keras_serializable(package="colorizer")
class Saturation(layers.Layer):
    """ab / 128 times a saturation factor (1 = as predicted), kept within [-1, 1]."""

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(), initializer="ones", trainable=False, name="factor")

    def call(self, ab):
        return ops.clip(ab * self.factor, -1.0, 1.0)


@keras.saving.register_keras_serializable(package="colorizer")
class AnnealedMean(layers.Layer):
    """Logits over the ab bins -> ab / 128: the mean of the distribution, rebalanced and sharpened.

    ``rebalance`` divides each colour's probability by its frequency in the training set to that power
    (``log_weights`` holds the log inverse frequencies, set by training): 0 keeps the network's calibrated
    distribution, whose mean is safe and greyish; towards 1 rare, saturated colours win. ``temperature`` 1
    gives the plain mean; lower values move towards the most likely colour (Zhang et al. use 0.38).
    """

    def build(self, input_shape):
        self.temperature = self.add_weight(shape=(), initializer="ones", trainable=False, name="temperature")
        self.rebalance = self.add_weight(shape=(), initializer="zeros", trainable=False, name="rebalance")
        self.log_weights = self.add_weight(shape=(input_shape[-1],), initializer="zeros", trainable=False,
                                           name="log_weights")
        self.centers = ops.convert_to_tensor(ab_bins.centers() / AB_SCALE)

    def call(self, logits):
        logits = (logits + self.rebalance * self.log_weights) / self.temperature
        return ops.matmul(ops.softmax(logits, axis=-1), self.centers)


@keras.saving.register_keras_serializable(package="colorizer")
class MirrorPadding(layers.Layer):
    """Pads height and width by ``size`` pixels mirrored from the image (the edge row or column included, so
    that even a one-pixel-wide map, the bottleneck of an 8-pixel image, can be padded).

    A convolution padded with zeros sees a frame of mid-grey (0 after the input normalisation) around every
    photograph and learns a colour for it: a fringe along the borders. Mirrored padding shows it the
    photograph instead, so a uniform image stays uniform up to its edges."""

    def __init__(self, size: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x):
        s = self.size
        return ops.pad(x, [[0, 0], [s, s], [s, s], [0, 0]], mode="symmetric")

    def compute_output_shape(self, input_shape):
        grow = lambda side: None if side is None else side + 2 * self.size  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="colorizer")
class BilinearEnlarge(layers.Layer):
    """Enlarges each channel ``factor`` times, bilinearly: a fixed transposed convolution whose weights at each
    output pixel are divided by their sum, so that the pixels along the borders, which have fewer input
    neighbours, are not pulled towards 0 (grey). (UpSampling2D's bilinear mode fails in TensorFlow graphs of
    unknown image size; this does not.)"""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)
        size = 2 * self.factor - self.factor % 2
        centre = self.factor - 1 if size % 2 == 1 else self.factor - 0.5
        ramp = 1 - np.abs(np.arange(size) - centre) / self.factor
        self.kernel = np.outer(ramp, ramp).astype(np.float32)[:, :, None, None]

    def call(self, x):
        kernel = ops.convert_to_tensor(self.kernel, dtype=x.dtype)
        channels = [x[..., i:i + 1] for i in range(x.shape[-1])]
        enlarged = [ops.conv_transpose(c, kernel, self.factor, padding="same") for c in channels]
        weights = ops.conv_transpose(ops.ones_like(channels[0]), kernel, self.factor, padding="same")
        return ops.concatenate(enlarged, axis=-1) / weights

    def compute_output_shape(self, input_shape):
        grow = lambda side: None if side is None else side * self.factor  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
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

    def __init__(self, factor: int, radius: int = 1, eps: float = 1e-4, **kwargs):
        super().__init__(factor, **kwargs)
        self.radius, self.eps = int(radius), float(eps)

    def _box(self, x):
        """The mean over the (2 radius + 1)-pixel square around each pixel, of the pixels inside the image."""
        side = 2 * self.radius + 1
        return x if self.radius == 0 else ops.average_pool(x, side, strides=1, padding="same")

    def call(self, inputs):
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

    def compute_output_shape(self, input_shape):
        ab_shape, lightness_shape = input_shape
        return (*lightness_shape[:3], ab_shape[-1])

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "eps": self.eps}


def _conv(x, filters, strides=1, activation="relu", dtype=None, mirror=False):
    """A 3x3 convolution; with ``mirror``, padded with the image mirrored (`MirrorPadding`), not zeros."""
    if mirror and strides == 1:
        return layers.Conv2D(filters, 3, padding="valid", activation=activation, dtype=dtype)(MirrorPadding(1)(x))
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation=activation, dtype=dtype)(x)


def _normalised_input():
    lightness = keras.Input(shape=(None, None, 1), name="L")
    return lightness, layers.Rescaling(1.0 / 50.0, offset=-1.0, name="L_to_unit")(lightness)


def _hint_input():
    """The hint map (`colorizer.hints`): a / 128, b / 128 and a mask of where hints are; zeros for none."""
    return keras.Input(shape=(None, None, HINT_CHANNELS), name="hints")


def build_seed() -> keras.Model:
    """The article's network: an 8-8-16-16-32-32 encoder, then upsampling + convolution back to ab."""
    lightness, x = _normalised_input()
    x = _conv(x, 8, strides=2)
    x = _conv(x, 8)
    x = _conv(x, 16)
    x = _conv(x, 16, strides=2)
    x = _conv(x, 32)
    x = _conv(x, 32, strides=2)
    x = layers.UpSampling2D()(x)
    x = _conv(x, 32)
    x = layers.UpSampling2D()(x)
    x = _conv(x, 16)
    x = layers.UpSampling2D()(x)
    ab = _conv(x, 2, activation="tanh", dtype=OUTPUT_DTYPE)
    return keras.Model(lightness, Saturation(name="saturation", dtype=OUTPUT_DTYPE)(ab), name="seed")


def _global_context(x, channels: int, prefix: str = ""):
    """``x`` plus a summary of the whole image: its mean features through two dense layers, added at every
    position (the fusion of global and local features of Iizuka, Simo-Serra and Ishikawa, "Let there be
    Color!", 2016). Convolutions only see a neighbourhood; whether the scene is a beach or a forest is a
    question about the whole photograph, and this answers it at any image size."""
    summary = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}context_mean")(x)
    summary = layers.Dense(channels, activation="relu", name=f"{prefix}context_1")(summary)
    summary = layers.Dense(channels, name=f"{prefix}context_2")(summary)
    return layers.Add(name=f"{prefix}with_context")([x, summary])


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

    def __init__(self, pool: int = 4, reach: float = 24.0, tone: float = 6.0, doubt: float = 0.05,
                 far: float = 80.0, far_weight: float = 0.5, far_cover: float = 0.00275, far_power: float = 1.5,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool, self.reach, self.tone, self.doubt = int(pool), float(reach), float(tone), float(doubt)
        self.far, self.far_weight = float(far), float(far_weight)
        self.far_cover, self.far_power = float(far_cover), float(far_power)
        self.step = self.tone / 2
        self.bins = int(np.ceil(100.0 / self.step)) + 1
        self.near_gaussian, self.far_gaussian = (_gaussian(r / self.pool, int(np.ceil(3 * r / self.pool)))
                                                 for r in (self.reach, self.far))
        across = np.arange(self.bins)
        self.along = np.exp(-0.5 * ((across[:, None] - across[None, :]) * self.step / self.tone) ** 2
                            ).astype(np.float32)

    @staticmethod
    def _blur(grid, gaussian):
        """Each channel of ``grid`` [n, h, w, c] blurred by the separable ``gaussian`` (zeros outside)."""
        channels = grid.shape[-1]
        for shape in ((len(gaussian), 1), (1, len(gaussian))):
            kernel = np.tile(gaussian.reshape(*shape, 1, 1), (1, 1, channels, 1))
            grid = ops.depthwise_conv(grid, ops.convert_to_tensor(kernel, grid.dtype), 1, padding="same")
        return grid

    def _hat(self, lightness):
        """[n, h, w, 1] lightness -> [n, h, w, bins]: its linear weights on the grid's lightness bins."""
        centres = ops.convert_to_tensor(np.arange(self.bins, dtype=np.float32) * self.step, lightness.dtype)
        return ops.relu(1.0 - ops.abs(lightness - centres) / self.step)

    def call(self, inputs):
        ab, hint_map, lightness = inputs
        hint_map, lightness = ops.cast(hint_map, ab.dtype), ops.cast(lightness, ab.dtype)
        mask = hint_map[..., 2:]
        pooled = ops.average_pool(ops.concatenate([hint_map[..., :2] * mask, mask, mask * lightness, lightness],
                                                  axis=-1), self.pool, strides=self.pool, padding="valid"
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
        colour_a, colour_b, weight = [ops.sum(ops.matmul(grid[..., i * b:(i + 1) * b], along) * take, axis=-1,
                                              keepdims=True) for i in range(3)]
        # The hints' weighted colour, and the network's for the weight they lack: (sum w c + doubt ab) / (sum w + doubt)
        hinted = ops.concatenate([colour_a, colour_b], axis=-1)
        return ab + (hinted - weight * ab) / (weight + self.doubt * self.pool**2)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "pool": self.pool, "reach": self.reach, "tone": self.tone,
                "doubt": self.doubt, "far": self.far, "far_weight": self.far_weight, "far_cover": self.far_cover,
                "far_power": self.far_power}


@keras.saving.register_keras_serializable(package="colorizer")
class EnsembleMean(layers.Layer):
    """The logits of ``train.members`` networks side by side -> the mean of their log-probabilities over the ab
    bins (`colorizer.network.ab_bins.ensemble_log_probs`), which the read-out takes as it takes one network's logits."""

    def call(self, logits):
        return ab_bins.ensemble_log_probs(logits)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(ab_bins.centers()))


@keras.saving.register_keras_serializable(package="colorizer")
class HintGate(layers.Layer):
    """Called on ``[prior, branch, hints]``: the hint-free networks' logits (or log-probabilities) over the ab
    bins, the hint branch's and the hint map -> the prior plus the branch in the images that have hints, the
    prior alone (exactly) in those that have none. The prior is held fixed (no gradient) here: the branch learns
    what the hints add to it, and the loss of what it gives never moves the networks that colour without hints,
    which so train as they would in a model without hints."""

    def call(self, inputs):
        prior, branch, hint_map = inputs
        hinted = ops.cast(ops.max(hint_map[..., 2:], axis=(1, 2, 3), keepdims=True) > 0, branch.dtype)
        return ops.stop_gradient(ops.cast(prior, branch.dtype)) + hinted * branch

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="colorizer")
class SpreadHints(layers.Layer):
    """The hint map (a / 128, b / 128, mask) -> what the hints say around each pixel at 1/``pool`` of the size:
    the mean colour of the hinted pixels within ``radius`` pixels there (a normalised convolution: the box
    mean of the colours over the box mean of the mask), and how much of that box is hinted. With ``whole``, the
    mean colour of every hint in the image instead, at every pixel. No weights: a network learns how far to
    trust it. A convolution alone reaches a few pixels at each scale; this hands every level of the unet the
    nearest hints' colour, so that a few points can colour a whole object."""

    def __init__(self, pool: int = 1, radius: int = 2, whole: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pool, self.radius, self.whole = int(pool), int(radius), bool(whole)

    def call(self, hint_map):
        hint_map = ops.cast(hint_map, self.compute_dtype)
        if self.pool > 1:
            hint_map = ops.average_pool(hint_map, self.pool, strides=self.pool, padding="valid")
        if self.whole:
            spread = ops.mean(hint_map, axis=(1, 2), keepdims=True) * ops.ones_like(hint_map[..., :1])
        else:
            spread = ops.average_pool(hint_map, 2 * self.radius + 1, strides=1, padding="same")
        cover = spread[..., 2:]
        return ops.concatenate([spread[..., :2] / (cover + 1e-4), cover], axis=-1)

    def compute_output_shape(self, input_shape):
        shrink = lambda side: None if side is None else side // self.pool  # noqa: E731
        return (input_shape[0], shrink(input_shape[1]), shrink(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool": self.pool, "radius": self.radius, "whole": self.whole}


def _spread_hints(hint_map) -> list:
    """What `SpreadHints` gives each level of a unet: full, 1/2, 1/4 and 1/8 of the size (the bottleneck, with
    the whole image's hints beside)."""
    levels = [SpreadHints(2**level, radius=2 + (level == 3), name=f"hints_at_{2**level}")(hint_map)
              for level in range(4)]
    levels[3] = layers.Concatenate(name="hints_at_bottleneck")(
        [levels[3], SpreadHints(8, whole=True, name="hints_whole")(hint_map)])
    return levels


def _unet_trunk(x, width: int, head: str, global_context: bool, prefix: str = "", hints: list | None = None):
    """One U-Net on the normalised lightness ``x``, up to its features before the head; ``hints``: what the
    hints say at each level (`_spread_hints`), joined to that level's input."""
    join = (lambda x, level: layers.Concatenate()([x, hints[level]])) if hints else (lambda x, level: x)  # noqa
    skips = []
    for level in range(3):
        x = _conv(_conv(join(x, level), width * 2**level, mirror=True), width * 2**level, mirror=True)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = _conv(_conv(join(x, 3), width * 8, mirror=True), width * 8, mirror=True)
    if global_context:
        x = _global_context(x, width * 8, prefix)
    last_level = 0 if head == "regression" else 2
    for level in reversed(range(last_level, 3)):
        # Nearest, not bilinear: TensorFlow's bilinear resize cannot take the unknown height and width
        # of a predict function that Keras has relaxed after a second image size.
        x = layers.UpSampling2D()(x)
        x = layers.Concatenate()([x, skips[level]])
        x = _conv(_conv(x, width * 2**level, mirror=True), width * 2**level, mirror=True)
    return x


def build_unet(width: int = 16, head: str = "regression", global_context: bool = False, members: int = 1,
               with_hints: bool = False) -> keras.Model:
    """A small U-Net: ``width``, 2x, 4x, 8x channels, three poolings, skip connections at each scale, and
    with ``global_context`` the image's mean features added at the bottleneck (`_global_context`).

    The regression head decodes back to full resolution; the distribution head stops at 1/4 resolution,
    where it predicts logits over the ab bins (the layer named ``logits``, what training fits).

    ``members`` > 1 (distribution head only) builds that many U-Nets side by side, each initialised
    differently: an ensemble in one model. Their logits are concatenated (``logits``; training fits each
    network to the targets on its own, `colorizer.network.ab_bins.distribution_loss`), and the read-out takes the mean
    of their log-probabilities (`EnsembleMean`).

    Every 3x3 convolution is padded with the image mirrored (`MirrorPadding`) and the distribution head's
    enlarging is normalised at the borders: a uniform photograph gets one colour up to its edges, where zero
    padding gave a coloured fringe. That enlarging is guided by the full-resolution lightness
    (`GuidedEnlarge`), so colour edges follow the photograph's.

    ``with_hints`` adds a second input, the hint map (`colorizer.hints`): the model then takes ``{"L": ...,
    "hints": ...}``. With the distribution head it feeds a hint branch beside the networks above, which see the
    lightness alone: one more U-Net of the same width whose first convolution reads the hint map with the
    lightness, and every level what the hints say around each pixel at that scale (`SpreadHints`). Its logits
    (``hint_logits``, zero at the start) are added to the networks' where an image has hints (`HintGate`, the
    ``hinted_logits``), so a model with hints colours a photograph without any exactly as its hint-free networks
    do, and those train exactly as in a model without hints; each hint's colour is then carried to the pixels
    around it of its lightness (`FollowHints`), before the enlarging. The regression head
    reads the hint map in its one network.
    """
    if members > 1 and head != "distribution":
        raise ValueError(f"an ensemble of {members} networks needs the distribution head, not {head!r}")
    lightness, x = _normalised_input()
    inputs = lightness
    if with_hints:
        hint_map = _hint_input()
        inputs = {"L": lightness, "hints": hint_map}
    # Each trunk is built before the layer that follows it: a layer draws its initial weights' seed when it is
    # made, so this order gives a seeded network the weights it had before ensembles existed, and the hint-free
    # networks of a model with hints those of the same model without.
    if head == "regression":
        trunk_input, spread = x, None
        if with_hints:
            trunk_input = layers.Concatenate(name="with_hints")([x, hint_map])
            spread = _spread_hints(hint_map)
        features = _unet_trunk(trunk_input, width, head, global_context, hints=spread)
        ab = layers.Conv2D(2, 1, activation="tanh", name="ab", dtype=OUTPUT_DTYPE)(features)
    else:
        q = len(ab_bins.centers())
        if members == 1:
            features = _unet_trunk(x, width, head, global_context)
            logits = layers.Conv2D(q, 1, name="logits", dtype=OUTPUT_DTYPE)(features)
        else:
            each = []
            for i in range(members):
                features = _unet_trunk(x, width, head, global_context, prefix=f"m{i}_")
                each.append(layers.Conv2D(q, 1, name=f"m{i}_logits", dtype=OUTPUT_DTYPE)(features))
            logits = layers.Concatenate(name="logits", dtype=OUTPUT_DTYPE)(each)
            logits = EnsembleMean(name="ensemble_mean", dtype=OUTPUT_DTYPE)(logits)
        if with_hints:
            branch = _unet_trunk(layers.Concatenate(name="with_hints")([x, hint_map]), width, head, global_context,
                                 prefix="hint_", hints=_spread_hints(hint_map))
            branch = layers.Conv2D(q, 1, kernel_initializer="zeros", name="hint_logits", dtype=OUTPUT_DTYPE)(branch)
            logits = HintGate(name="hinted_logits", dtype=OUTPUT_DTYPE)([logits, branch, hint_map])
        ab = AnnealedMean(name="annealed_mean", dtype=OUTPUT_DTYPE)(logits)
        if with_hints:
            ab = FollowHints(ab_bins.POOL, name="follow_hints", dtype=OUTPUT_DTYPE)([ab, hint_map, lightness])
        ab = GuidedEnlarge(ab_bins.POOL, name="enlarge", dtype=OUTPUT_DTYPE)([ab, lightness])
    name = f"unet_{head}" if members == 1 else f"unet_{head}_x{members}"
    return keras.Model(inputs, Saturation(name="saturation", dtype=OUTPUT_DTYPE)(ab),
                       name=name + ("_hints" if with_hints else ""))


def build(arch: str, width: int = 16, head: str = "regression", global_context: bool = False, members: int = 1,
          with_hints: bool = False) -> keras.Model:
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {', '.join(HEADS)}")
    if arch == "seed":
        if head != "regression" or members != 1 or with_hints:
            raise ValueError("the seed network has only the regression head, no ensemble and no hints")
        return build_seed()
    return build_unet(width, head, global_context, members, with_hints)


def has_distribution_head(model: keras.Model) -> bool:
    """Whether ``model`` ends in the distribution head's read-out (`AnnealedMean`), rather than a regression."""
    return any(layer.name == "annealed_mean" for layer in model.layers)


def has_hint_branch(model: keras.Model) -> bool:
    """Whether ``model`` colours with hints through a hint branch beside its hint-free networks (`HintGate`)."""
    return any(isinstance(layer, HintGate) for layer in model.layers)


def training_model(model: keras.Model) -> keras.Model:
    """What training fits: the model itself, or for a distribution head the same layers up to the logits; with a
    hint branch, up to ``[logits, hinted_logits]``: the hint-free networks' and what the hints make of them."""
    if not has_distribution_head(model):
        return model
    if has_hint_branch(model):
        return keras.Model(model.inputs, [model.get_layer("logits").output, model.get_layer("hinted_logits").output])
    return keras.Model(model.inputs, model.get_layer("logits").output)


def set_vividness(model: keras.Model, temperature: float | None = None, saturation: float | None = None,
                  rebalance: float | None = None):
    """Set the read-out of a built or loaded model: the annealed mean's temperature and rebalancing
    (distribution head only) and the saturation factor. Returns the model."""
    for name, value in (("temperature", temperature), ("rebalance", rebalance)):
        if value is not None:
            if not has_distribution_head(model):
                raise ValueError(f"{name} applies to the distribution head only")
            getattr(model.get_layer("annealed_mean"), name).assign(value)
    if saturation is not None:
        model.get_layer("saturation").factor.assign(saturation)
    return model
