"""What is read out of a built or loaded network (`colorizer.network.builder`): which head and branches it has,
what training fits of it (`training_model`), its read-out's settings (`set_vividness`), and its layers, each found
by one function here from the names the builder gives them.
"""

import keras
from keras import layers

from colorizer.network.builder import (
    ANNEALED_MEAN,
    ENLARGE,
    ENSEMBLE_MEAN,
    FOLLOW_HINTS,
    HINT_LOGITS,
    HINTED_LOGITS,
    LOGITS,
    SATURATION,
    member_prefix,
)
from colorizer.network.follow_hints import FollowHints
from colorizer.network.layers import AnnealedMean, GuidedEnlarge, HintGate, Saturation


def layer(model: keras.Model, name: str, member: int | None = None) -> layers.Layer:
    """The layer of ``model`` named ``name`` (one of `colorizer.network.builder`'s names), or that of ensemble
    member ``member`` (``m0_logits``, ...). ValueError where the model has none."""
    return model.get_layer(name if member is None else member_prefix(member) + name)


def _has(model: keras.Model, name: str) -> bool:
    return any(each.name == name for each in model.layers)


def has_distribution_head(model: keras.Model) -> bool:
    """Whether ``model`` ends in the distribution head's read-out (`AnnealedMean`), rather than a regression."""
    return _has(model, ANNEALED_MEAN)


def has_hint_branch(model: keras.Model) -> bool:
    """Whether ``model`` colours with hints through a hint branch beside its hint-free networks (`HintGate`)."""
    return any(isinstance(each, HintGate) for each in model.layers)


def has_follow_hints(model: keras.Model) -> bool:
    """Whether ``model`` carries the hints' colours after the network (`FollowHints`)."""
    return _has(model, FOLLOW_HINTS)


def logits(model: keras.Model) -> layers.Layer:
    """The hint-free networks' logits over the ab bins (an ensemble's side by side): what training fits."""
    return layer(model, LOGITS)


def member_logits(model: keras.Model, member: int) -> layers.Conv2D:
    """Ensemble member ``member``'s own logits (the 1x1 convolution of its features)."""
    return layer(model, LOGITS, member)


def hint_logits(model: keras.Model) -> layers.Conv2D:
    """The hint branch's logits, what the hints add to the hint-free networks' (zero at the start)."""
    return layer(model, HINT_LOGITS)


def hinted_logits(model: keras.Model) -> HintGate:
    """The logits plus the hint branch's in the images that have hints (`HintGate`)."""
    return layer(model, HINTED_LOGITS)


def distribution(model: keras.Model) -> layers.Layer:
    """The layer whose output the read-out takes: the logits or log-probabilities over the ab bins at 1/4 of the
    size, with the hints' (`hinted_logits`), an ensemble's mean (`EnsembleMean`) or one network's (`logits`).
    ValueError for a regression head."""
    for name in (HINTED_LOGITS, ENSEMBLE_MEAN, LOGITS):
        if _has(model, name):
            return layer(model, name)
    raise ValueError(f"the model {model.name!r} has a regression head: no distribution over the ab bins")


def annealed_mean(model: keras.Model) -> AnnealedMean:
    """The distribution head's read-out: its temperature, rebalancing and the training set's colour weights."""
    return layer(model, ANNEALED_MEAN)


def follow_hints(model: keras.Model) -> FollowHints:
    """The step after the network that carries the hints' colours (a model with hints and the distribution head)."""
    return layer(model, FOLLOW_HINTS)


def enlarge(model: keras.Model) -> GuidedEnlarge:
    """The distribution head's enlarging to full size, along the photograph's edges."""
    return layer(model, ENLARGE)


def saturation(model: keras.Model) -> Saturation:
    """The last layer of every network: the saturation factor."""
    return layer(model, SATURATION)


def training_model(model: keras.Model) -> keras.Model:
    """What training fits: the model itself, or for a distribution head the same layers up to the logits; with a
    hint branch, up to ``[logits, hinted_logits]``: the hint-free networks' and what the hints make of them."""
    if not has_distribution_head(model):
        return model
    if has_hint_branch(model):
        return keras.Model(model.inputs, [logits(model).output, hinted_logits(model).output])
    return keras.Model(model.inputs, logits(model).output)


def set_vividness(
    model: keras.Model,
    temperature: float | None = None,
    saturation: float | None = None,
    rebalance: float | None = None,
) -> keras.Model:
    """Set the read-out of a built or loaded model: the annealed mean's temperature and rebalancing
    (distribution head only) and the saturation factor. Returns the model."""
    for name, value in (("temperature", temperature), ("rebalance", rebalance)):
        if value is not None:
            if not has_distribution_head(model):
                raise ValueError(f"{name} applies to the distribution head only")
            getattr(annealed_mean(model), name).assign(value)
    if saturation is not None:
        layer(model, SATURATION).factor.assign(saturation)  # (the argument hides `saturation`)
    return model
