"""The colorization networks, built with the Keras 3 functional API (their layers: `colorizer.network.layers`,
`colorizer.network.follow_hints`; reading them out: `colorizer.network.readout`).

Every saved network takes raw L (shape [H, W, 1], values 0..100) and returns ab / 128 in [-1, 1]. The input
normalisation and the read-out are layers inside the model, so callers never normalise. The networks halve
the image three times, so H and W must be multiples of `colorizer.DOWNSAMPLING`.

Two heads:
- ``regression``: ab through tanh, trained with MSE (or MAE/Huber): the article's approach.
- ``distribution``: logits over the ab bins of `colorizer.network.ab_bins` at 1/4 resolution, trained with the
  cross-entropy to soft targets plus the plain mean colour's squared error (``train.colour_loss``; the
  cross-entropy weighs rare colours up only with ``train.rebalance`` above its default 0,
  `colorizer.network.ab_bins.distribution_loss`); the `AnnealedMean` read-out turns them into one colour, then
  it is enlarged 4x along the photograph's own edges (`GuidedEnlarge`).

With ``members`` > 1 the distribution head's unet is an ensemble in one model: that many U-Nets side by side,
read out from the mean of their log-probabilities (`EnsembleMean`).

A unet built ``with_hints`` also reads a hint map (`colorizer.hints`): the colours a user gives at some
pixels, which it learns to spread along the photograph's edges. With the distribution head a hint branch
learns what the hints add to the hint-free networks' logits (`HintGate`), so that without hints the model
colours exactly as those do.

Both end in the vividness read-out: `AnnealedMean`'s rebalancing and temperature (distribution head) and
`Saturation`. They are weights of the model, so `colorizer.network.readout.set_vividness` changes them without
retraining.

The names of the layers that are looked up (`colorizer.network.readout`) are the constants below.
"""

import keras
from keras import KerasTensor, layers

from colorizer import HINT_CHANNELS
from colorizer.network import ab_bins
from colorizer.network.follow_hints import FollowHints
from colorizer.network.layers import (
    AnnealedMean,
    EnsembleMean,
    GuidedEnlarge,
    HintGate,
    MirrorPadding,
    Saturation,
    SpreadHints,
)

ARCHS = ("seed", "unet")
HEADS = ("regression", "distribution")
# The output layers compute in float32 even under a mixed-precision policy (train.mixed_precision), so every
# network still returns float32 ab / 128 and its loss (tanh, softmax cross-entropy) is taken in float32.
OUTPUT_DTYPE = "float32"

# The names of the layers read out of a built network:
LOGITS = "logits"  # the hint-free networks' logits over the ab bins (an ensemble's side by side): what training fits
ENSEMBLE_MEAN = "ensemble_mean"  # an ensemble's mean log-probabilities (`EnsembleMean`)
HINT_LOGITS = "hint_logits"  # the hint branch's logits (zero at the start)
HINTED_LOGITS = "hinted_logits"  # the logits plus the hint branch's where an image has hints (`HintGate`)
ANNEALED_MEAN = "annealed_mean"  # the distribution head's read-out (`AnnealedMean`)
FOLLOW_HINTS = "follow_hints"  # the hints carried after the network (`FollowHints`)
ENLARGE = "enlarge"  # the distribution head's 4x enlarging (`GuidedEnlarge`)
SATURATION = "saturation"  # the last layer of every network (`Saturation`)
CONTEXT_OUT = "context_2"  # the global context's last dense layer (`_global_context`), before it is added


def member_prefix(member: int) -> str:
    """What the names of ensemble member ``member``'s own layers start with (``m0_logits``, ...)."""
    return f"m{member}_"


def _conv(
    x: KerasTensor,
    filters: int,
    strides: int = 1,
    activation: str | None = "relu",
    dtype: str | None = None,
    mirror: bool = False,
) -> KerasTensor:
    """A 3x3 convolution; with ``mirror``, padded with the image mirrored (`MirrorPadding`), not zeros."""
    if mirror and strides == 1:
        return layers.Conv2D(filters, 3, padding="valid", activation=activation, dtype=dtype)(MirrorPadding(1)(x))
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation=activation, dtype=dtype)(x)


def _normalised_input() -> tuple[KerasTensor, KerasTensor]:
    """The input L (raw, 0..100) and L rescaled to [-1, 1]."""
    lightness = keras.Input(shape=(None, None, 1), name="L")
    return lightness, layers.Rescaling(1.0 / 50.0, offset=-1.0, name="L_to_unit")(lightness)


def _hint_input() -> KerasTensor:
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
    return keras.Model(lightness, Saturation(name=SATURATION, dtype=OUTPUT_DTYPE)(ab), name="seed")


def _global_context(x: KerasTensor, channels: int, prefix: str = "") -> KerasTensor:
    """``x`` plus a summary of the whole image: its mean features through two dense layers, added at every
    position (the fusion of global and local features of Iizuka, Simo-Serra and Ishikawa, "Let there be
    Color!", 2016). Convolutions only see a neighbourhood; whether the scene is a beach or a forest is a
    question about the whole photograph, and this answers it at any image size."""
    summary = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}context_mean")(x)
    summary = layers.Dense(channels, activation="relu", name=f"{prefix}context_1")(summary)
    summary = layers.Dense(channels, name=prefix + CONTEXT_OUT)(summary)
    return layers.Add(name=f"{prefix}with_context")([x, summary])


