"""The colorization networks, built with the Keras 3 functional API.

Every network takes raw L (shape [H, W, 1], values 0..100) and returns ab / 128 in [-1, 1] through tanh.
The input normalisation is a Rescaling layer inside the model, so callers never normalise. Both networks
halve the image three times, so H and W must be multiples of `DOWNSAMPLING`.
"""

import keras
from keras import layers

DOWNSAMPLING = 8
ARCHS = ("seed", "unet")


def _conv(x, filters, strides=1, activation="relu"):
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation=activation)(x)


def _normalised_input():
    lightness = keras.Input(shape=(None, None, 1), name="L")
    return lightness, layers.Rescaling(1.0 / 50.0, offset=-1.0, name="L_to_unit")(lightness)


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
    ab = _conv(x, 2, activation="tanh")
    return keras.Model(lightness, ab, name="seed")


def build_unet(width: int = 16) -> keras.Model:
    """A small U-Net: ``width``, 2x, 4x, 8x channels, three poolings, skip connections at each scale."""
    lightness, x = _normalised_input()
    skips = []
    for level in range(3):
        x = _conv(_conv(x, width * 2**level), width * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = _conv(_conv(x, width * 8), width * 8)
    for level in reversed(range(3)):
        # Nearest, not bilinear: TensorFlow's bilinear resize cannot take the unknown height and width
        # of a predict function that Keras has relaxed after a second image size.
        x = layers.UpSampling2D()(x)
        x = layers.Concatenate()([x, skips[level]])
        x = _conv(_conv(x, width * 2**level), width * 2**level)
    ab = layers.Conv2D(2, 1, activation="tanh", name="ab")(x)
    return keras.Model(lightness, ab, name="unet")


def build(arch: str, width: int = 16) -> keras.Model:
    if arch == "seed":
        return build_seed()
    if arch == "unet":
        return build_unet(width)
    raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
