"""MLflow: the model export logs into the training's run (`log_model`).

The logged model is a pyfunc model with this project's code (`colorizer.inference.pyfunc`), so that
``mlflow.pyfunc.load_model`` and ``mlflow models predict`` work in any Python with its `requirements`. Its
read-out is the logged model's parameters, each export is a new version of the registered model
`colorizer.tracking.registry.NAME` with the alias ``candidate``, and ``models/mlflow-model.json`` records the
logged model's id and version, so that evaluate and render attach their figures and gallery to this model and no
other (`colorizer.tracking.results`).
"""

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import colorizer
from colorizer.tracking import registry

if TYPE_CHECKING:
    import mlflow
    from mlflow.models import ModelSignature

# The code the logged model loads with: the whole package, as the read-out layers import their neighbours.
CODE = Path(colorizer.__file__).resolve().parent


def requirements() -> list[str]:
    """The packages a loader of the logged model needs, at the versions installed here (scikit-image: the
    read-out layers' colour bins)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("keras", "tensorflow", "numpy", "scikit-image"):
        try:
            found.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pass
    return found


def signature() -> "ModelSignature":
    """Any number of photographs of any height and width: a signature inferred from an example would fix its
    size, and pyfunc would refuse every other (such as evaluate's 256x256). The channels are L alone (1) or L
    and its hint map (4; `colorizer.inference.pyfunc`), which the model checks: a signature has no optional
    tensor."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, -1))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, 2))]),
    )


def log_model(model_path: str | Path, cfg: dict, run: "mlflow.ActiveRun") -> dict:
    """The exported model into the training's run (``runs:/<id>/model`` is the newest; each has its own id),
    its read-out as the logged model's parameters, registered as a new version of `registry.NAME` with the alias
    ``candidate``; returns ``{"model_id", "model_uri", "version"}``.

    MLflow's Keras flavor cannot log code, and Keras rebuilds the custom read-out layers only with it; so the
    model is a pyfunc model from code (`colorizer.inference.pyfunc`, the Keras file as its artifact) with the
    package as ``code_paths``.
    """
    import mlflow

    example = np.full((1, 64, 64, 1), 50.0, np.float32)
    # Naming the requirements saves MLflow 14 s of loading the model in a subprocess to infer them.
    logged = mlflow.pyfunc.log_model(
        name="model",
        python_model=CODE / "inference" / "pyfunc.py",
        artifacts={"network": str(model_path)},
        code_paths=[str(CODE)],
        signature=signature(),
        input_example=example,
        pip_requirements=requirements(),
        params={k: str(v) for k, v in cfg.items()},
    )
    version = registry.register(logged, run.info.run_id, cfg)
    return {"model_id": logged.model_id, "model_uri": logged.model_uri, "version": version}