def _spread_hints(hint_map: KerasTensor) -> list[KerasTensor]:
    """What `SpreadHints` gives each level of a unet: full, 1/2, 1/4 and 1/8 of the size (the bottleneck, with
    the whole image's hints beside)."""
    levels = [
        SpreadHints(2**level, radius=2 + (level == 3), name=f"hints_at_{2**level}")(hint_map) for level in range(4)
    ]
    levels[3] = layers.Concatenate(name="hints_at_bottleneck")(
        [levels[3], SpreadHints(8, whole=True, name="hints_whole")(hint_map)]
    )
    return levels


def _unet_trunk(
    x: KerasTensor,
    width: int,
    head: str,
    global_context: bool,
    prefix: str = "",
    hints: list[KerasTensor] | None = None,
) -> KerasTensor:
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


def _distribution_logits(
    x: KerasTensor, width: int, global_context: bool, members: int, hint_map: KerasTensor | None
) -> KerasTensor:
    """The distribution head's logits over the ab bins at 1/4 of the size, from the normalised lightness ``x``:
    one network's, or the mean log-probabilities of ``members`` side by side (`EnsembleMean`); with a
    ``hint_map``, plus the hint branch's where an image has hints (`HintGate`)."""
    q = len(ab_bins.centers())
    if members == 1:
        features = _unet_trunk(x, width, "distribution", global_context)
        logits = layers.Conv2D(q, 1, name=LOGITS, dtype=OUTPUT_DTYPE)(features)
    else:
        each = []
        for i in range(members):
            features = _unet_trunk(x, width, "distribution", global_context, prefix=member_prefix(i))
            each.append(layers.Conv2D(q, 1, name=member_prefix(i) + LOGITS, dtype=OUTPUT_DTYPE)(features))
        logits = layers.Concatenate(name=LOGITS, dtype=OUTPUT_DTYPE)(each)
        logits = EnsembleMean(name=ENSEMBLE_MEAN, dtype=OUTPUT_DTYPE)(logits)
    if hint_map is None:
        return logits
    branch = _unet_trunk(
        layers.Concatenate(name="with_hints")([x, hint_map]),
        width,
        "distribution",
        global_context,
        prefix="hint_",
        hints=_spread_hints(hint_map),
    )
    branch = layers.Conv2D(q, 1, kernel_initializer="zeros", name=HINT_LOGITS, dtype=OUTPUT_DTYPE)(branch)
    return HintGate(name=HINTED_LOGITS, dtype=OUTPUT_DTYPE)([logits, branch, hint_map])


def build_unet(
    width: int = 16, head: str = "regression", global_context: bool = False, members: int = 1, with_hints: bool = False
) -> keras.Model:
    """A small U-Net: ``width``, 2x, 4x, 8x channels, three poolings, skip connections at each scale, and
    with ``global_context`` the image's mean features added at the bottleneck (`_global_context`).

    The regression head decodes back to full resolution; the distribution head stops at 1/4 resolution,
    where it predicts logits over the ab bins (the layer named ``logits``, what training fits).

    ``members`` > 1 (distribution head only) builds that many U-Nets side by side, each initialised
    differently: an ensemble in one model. Their logits are concatenated (``logits``; training fits each
    network to the targets on its own, `colorizer.network.ab_bins.distribution_loss`), and the read-out takes
    the mean of their log-probabilities (`EnsembleMean`).

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
    inputs, hint_map = lightness, None
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
        logits = _distribution_logits(x, width, global_context, members, hint_map)
        ab = AnnealedMean(name=ANNEALED_MEAN, dtype=OUTPUT_DTYPE)(logits)
        if with_hints:
            ab = FollowHints(ab_bins.POOL, name=FOLLOW_HINTS, dtype=OUTPUT_DTYPE)([ab, hint_map, lightness])
        ab = GuidedEnlarge(ab_bins.POOL, name=ENLARGE, dtype=OUTPUT_DTYPE)([ab, lightness])
    name = f"unet_{head}" if members == 1 else f"unet_{head}_x{members}"
    return keras.Model(
        inputs, Saturation(name=SATURATION, dtype=OUTPUT_DTYPE)(ab), name=name + ("_hints" if with_hints else "")
    )


def build(
    arch: str,
    width: int = 16,
    head: str = "regression",
    global_context: bool = False,
    members: int = 1,
    with_hints: bool = False,
) -> keras.Model:
    """A network of ``arch`` (`ARCHS`): `build_seed`, or `build_unet` with the other arguments. ValueError for an
    arch, a head (`HEADS`) or a combination there is no network of."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {', '.join(HEADS)}")
    if arch == "seed":
        if head != "regression" or members != 1 or with_hints:
            raise ValueError("the seed network has only the regression head, no ensemble and no hints")
        return build_seed()
    return build_unet(width, head, global_context, members, with_hints)
