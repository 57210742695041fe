"""The colorization networks, built with the Keras 3 functional API.

Every saved network takes raw L (shape [H, W, 1], values 0..100) and returns ab / 128 in [-1, 1]. The input
normalisation and the read-out are layers inside the model, so callers never normalise. The networks halve
the image three times, so H and W must be multiples of `DOWNSAMPLING`.

Two heads:
- ``regression``: ab through tanh, trained with MSE (or MAE/Huber): the article's approach.
- ``distribution``: logits over the ab bins of `colorizer.ab_bins` at 1/4 resolution, trained with rebalanced
  cross-entropy; the `AnnealedMean` read-out turns them into one colour, then it is enlarged 4x.

Both end in the vividness read-out: `AnnealedMean`'s rebalancing and temperature (distribution head) and
`Saturation`.
They are weights of the model, so `set_vividness` changes them without retraining.

The colorizer that export writes wraps the trained network in `with_mirrored_border`: it predicts for the
photograph mirrored beyond its edges and crops back, so no border gets the colour of the convolutions' zero
padding.
"""

import keras
import numpy as np
from keras import layers, ops

from colorizer import DOWNSAMPLING, ab_bins
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
class MirrorBorder(layers.Layer):
    """Images [n, H, W, c] -> [n, H + 2p, W + 2p, c]: ``pixels`` (p) more on every side, mirrored about the edge
    row or column (which is not repeated), of any size, even smaller than p (the reflection then repeats)."""

    def __init__(self, pixels: int, **kwargs):
        super().__init__(**kwargs)
        self.pixels = pixels

    def call(self, images):
        for axis in (1, 2):
            size = ops.shape(images)[axis]
            period = ops.maximum(2 * (size - 1), 1)
            steps = ops.mod(ops.arange(-self.pixels, size + self.pixels), period)
            images = ops.take(images, ops.where(steps < size, steps, period - steps), axis=axis)
        return images

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels}


@keras.saving.register_keras_serializable(package="colorizer")
class CropBorder(layers.Layer):
    """Images [n, H, W, c] -> [n, H - 2p, W - 2p, c]: what `MirrorBorder` (p = ``pixels``) added, taken off."""

    def __init__(self, pixels: int, **kwargs):
        super().__init__(**kwargs)
        self.pixels = pixels

    def call(self, images):
        p = self.pixels
        return images[:, p:ops.shape(images)[1] - p, p:ops.shape(images)[2] - p, :]

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels}


@keras.saving.register_keras_serializable(package="colorizer")
class FlipLeftRight(layers.Layer):
    """Images [n, H, W, c] mirrored left to right."""

    def call(self, images):
        return ops.flip(images, axis=2)


def _conv(x, filters, strides=1, activation="relu", dtype=None):
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation=activation, dtype=dtype)(x)


def _normalised_input():
    lightness = keras.Input(shape=(None, None, 1), name="L")
    return lightness, layers.Rescaling(1.0 / 50.0, offset=-1.0, name="L_to_unit")(lightness)


def _bilinear_upsampling(factor: int, channels: int, name: str):
    """A fixed transposed convolution that enlarges each channel bilinearly by ``factor``.

    (UpSampling2D's bilinear mode fails in TensorFlow graphs of unknown image size; this does not.)
    """
    size = 2 * factor - factor % 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(size) - centre) / factor
    kernel = np.zeros((size, size, channels, channels), np.float32)
    for c in range(channels):
        kernel[:, :, c, c] = np.outer(ramp, ramp)
    return layers.Conv2DTranspose(channels, size, strides=factor, padding="same", use_bias=False,
                                  trainable=False, kernel_initializer=keras.initializers.Constant(kernel),
                                  name=name, dtype=OUTPUT_DTYPE)


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


def _global_context(x, channels: int):
    """``x`` plus a summary of the whole image: its mean features through two dense layers, added at every
    position (the fusion of global and local features of Iizuka, Simo-Serra and Ishikawa, "Let there be
    Color!", 2016). Convolutions only see a neighbourhood; whether the scene is a beach or a forest is a
    question about the whole photograph, and this answers it at any image size."""
    summary = layers.GlobalAveragePooling2D(keepdims=True, name="context_mean")(x)
    summary = layers.Dense(channels, activation="relu", name="context_1")(summary)
    summary = layers.Dense(channels, name="context_2")(summary)
    return layers.Add(name="with_context")([x, summary])


