"""A colorizer exported to ONNX (`colorizer.inference.onnx_export`), run on ONNX Runtime: no TensorFlow, no Keras.

`OnnxColorizer` answers what `colorizer.inference.predict` and `colorizer.inference.photo` ask of a Keras model
(``inputs``, ``name``, ``predict``, ``predict_on_batch``); `colorizer.inference.loading.load_model` loads one for
a path ending in ``.onnx``, so ``colorize --model models/colorizer.onnx`` colours, with hints
for a hint-taking model, in an install without TensorFlow: ``pip install -c constraints.txt -e '.[onnx]'``.
This module imports neither TensorFlow nor Keras, and onnxruntime only when a file is loaded.

What the ONNX file cannot do: its read-out (temperature, rebalance, saturation) is frozen at export, so
``--temperature`` needs the ``.keras`` model, and it outputs the colour only, not the distribution over the ab
bins that ``--suggest`` reads.
"""

import json
from pathlib import Path

import numpy as np

from colorizer import DOWNSAMPLING

SUFFIX = ".onnx"
OUTPUT = "ab"  # the graph's output (`colorizer.inference.onnx_export` names it so)
INSTALL = "pip install -c constraints.txt -e '.[onnx]'"


def is_onnx(spec: str | Path) -> bool:
    """Whether the model ``spec`` (a path or an MLflow URI) names an ONNX file."""
    return ":/" not in str(spec) and str(spec).lower().endswith(SUFFIX)


class OnnxColorizer:
    """An ONNX colorizer: ``predict`` and ``predict_on_batch`` take L [n, H, W, 1] (H and W multiples of 8), or
    ``{"L": ..., "hints": ...}`` for a hint-taking model, and return ab / 128 [n, H, W, 2] as NumPy float32."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ImportError(f"an ONNX model needs ONNX Runtime: {INSTALL}") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's choice, one thread a physical core
        options.log_severity_level = 3  # errors only
        available = onnxruntime.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        self.path = Path(path)
        self.runtime = onnxruntime.InferenceSession(str(path), options, providers=providers or None)
        self.inputs = [value.name for value in self.runtime.get_inputs()]
        outputs = [value.name for value in self.runtime.get_outputs()]
        if self.inputs not in (["L"], ["L", "hints"]) or OUTPUT not in outputs:
            raise ValueError(
                f"{path} is not a colorizer exported by this project: it takes {self.inputs} and "
                f"gives {outputs}, not L (and hints) to {OUTPUT}"
            )
        self.metadata = dict(self.runtime.get_modelmeta().custom_metadata_map)
        self.name = self.metadata.get("colorizer.name", self.path.stem)
        self.head = self.metadata.get("colorizer.head")
        self.read_out = json.loads(self.metadata.get("colorizer.read_out", "{}"))

    def predict_on_batch(self, inputs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        """ab / 128 for one batch, as Keras' ``predict_on_batch``."""
        feeds = dict(inputs) if isinstance(inputs, dict) else {"L": inputs}
        if set(feeds) != set(self.inputs):
            raise ValueError(f"the model {self.name!r} takes {self.inputs}, given {sorted(feeds)}")
        feeds = {name: np.ascontiguousarray(value, np.float32) for name, value in feeds.items()}
        height, width = feeds["L"].shape[1:3]
        if height % DOWNSAMPLING or width % DOWNSAMPLING:
            raise ValueError(f"height and width must be multiples of {DOWNSAMPLING}, not {height}x{width}")
        return self.runtime.run([OUTPUT], feeds)[0]

    def predict(self, inputs: np.ndarray | dict[str, np.ndarray], batch_size: int = 8, verbose: int = 0) -> np.ndarray:
        """As Keras' ``predict``: all of ``inputs``, ``batch_size`` images at a time."""
        feeds = dict(inputs) if isinstance(inputs, dict) else {"L": inputs}
        count = len(feeds["L"])
        parts = [
            self.predict_on_batch({name: value[start : start + batch_size] for name, value in feeds.items()})
            for start in range(0, count, batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, *feeds["L"].shape[1:3], 2), np.float32)
