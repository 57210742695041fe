"""Fresh random crops and flips every epoch: drawn on the host as boxes, cut inside the training graph.

The host's share is a few numbers an image (`draw_boxes`, seeded by the epoch and the batch, so a resumed or
repeated training draws the same crops); the per-pixel work, cutting each box out of the stored photograph,
mirroring it and resizing it to the training size, runs where the model runs (`crop_resize`, on the GPU when
there is one), as two small matrix products an image. The resize filter is Pillow's bilinear one (a triangle
widened by the reduction, so shrinking is antialiased like `colorizer.data.images.resize`), and the Lab codes are
decoded on the way (`colorizer.color.codes_to_lab`): what reaches the network is what a photograph prepared at
that crop would be.

`CropTraining` is what `colorizer.training.fit` fits: the network, fed L of the crops (and, for a network that takes
hints, the hints painted from the crops' own colours, `colorizer.training.simulated_hints.paint_from_truth`)
and scored against their ab / 128.
"""

import keras
import numpy as np
from keras import ops

from colorizer.color import AB_OFFSET, AB_SCALE, L_PER_CODE
from colorizer.inference.predict import takes_hints
from colorizer.network.ab_bins import Tensor
from colorizer.training.simulated_hints import has_hints, paint_from_truth

BOX_FIELDS = ("top", "left", "height", "width", "flip")  # a box, in pixels of the stored photograph


def draw_boxes(
    rng: np.random.Generator, count: int, stored: tuple[int, int], min_scale: float, flip: bool
) -> np.ndarray:
    """``count`` random boxes [count, 5] (`BOX_FIELDS`, float32) in a photograph of ``stored`` = (height,
    width): each side ``min_scale``..1 of the photograph's (one scale for both), anywhere inside it, and with
    ``flip`` mirrored left-right with probability one half."""
    height, width = stored
    scale = rng.uniform(min_scale, 1.0, count)
    crop_h, crop_w = scale * height, scale * width
    top, left = rng.uniform(0.0, 1.0, count) * (height - crop_h), rng.uniform(0.0, 1.0, count) * (width - crop_w)
    mirrored = rng.random(count) < 0.5 if flip else np.zeros(count, bool)
    return np.stack([top, left, crop_h, crop_w, mirrored], axis=1).astype(np.float32)


def whole_boxes(count: int, stored: tuple[int, int]) -> np.ndarray:
    """Boxes [count, 5] that take the whole photograph as it is (validation)."""
    return np.tile(np.array([0.0, 0.0, stored[0], stored[1], 0.0], np.float32), (count, 1))


def resample_weights(start: Tensor, length: Tensor, mirrored: Tensor, out: int, size: int) -> Tensor:
    """[n, out, size]: row i holds the weights of the ``size`` source pixels that make output pixel i when the
    span ``start`` .. ``start + length`` (each [n], in pixels) is resized to ``out`` pixels, mirrored where
    ``mirrored`` is 1. Pillow's bilinear filter: a triangle as wide as the reduction (at least one pixel)."""
    scale = length / out
    position = ops.cast(ops.arange(out), "float32")[None, :]
    position = ops.where(mirrored[:, None] > 0.5, out - 1 - position, position) + 0.5
    centre = start[:, None] + position * scale[:, None]  # [n, out], in source pixels
    support = ops.maximum(scale, 1.0)[:, None, None]
    source = ops.cast(ops.arange(size), "float32")[None, None, :] + 0.5
    weights = ops.relu(1.0 - ops.abs(source - centre[:, :, None]) / support)
    return weights / ops.sum(weights, axis=-1, keepdims=True)


def crop_resize(codes: Tensor, boxes: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Lab codes [n, H, W, 3] (uint8) and boxes [n, 5] -> (L [n, h, w, 1] in 0..100, ab / 128 [n, h, w, 2]):
    each box cut out, mirrored if asked and resized to ``size`` = (h, w)."""
    images = ops.cast(codes, "float32")
    shape = ops.shape(images)
    boxes = ops.cast(boxes, "float32")
    rows = resample_weights(boxes[:, 0], boxes[:, 2], ops.zeros_like(boxes[:, 0]), size[0], shape[1])
    columns = resample_weights(boxes[:, 1], boxes[:, 3], boxes[:, 4], size[1], shape[2])
    images = ops.einsum("nih,nhwc->niwc", rows, images)
    images = ops.einsum("njw,niwc->nijc", columns, images)
    lightness = images[..., :1] * L_PER_CODE
    ab = (images[..., 1:] - AB_OFFSET) / AB_SCALE
    return lightness, ab


class CropTraining(keras.Model):
    """Fits ``network`` on crops cut in the graph: its inputs are ``{"codes": stored photographs, "boxes":
    one box each}``, and ``"points"`` for a network that takes hints (what `colorizer.training.batches.CropBatches`
    yields), the network sees L of the crops, and the
    loss and metrics compare its output with their ab / 128. Only ``network`` is saved; this is the harness.
    """

    def __init__(self, network: keras.Model, size: tuple[int, int], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.network, self.size = network, tuple(size)
        self.built = network.built  # its only weights are the network's

    def call(self, inputs: dict[str, Tensor], training: bool = False) -> dict[str, Tensor]:
        lightness, ab = crop_resize(inputs["codes"], inputs["boxes"], self.size)
        if takes_hints(self.network):  # a network that takes hints: simulated from the truth of each crop
            points = inputs.get("points")
            hints = (
                paint_from_truth(ab, points)
                if points is not None
                else ops.zeros_like(ops.concatenate([ab, lightness], axis=-1))
            )  # none given: no hints
            network_input = {"L": lightness, "hints": hints}
        else:
            network_input = lightness
        predicted = self.network(network_input, training=training)
        if isinstance(predicted, (list, tuple)):  # a hint branch's: the hint-free logits and the hinted ones
            return {
                "predicted": predicted[0],
                "hinted": predicted[1],
                "ab": ab,
                "with_hints": has_hints(network_input["hints"]),
            }
        return {"predicted": predicted, "ab": ab}

    def compute_loss(
        self,
        x: Tensor = None,
        y: Tensor = None,
        y_pred: dict[str, Tensor] | None = None,
        sample_weight: Tensor = None,
        training: bool = True,
    ) -> Tensor:
        """The loss of the network's output; with a hint branch (`colorizer.network.layers.HintGate`), plus that of
        the hinted logits over the crops that have hints (without, the branch adds nothing to learn from). The
        validation's crops have hints too (the same every epoch; `colorizer.training.fit.epoch_batches`), so its loss
        scores both uses of the model."""
        loss = super().compute_loss(x, y_pred["ab"], y_pred["predicted"], sample_weight, training)
        if "hinted" in y_pred:
            weight = y_pred["with_hints"] if sample_weight is None else y_pred["with_hints"] * sample_weight
            loss = loss + self._compile_loss(y_pred["ab"], y_pred["hinted"], weight)
        return loss

    def compute_metrics(self, x: Tensor, y: Tensor, y_pred: dict[str, Tensor], sample_weight: Tensor = None) -> dict:
        return super().compute_metrics(x, y_pred["ab"], y_pred["predicted"], sample_weight)