def build_unet(width: int = 16, head: str = "regression", global_context: bool = False) -> keras.Model:
    """A small U-Net: ``width``, 2x, 4x, 8x channels, three poolings, skip connections at each scale, and
    with ``global_context`` the image's mean features added at the bottleneck (`_global_context`).

    The regression head decodes back to full resolution; the distribution head stops at 1/4 resolution,
    where it predicts logits over the ab bins (the layer named ``logits``, what training fits).
    """
    lightness, x = _normalised_input()
    skips = []
    for level in range(3):
        x = _conv(_conv(x, width * 2**level), width * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = _conv(_conv(x, width * 8), width * 8)
    if global_context:
        x = _global_context(x, width * 8)
    last_level = 0 if head == "regression" else 2
    for level in reversed(range(last_level, 3)):
        # Nearest, not bilinear: TensorFlow's bilinear resize cannot take the unknown height and width
        # of a predict function that Keras has relaxed after a second image size.
        x = layers.UpSampling2D()(x)
        x = layers.Concatenate()([x, skips[level]])
        x = _conv(_conv(x, width * 2**level), width * 2**level)
    if head == "regression":
        ab = layers.Conv2D(2, 1, activation="tanh", name="ab", dtype=OUTPUT_DTYPE)(x)
    else:
        logits = layers.Conv2D(len(ab_bins.centers()), 1, name="logits", dtype=OUTPUT_DTYPE)(x)
        ab = AnnealedMean(name="annealed_mean", dtype=OUTPUT_DTYPE)(logits)
        ab = _bilinear_upsampling(ab_bins.POOL, 2, name="enlarge")(ab)
    return keras.Model(lightness, Saturation(name="saturation", dtype=OUTPUT_DTYPE)(ab), name=f"unet_{head}")


def build(arch: str, width: int = 16, head: str = "regression", global_context: bool = False) -> keras.Model:
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {', '.join(HEADS)}")
    if arch == "seed":
        if head != "regression":
            raise ValueError("the seed network has only the regression head")
        return build_seed()
    return build_unet(width, head, global_context)


def with_mirrored_border(network: keras.Model, pixels: int) -> keras.Model:
    """``network`` as a colorizer that predicts the colour of a photograph mirrored ``pixels`` beyond each edge,
    then crops back to the photograph (`MirrorBorder`, `CropBorder`; ``network`` is the inner model).

    Every 3x3 convolution pads with zeros, mid-grey lightness once normalised, and the distribution head's 4x
    enlarging has nothing to blend with past the edge: on their own, trained networks colour the outer 8 to 16
    pixels of a photograph differently from its inside (a uniform grey photograph gets a fringe up to 49 Lab
    units from its centre's colour). Mirroring moves that frame outside the photograph, as the U-Net paper's
    overlap-tile strategy does (Ronneberger, Fischer and Brox, 2015). ``pixels`` is a multiple of
    `DOWNSAMPLING`, so the mirrored photograph still halves three times; 0 returns ``network`` itself.
    """
    if pixels == 0:
        return network
    if pixels < 0 or pixels % DOWNSAMPLING:
        raise ValueError(f"a mirrored border is a multiple of {DOWNSAMPLING} pixels, not {pixels}")
    lightness = keras.Input(shape=(None, None, 1), name="L")
    ab = network(MirrorBorder(pixels, name="mirror_border")(lightness))
    return keras.Model(lightness, CropBorder(pixels, name="crop_border", dtype=OUTPUT_DTYPE)(ab),
                       name=f"{network.name}_mirrored")


def with_flip_average(network: keras.Model) -> keras.Model:
    """``network`` as a colorizer that averages its colour for the photograph and for its mirror image (mirrored
    back): test-time augmentation with the flip training already uses, at twice the cost."""
    lightness = keras.Input(shape=(None, None, 1), name="L")
    flipped = network(FlipLeftRight(name="flip_in")(lightness))
    ab = layers.Average(name="flip_average", dtype=OUTPUT_DTYPE)(
        [network(lightness), FlipLeftRight(name="flip_out", dtype=OUTPUT_DTYPE)(flipped)])
    return keras.Model(lightness, ab, name=f"{network.name}_flip_averaged")


def find_layer(model: keras.Model, name: str):
    """The layer called ``name`` in ``model`` or in a model inside it (`with_mirrored_border`), or None."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model) and (inner := find_layer(layer, name)) is not None:
            return inner
    return None


def has_distribution_head(model: keras.Model) -> bool:
    """Whether ``model`` ends in the distribution head's read-out (`AnnealedMean`), rather than a regression."""
    return find_layer(model, "annealed_mean") is not None


def training_model(model: keras.Model) -> keras.Model:
    """What training fits: the model itself, or for a distribution head the same layers up to the logits."""
    return keras.Model(model.inputs, model.get_layer("logits").output) if has_distribution_head(model) else model


def set_vividness(model: keras.Model, temperature: float | None = None, saturation: float | None = None,
                  rebalance: float | None = None):
    """Set the read-out of a built or loaded model: the annealed mean's temperature and rebalancing
    (distribution head only) and the saturation factor. Returns the model."""
    for name, value in (("temperature", temperature), ("rebalance", rebalance)):
        if value is not None:
            if not has_distribution_head(model):
                raise ValueError(f"{name} applies to the distribution head only")
            getattr(find_layer(model, "annealed_mean"), name).assign(value)
    if saturation is not None:
        find_layer(model, "saturation").factor.assign(saturation)
    return model
