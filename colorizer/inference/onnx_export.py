"""The exported colorizer as an ONNX file, which ONNX Runtime runs without TensorFlow or Keras
(`colorizer.inference.onnx_model`).

The conversion is tf2onnx's, called directly on a ``tf.function`` of the model (what Keras 3's own
``model.export(path, format="onnx")`` does under the TensorFlow backend), with three things Keras' export gets
wrong for this project's models:

- the distribution head's bin centres (`colorizer.network.layers.AnnealedMean.centers`, a tensor the layer holds, not a
  weight) are captured by the traced function, and tf2onnx makes every captured tensor that is not a variable
  a graph input: Keras' export gives a file that takes the 248x2 centres besides L. Here they are traced as
  a NumPy array, so they become a constant of the graph;
- the inputs are named ``L`` and ``hints`` as the Keras model's are (a traced function's argument names come
  out lower-cased), and the output ``ab``, not ``Identity:0``;
- a network trained under mixed precision is converted in float32 (ONNX Runtime's CPU kernels are float32).

And three rewrites that make the graph run faster on ONNX Runtime than the Keras model on TensorFlow, the colour
unchanged (within the 0.5 Lab units `write_onnx` checks; a few ten-thousandths in practice):

- an ensemble's members are read out in one convolution (`joined_members`);
- the read-out's softmax over the ab bins, which the graph's channels-first layout turns into a Softmax over
  ONNX's axis 1, which ONNX Runtime runs by transposing the whole tensor twice, is written as what the
  read-out computes with it: the exponentials' mean colour, a max, an exp and a matmul (`_read_out_without_softmax`);
- the mirrored padding of one pixel (`colorizer.network.layers.MirrorPadding`, TensorFlow's symmetric
  ``MirrorPad``), which tf2onnx emulates with a padding, a reflection and two compressions, is ONNX's ``Pad`` in
  edge mode, the same thing for one pixel (`_mirror_pad`).

The read-out (temperature, rebalance, saturation) is frozen into the file as constants: the file colours as
the ``.keras`` model it was made from did when it was converted. Its metadata say what it is (`METADATA`).
"""

import json
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from colorizer import HINT_CHANNELS
from colorizer.atomic import replacing
from colorizer.inference.onnx_model import OUTPUT
from colorizer.inference.predict import takes_hints

if TYPE_CHECKING:
    import keras
    import onnx
    from keras import KerasTensor
    from tf2onnx.graph import Graph, Node

OPSET = 17  # ONNX Runtime 1.17 and newer run it
DIMENSIONS = ("n", "H", "W")  # the symbolic sizes of the inputs' and the output's first three axes
# ONNX metadata keys (`onnx_model.OnnxColorizer` reads them): the Keras model's name, its head, whether it
# takes hints, and the read-out frozen into the file.
METADATA = ("colorizer.name", "colorizer.head", "colorizer.hints", "colorizer.read_out")
ABOUT = (
    "Colours grayscale photographs (the colorizer pipeline's export stage). Inputs: L, the lightness of Lab "
    "(0..100), float32 [n, H, W, 1], H and W multiples of 8; for a hint-taking model also hints, float32 "
    "[n, H, W, 3]: a / 128 and b / 128 of the hinted pixels and a mask, 1 where hinted (zeros: no hints). "
    "Output: ab, the colour as a / 128 and b / 128 in [-1, 1], float32 [n, H, W, 2]."
)


def input_names(model: "keras.Model") -> list[str]:
    """The Keras model's input names: ``["L"]`` or ``["L", "hints"]``."""
    return ["L", "hints"] if takes_hints(model) else ["L"]


def read_out(model: "keras.Model") -> dict:
    """The read-out frozen into the file: temperature and rebalance (distribution head) and saturation."""
    from colorizer.network import readout

    def value(weight: object) -> float:
        return round(float(np.asarray(weight)), 6)  # float32 0.9 as 0.9, not 0.8999999761581421

    values = {"saturation": value(readout.saturation(model).factor)}
    if readout.has_distribution_head(model):
        layer = readout.annealed_mean(model)
        values.update(temperature=value(layer.temperature), rebalance=value(layer.rebalance))
    return values


