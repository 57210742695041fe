"""The colorizer as MLflow loads it: the code of the pyfunc model that the export stage logs.

Export logs this file as the model's code (MLflow's "models from code": MLflow runs the file at load time
rather than unpickling an object), the exported Keras file as the artifact ``network``, and the ``colorizer``
package as ``code_paths``, which MLflow puts on ``sys.path`` first. The network's read-out layers are custom
Keras layers (`colorizer.network.layers`, `colorizer.network.follow_hints`), which Keras can rebuild only when
their code is imported; so the model loads in any Python that has its requirements, without this repository.

Input: float32 [n, H, W, 1], the lightness L of Lab (0..100); or, with colour hints, [n, H, W, 4]: L followed
by the hint map of `colorizer.hints` (a / 128 and b / 128 of the hinted pixels, and 1 where there is a hint, 0
elsewhere). H and W are multiples of 8. Output: ab / 128, float32 [n, H, W, 2]. A model trained without hints
takes one channel only, and says so when given four.
"""

from typing import Any

import mlflow
import numpy as np

CHANNELS_WITHOUT_HINTS, CHANNELS_WITH_HINTS = 1, 4


class Colorizer(mlflow.pyfunc.PythonModel):
    """L (0..100), float32 [n, H, W, 1], or L and its hint map, [n, H, W, 4], in; ab / 128, [n, H, W, 2] out.
    ``suggest`` gives the most likely colours at a point (`colorizer.inference.suggestions`)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load the network from the model's artifact ``network``."""
        # from the model's own copy of the package where it is not installed
        from colorizer.inference.loading import load_model

        self.network = load_model(context.artifacts["network"])

    # np.ndarray: a type hint MLflow infers no schema from, so the logged signature checks the input.
    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: np.ndarray, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        """ab / 128 [n, H, W, 2] for L [n, H, W, 1], or L and its hint map [n, H, W, 4]."""
        from colorizer.inference.predict import network_input

        values = np.asarray(model_input, np.float32)
        channels = values.shape[-1] if values.ndim == 4 else None
        if channels not in (CHANNELS_WITHOUT_HINTS, CHANNELS_WITH_HINTS):
            raise ValueError(
                f"expected [n, H, W, 1] (L) or [n, H, W, 4] (L and its hint map: a / 128, b / 128, "
                f"mask), got shape {values.shape}"
            )
        hint_maps = values[..., 1:] if channels == CHANNELS_WITH_HINTS else None
        return self.network.predict(network_input(self.network, values[..., :1], hint_maps), verbose=0)

    def suggest(
        self, lightness: np.ndarray, x: float, y: float, hint_map: np.ndarray | None = None, count: int = 9
    ) -> list[dict]:
        """The most likely colours at pixel (``x``, ``y``) of ``lightness`` [H, W] given ``hint_map`` [H, W, 3]:
        ``[{"colour": "#rrggbb", "probability": p}, ...]``, most likely first."""
        from colorizer.inference.suggestions import suggest

        found = suggest(self.network, np.asarray(lightness, np.float32), x, y, hint_map, count)
        return [{"colour": s.colour, "probability": s.probability} for s in found]


mlflow.models.set_model(Colorizer())
