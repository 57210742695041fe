"""Running a trained colorizer (`colorizer.inference.loading.load_model`): L (and hints) in, Lab out, in batches."""

import numpy as np

from colorizer.color import merge_lab
from colorizer.inference.loading import Network


class HintsNotSupported(ValueError):
    """Hints were given to a model that has no hint input (one trained with ``train.hints: false``, or
    logged before models took hints)."""


def takes_hints(model: Network) -> bool:
    """Whether ``model`` reads a hint map besides L (`colorizer.hints`)."""
    return len(model.inputs) > 1


def network_input(
    model: Network, lightness: np.ndarray, hint_maps: np.ndarray | None = None
) -> np.ndarray | dict[str, np.ndarray]:
    """What ``model`` takes for L [n, H, W, 1] and hint maps [n, H, W, 3] (None: no hints): L alone for a model
    without a hint input, else ``{"L": ..., "hints": ...}`` with empty maps for no hints. `HintsNotSupported`
    for hints given to a model that cannot read them."""
    lightness = np.ascontiguousarray(lightness, dtype=np.float32)
    if not takes_hints(model):
        if hint_maps is not None and np.any(hint_maps[..., 2]):
            raise HintsNotSupported(
                f"the model {model.name!r} takes no hints (it was trained without them); "
                "colour without hints or use a model trained with train.hints: true"
            )
        return lightness
    if hint_maps is None:
        hint_maps = np.zeros((*lightness.shape[:3], 3), np.float32)
    return {"L": lightness, "hints": np.ascontiguousarray(hint_maps, dtype=np.float32)}


def predict_ab(
    model: Network, lightness: np.ndarray, hint_maps: np.ndarray | None = None, batch_size: int = 8
) -> np.ndarray:
    """ab / 128 [n, H, W, 2] for L [n, H, W, 1] and optional hint maps [n, H, W, 3]."""
    inputs = network_input(model, lightness, hint_maps)
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0), np.float32)


def predict_lab(
    model: Network, lab_or_l: np.ndarray, batch_size: int = 8, hint_maps: np.ndarray | None = None
) -> np.ndarray:
    """Colorize images of equal size: [n, H, W, 1 or 3] (only L is used) -> predicted Lab [n, H, W, 3]."""
    lightness = np.ascontiguousarray(lab_or_l[..., :1], dtype=np.float32)
    return merge_lab(lightness, predict_ab(model, lightness, hint_maps, batch_size))
