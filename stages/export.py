"""Stage ``export``: set the vividness of the trained network and write the model users colour with.

Reads ``models/network.keras`` (train's output), sets its read-out (``rebalance`` and ``temperature`` of
the annealed mean for a distribution head, ``saturation`` for any head), writes ``models/colorizer.keras`` and logs it, with
its signature, as the model of the training's MLflow run. The read-out is not learnt, so changing it reruns
export, evaluate and render in seconds, never train.

The logged model is a pyfunc model with this project's code (`colorizer.mlflow_model`), so that
``mlflow.pyfunc.load_model`` and ``mlflow models predict`` work in any Python with its requirements, and each
export is a new version of the registered model `REGISTERED_NAME` (``models:/colorizer/latest``).
"""

import sys
from pathlib import Path

import numpy as np

import colorizer
from colorizer import params as P
from colorizer import tracking
from colorizer.atomic import replacing
from colorizer.cli import stage_paths
from colorizer.inference import load
from colorizer.model import has_distribution_head, set_vividness

SECTION = "export"
REGISTERED_NAME = "colorizer"
# The code the logged model loads with: the whole package, as the read-out layers import their neighbours.
CODE = Path(colorizer.__file__).resolve().parent
ABOUT = ("Colours grayscale photographs. Input: lightness L of Lab (0..100), float32 [n, H, W, 1], any H and W "
         "that are multiples of 8, or with colour hints [n, H, W, 4]: L, then a / 128, b / 128 of the hinted "
         "pixels and a mask (1 where hinted); output: the colour, ab / 128 in [-1, 1], float32 [n, H, W, 2]. "
         "Logged by the export stage of the colorizer pipeline (DVC + MLflow); each export is a new version.")


def check_params(p: dict) -> dict:
    return P.only_known(p, SECTION, {
        "rebalance": P.number(p, SECTION, "rebalance", minimum=0.0, maximum=1.0),
        "temperature": P.number(p, SECTION, "temperature", minimum=0.0, maximum=10.0, exclusive_minimum=True),
        "saturation": P.number(p, SECTION, "saturation", minimum=0.0, maximum=4.0),
    })


def export(network_path, cfg: dict, output):
    """Load the network, set its read-out, save it atomically to ``output``; returns the model."""
    model = load(network_path)
    if has_distribution_head(model):
        set_vividness(model, temperature=cfg["temperature"], rebalance=cfg["rebalance"])
    elif (cfg["temperature"], cfg["rebalance"]) != (1.0, 0.0):
        print(f"export: temperature {cfg['temperature']} and rebalance {cfg['rebalance']} ignored: the "
              f"network has a regression head", file=sys.stderr)
    set_vividness(model, saturation=cfg["saturation"])
    with replacing(output) as tmp:
        model.save(tmp)
    return model


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


def signature():
    """Any number of photographs of any height and width: a signature inferred from an example would fix its
    size, and pyfunc would refuse every other (such as evaluate's 256x256). The channels are L alone (1) or L
    and its hint map (4; `colorizer.mlflow_model`), which the model checks: a signature has no optional tensor."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, -1))]),
                          outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, 2))]))


def log_model(model_path, cfg: dict, run) -> None:
    """The exported model into the training's run (the newest is ``runs:/<id>/model``), registered as a new
    version of `REGISTERED_NAME`.

    MLflow's Keras flavor cannot log code, and Keras rebuilds the custom read-out layers only with it; so the
    model is a pyfunc model from code (`colorizer.mlflow_model`, the Keras file as its artifact) with the package
    as ``code_paths``.
    """
    import mlflow

    example = np.full((1, 64, 64, 1), 50.0, np.float32)
    mlflow.set_tags({f"export.{k}": v for k, v in cfg.items()})
    # Naming the requirements saves MLflow 14 s of loading the model in a subprocess to infer them.
    logged = mlflow.pyfunc.log_model(
        name="model", python_model=CODE / "mlflow_model.py", artifacts={"network": str(model_path)},
        code_paths=[str(CODE)], signature=signature(), input_example=example,
        pip_requirements=requirements())
    register(logged, run.info.run_id, cfg)


def register(logged, run_id: str, cfg: dict) -> None:
    """A new version of `REGISTERED_NAME` for the logged model, saying which training and read-out it has, and
    the registered model saying what it is. (MlflowClient's calls: ``log_model``'s own registration prints
    two lines to the terminal.)"""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        client.create_registered_model(REGISTERED_NAME, description=ABOUT)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        client.update_registered_model(REGISTERED_NAME, description=ABOUT)
    read_out = ", ".join(f"{k} {v}" for k, v in cfg.items())
    client.create_model_version(REGISTERED_NAME, source=logged.model_uri, run_id=run_id, model_id=logged.model_id,
                                description=f"Trained in MLflow run {run_id}. Read-out: {read_out}.")


def main(argv=None) -> None:
    paths = stage_paths("export", argv, network="the trained network (train's output)",
                        run_file="the training's MLflow run (train's output)",
                        colorizer="the model to write, with its read-out")
    try:
        cfg = check_params(P.load(SECTION))
        export(paths.network, cfg, paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"export: {error}")
    tracking.log_to_training_run(paths.run_file, "export", "the model",
                                 lambda run: log_model(paths.colorizer, cfg, run))
    print(f"export: {paths.colorizer} with " + ", ".join(f"{k} {v}" for k, v in cfg.items()))


if __name__ == "__main__":
    main()