def float32_model(model: "keras.Model") -> "keras.Model":
    """``model`` itself when it computes in float32, else a float32 copy with its weights (a network trained
    with train.mixed_precision)."""
    import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def float32_layer(layer: "keras.Layer") -> "keras.Layer":
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    return copy


def joined_members(model: "keras.Model") -> "keras.Model":
    """``model`` with an ensemble's read-out in one convolution: the same colour, a quarter of the work.

    An ensemble (`colorizer.network.layers.EnsembleMean`) reads out the mean of its members' log-probabilities, each
    member's logits minus their log-sum-exp. The log-sum-exps are one number a pixel, the same for every bin,
    which the read-out's softmax (`colorizer.network.layers.AnnealedMean`) cancels; what is left, the mean of the
    members' logits, is one 1x1 convolution of their features side by side, with the members' kernels and
    biases divided by their count. So the graph computes 248 logits a pixel instead of 4 x 248 and no
    log-softmax. ``model`` itself for a single network."""
    import keras

    from colorizer.network import readout
    from colorizer.network.layers import EnsembleMean

    ensembles = [layer for layer in model.layers if isinstance(layer, EnsembleMean)]
    if not ensembles:
        return model
    joined = readout.logits(model)  # the members' logits side by side (`colorizer.network.builder.build_unet`)
    heads = [tensor._keras_history.operation for tensor in joined.input]  # each member's 1x1 convolution
    features = [head.input for head in heads]
    kernels = [head.get_weights() for head in heads]
    conv = keras.layers.Conv2D(kernels[0][0].shape[-1], 1, name="members_logits", dtype="float32")
    logits = conv(keras.layers.Concatenate(name="members_features")(features))
    conv.set_weights(
        [np.concatenate([k for k, _ in kernels], axis=2) / len(heads), np.mean([b for _, b in kernels], axis=0)]
    )
    if readout.has_hint_branch(model):  # called on [prior, branch, hints]
        gate = readout.hinted_logits(model)
        logits = gate([logits, *gate.input[1:]])
    x = readout.annealed_mean(model)(logits)
    if readout.has_follow_hints(model):  # called on [ab, hints, L]
        follow = readout.follow_hints(model)
        x = follow([x, *follow.input[1:]])
    enlarge = readout.enlarge(model)  # called on [ab, L]
    x = enlarge([x, enlarge.input[1]])
    return keras.Model(model.inputs, readout.saturation(model)(x), name=model.name)


def to_onnx(model: "keras.Model", opset: int = OPSET) -> "onnx.ModelProto":
    """The ONNX ``ModelProto`` of a colorizer (a Keras model of `colorizer.network.builder`, read-out set): inputs ``L``
    [n, H, W, 1] (and ``hints`` [n, H, W, 3]) of any n, H, W, output ``ab`` [n, H, W, 2]."""
    import tensorflow as tf
    import tf2onnx

    from colorizer.network.layers import AnnealedMean

    model = joined_members(float32_model(model))
    names = input_names(model)
    signature = [tf.TensorSpec((None, None, None, 1), tf.float32, name="L")]
    if len(names) > 1:
        signature.append(tf.TensorSpec((None, None, None, HINT_CHANNELS), tf.float32, name="hints"))

        def run(L: "KerasTensor", hints: "KerasTensor") -> dict:  # noqa: N803  the names of the graph's inputs
            return {OUTPUT: model({"L": L, "hints": hints}, training=False)}
    else:

        def run(L: "KerasTensor") -> dict:  # noqa: N803
            return {OUTPUT: model(L, training=False)}

    centres = [(layer, layer.centers) for layer in model.layers if isinstance(layer, AnnealedMean)]
    try:
        for layer, tensor in centres:  # a NumPy array is traced as a constant; a captured tensor as an input
            layer.centers = np.asarray(tensor)
            layer.call = types.MethodType(_read_out_without_softmax, layer)
        proto, _ = tf2onnx.convert.from_function(
            tf.function(run),
            input_signature=signature,
            opset=opset,
            custom_op_handlers={"MirrorPad": (_mirror_pad, [])},
        )
    finally:
        for layer, tensor in centres:
            layer.centers = tensor
            del layer.call
    _name_inputs(proto, names)
    _describe(proto, model)
    return proto


