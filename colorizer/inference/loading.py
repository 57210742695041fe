"""The one model loader: a colorizer from a ``.keras`` file, an ``.onnx`` file or an MLflow model URI.

Each kind imports only what it needs, when it is loaded: MLflow for a URI only, TensorFlow and Keras not for an
``.onnx`` file (the ``onnx`` extra has no TensorFlow), ONNX Runtime for an ``.onnx`` file only.
"""

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import keras

    from colorizer.inference.onnx_model import OnnxColorizer

# What `load_model` gives: a Keras model, or an ONNX file on ONNX Runtime answering the same ``inputs``, ``name``,
# ``predict`` and ``predict_on_batch``.
Network = Union["keras.Model", "OnnxColorizer"]


def is_uri(spec: str | Path) -> bool:
    """Whether the model ``spec`` is an MLflow model URI (``runs:/<run id>/model``, ``models:/colorizer@champion``)
    rather than a file."""
    return ":/" in str(spec)


def load_model(spec: str | Path) -> Network:
    """A colorizer from a ``.keras`` file, from an ``.onnx`` file (ONNX Runtime, no TensorFlow:
    `colorizer.inference.onnx_model.OnnxColorizer`), or from MLflow for a URI (``runs:/<run id>/model``,
    ``models:/colorizer@champion``) resolved against this project's tracking store (``MLFLOW_TRACKING_URI`` or
    ``mlflow.db``). FileNotFoundError for a missing file, ValueError for a file that is not a model."""
    if is_uri(spec):
        return _from_mlflow(str(spec))
    from colorizer.inference import onnx_model

    if not Path(spec).is_file():
        if onnx_model.is_onnx(spec):
            raise FileNotFoundError(f"no model file {spec} (the export stage writes models/colorizer.onnx)")
        raise FileNotFoundError(f"no model file {spec} (train one with `dvc repro`, or give --model)")
    if onnx_model.is_onnx(spec):
        return onnx_model.OnnxColorizer(spec)
    if not zipfile.is_zipfile(spec):
        raise ValueError(f"{spec} is not a Keras model (a .keras file is a zip archive; this one is not)")
    return _from_keras(spec)


def _from_keras(path: str | Path) -> "keras.Model":
    import keras

    import colorizer.network.follow_hints  # noqa: F401  registers the custom layers the saved model uses
    import colorizer.network.layers  # noqa: F401

    return keras.saving.load_model(path, compile=False)


def _from_mlflow(uri: str) -> "keras.Model":
    import mlflow

    import colorizer.network.follow_hints  # noqa: F401  registers the custom layers (a model logged with mlflow.keras)
    import colorizer.network.layers  # noqa: F401
    from colorizer.tracking import store

    mlflow.set_tracking_uri(store.tracking_uri())
    logged = mlflow.pyfunc.load_model(uri)
    if "keras" in logged.metadata.flavors:  # logged with mlflow.keras, as export did before
        return logged.get_raw_model()
    return logged.unwrap_python_model().network  # export's pyfunc model, colorizer.inference.pyfunc.Colorizer
