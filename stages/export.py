"""Stage ``export``: set the vividness of the trained network and write the model users colour with.

Reads ``models/network.keras`` (train's output), sets its read-out (``rebalance`` and ``temperature`` of
the annealed mean for a distribution head, ``saturation`` for any head), writes ``models/colorizer.keras`` and logs it, with
its signature, as a model of the training's MLflow run. The read-out is not learnt, so changing it reruns
export, evaluate and render in seconds, never train.

The logged model is a pyfunc model with this project's code (`colorizer.tracking.pyfunc`), so that
``mlflow.pyfunc.load_model`` and ``mlflow models predict`` work in any Python with its requirements. Its
read-out is the logged model's parameters, each export is a new version of the registered model
`colorizer.tracking.registry.NAME` with the alias ``candidate`` (``models:/colorizer@candidate``), and
``models/mlflow-model.json`` records the logged model's id and version, so that evaluate and render attach
their figures and gallery to this model and no other.
"""

import sys
from pathlib import Path

import numpy as np

import colorizer
from colorizer import params as P
from colorizer.tracking import registry
from colorizer.tracking import store as tracking
from colorizer.atomic import replacing, write_json
from stages import stage_paths
from colorizer.inference.predict import load
from colorizer.network.model import has_distribution_head, set_vividness
from colorizer.inference.onnx_export import write_onnx

SECTION = "export"
# The code the logged model loads with: the whole package, as the read-out layers import their neighbours.
CODE = Path(colorizer.__file__).resolve().parent


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
    and its hint map (4; `colorizer.tracking.pyfunc`), which the model checks: a signature has no optional tensor."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, -1))]),
                          outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, 2))]))


def log_model(model_path, cfg: dict, run) -> dict:
    """The exported model into the training's run (``runs:/<id>/model`` is the newest; each has its own id),
    its read-out as the logged model's parameters, registered as a new version of `registry.NAME` with the alias
    ``candidate``; returns ``{"model_id", "model_uri", "version"}``.

    MLflow's Keras flavor cannot log code, and Keras rebuilds the custom read-out layers only with it; so the
    model is a pyfunc model from code (`colorizer.tracking.pyfunc`, the Keras file as its artifact) with the package
    as ``code_paths``.
    """
    import mlflow

    example = np.full((1, 64, 64, 1), 50.0, np.float32)
    # Naming the requirements saves MLflow 14 s of loading the model in a subprocess to infer them.
    logged = mlflow.pyfunc.log_model(
        name="model", python_model=CODE / "tracking" / "pyfunc.py", artifacts={"network": str(model_path)},
        code_paths=[str(CODE)], signature=signature(), input_example=example,
        pip_requirements=requirements(), params={k: str(v) for k, v in cfg.items()})
    version = registry.register(logged, run.info.run_id, cfg)
    return {"model_id": logged.model_id, "model_uri": logged.model_uri, "version": version}


def main(argv=None) -> None:
    paths = stage_paths("export", argv, network="the trained network (train's output)",
                        run_file="the training's MLflow run (train's output)",
                        colorizer="the model to write, with its read-out",
                        model_file="the logged model's id and registered version to write (for evaluate, render)",
                        onnx="the same model as an ONNX file to write (colorize without TensorFlow)")
    try:
        cfg = check_params(P.load(SECTION))
        model = export(paths.network, cfg, paths.colorizer)
        write_onnx(model, paths.onnx)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"export: {error}")
    logged = {}
    tracking.log_to_training_run(paths.run_file, "export", "the model",
                                 lambda run: logged.update(log_model(paths.colorizer, cfg, run)))
    # Written whether or not MLflow took the model (ids are null then): DVC needs the output either way.
    write_json(paths.model_file, {"model_id": logged.get("model_id"), "model_uri": logged.get("model_uri"),
                                  "registered_model": registry.NAME, "version": logged.get("version")})
    print(f"export: {paths.colorizer} with " + ", ".join(f"{k} {v}" for k, v in cfg.items())
          + (f"; MLflow: {registry.NAME} version {logged['version']} (@{registry.CANDIDATE})" if logged else ""))


if __name__ == "__main__":
    main()
