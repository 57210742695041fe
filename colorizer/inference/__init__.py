"""A trained model's use: ``predict`` (loading a .keras file, colouring Lab arrays, with or without hints),
``suggestions`` (the likely colours at a point), ``onnx_export`` (the model as an ONNX file), ``onnx_model``
(running that file on ONNX Runtime, without TensorFlow).

`load`, `network_input` and `takes_hints` are here as well as in ``predict``: the MLflow models that earlier
versions logged import them from ``colorizer.inference``.
"""

from colorizer.inference.predict import load, network_input, takes_hints

__all__ = ["load", "network_input", "takes_hints"]
