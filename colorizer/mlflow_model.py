"""The colorizer as MLflow loads it: the code of the pyfunc model that the export stage logs.

Export logs this file as the model's code (MLflow's "models from code": MLflow runs the file at load time
rather than unpickling an object), the exported Keras file as the artifact ``network``, and the ``colorizer``
package as ``code_paths``, which MLflow puts on ``sys.path`` first. The network's read-out layers are custom
Keras layers (`colorizer.model`), which Keras can rebuild only when their code is imported; so the model loads
in any Python that has its requirements, without this repository.
"""

import mlflow
import numpy as np


class Colorizer(mlflow.pyfunc.PythonModel):
    """Lightness L of Lab (0..100), float32 [n, H, W, 1] (H and W multiples of 8) in; ab / 128, [n, H, W, 2] out."""

    def load_context(self, context):
        from colorizer.inference import load  # from the model's own copy of the package where it is not installed

        self.network = load(context.artifacts["network"])

    # np.ndarray: a type hint MLflow infers no schema from, so the logged signature checks the input.
    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        return self.network.predict(np.asarray(model_input, np.float32), verbose=0)


mlflow.models.set_model(Colorizer())
