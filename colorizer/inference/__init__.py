"""A trained model's use: ``loading`` (the one loader: a .keras file, an .onnx file or an MLflow URI), ``photo``
(a photograph's path through the model at its own size), ``predict`` (colouring Lab arrays, with or without
hints), ``suggestions`` (the likely colours at a point), ``export`` (the model users colour with: the trained
network with its read-out set), ``pyfunc`` (the model as MLflow loads it: the code export logs with it),
``onnx_export`` (the model as an ONNX file), ``onnx_model`` (running that file
on ONNX Runtime, without TensorFlow).

`load` (`loading.load_model`), `network_input` and `takes_hints` are importable from ``colorizer.inference``
itself: the MLflow models that earlier versions logged import them from here.
"""

from colorizer.inference.loading import load_model as load
from colorizer.inference.predict import network_input, takes_hints

__all__ = ["load", "network_input", "takes_hints"]