def _read_out_without_softmax(layer: "keras.Layer", logits: "KerasTensor") -> "KerasTensor":
    """`colorizer.network.layers.AnnealedMean.call` without a softmax: the probabilities' mean colour is the
    exponentials' mean colour, their sum in the same matmul (a third column of ones) dividing it."""
    from keras import ops

    logits = (logits + layer.rebalance * layer.log_weights) / layer.temperature
    exponentials = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
    centres = np.asarray(layer.centers, np.float32)
    sums = ops.matmul(exponentials, np.concatenate([centres, np.ones((len(centres), 1), np.float32)], axis=1))
    return sums[..., :2] / sums[..., 2:]


def _mirror_pad(ctx: "Graph", node: "Node", name: str, args: list) -> "Node":
    """tf2onnx's handler of TensorFlow's ``MirrorPad``: a symmetric padding of at most one pixel a side is ONNX's
    ``Pad`` in edge mode; any other is left to tf2onnx's own conversion."""
    from tf2onnx.onnx_opset.nn import Pad

    paddings = node.inputs[1].get_tensor_value(as_list=False) if node.inputs[1].is_const() else None
    if node.get_attr("mode").s.decode().lower() != "symmetric" or paddings is None or paddings.max() > 1:
        Pad.version_11(ctx, node)
        return node
    node.type, node.domain = "Pad", ""
    node.set_attr("mode", "edge")
    pads = ctx.make_const(f"{name}_pads", paddings.astype(np.int64).transpose().flatten())
    ctx.replace_input(node, node.input[1], pads.output[0], 1)
    return node


def _name_inputs(proto: "onnx.ModelProto", names: list[str]) -> None:
    """The graph's inputs named as the Keras model's (tf2onnx lower-cases them), their first three axes and the
    output's named `DIMENSIONS`; a ValueError if the graph takes anything else."""
    found = [value.name for value in proto.graph.input]
    rename = {name.lower(): name for name in names}
    if sorted(found) != sorted(rename):
        raise ValueError(f"the ONNX graph takes {found}, not {names}: a tensor the model holds became an input")
    for value in proto.graph.input:
        value.name = rename[value.name]
    for node in proto.graph.node:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for value in [*proto.graph.input, *proto.graph.output]:
        for dim, symbol in zip(value.type.tensor_type.shape.dim, DIMENSIONS):
            dim.dim_param = symbol


def _describe(proto: "onnx.ModelProto", model: "keras.Model") -> None:
    from colorizer.network.readout import has_distribution_head

    proto.doc_string = ABOUT
    values = (
        model.name,
        "distribution" if has_distribution_head(model) else "regression",
        json.dumps(takes_hints(model)),
        json.dumps(read_out(model)),
    )
    del proto.metadata_props[:]
    for key, value in zip(METADATA, values):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def largest_difference(
    model: "keras.Model", proto: "onnx.ModelProto", size: tuple[int, int] = (64, 96), seed: int = 0
) -> float | None:
    """The largest difference, in Lab units of a and b, between the Keras model and its ONNX graph on two
    random images of ``size`` (with a few hints for a hint-taking model); None without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    feeds = {"L": rng.uniform(0, 100, (2, *size, 1)).astype(np.float32)}
    if takes_hints(model):
        hints = np.zeros((2, *size, HINT_CHANNELS), np.float32)
        hints[0, 8:14, 8:14] = (0.4, -0.3, 1.0)
        feeds["hints"] = hints
    expected = np.asarray(model.predict_on_batch(feeds if len(feeds) > 1 else feeds["L"]), np.float32)
    runtime = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = runtime.run([OUTPUT], feeds)[0]
    return float(np.abs(got - expected).max() * 128.0)


def write_onnx(model: "keras.Model", path: str | Path, tolerance: float = 0.5) -> float | None:
    """Convert ``model`` and write it to ``path`` atomically, after checking that ONNX Runtime (when installed)
    colours as Keras does within ``tolerance`` Lab units; returns that largest difference (None unchecked)."""
    import onnx

    proto = to_onnx(model)
    difference = largest_difference(model, proto)
    if difference is not None and not difference <= tolerance:
        raise ValueError(
            f"the ONNX model colours up to {difference:.3g} Lab units away from the Keras model "
            f"(more than {tolerance}): not written"
        )
    with replacing(path) as tmp:
        onnx.save(proto, str(tmp))
    return difference
