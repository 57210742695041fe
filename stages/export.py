"""Stage ``export``: set the vividness of the trained network and write the model users colour with.

Reads ``models/network.keras`` (train's output), sets its read-out (``rebalance`` and ``temperature`` of
the annealed mean for a distribution head, ``saturation`` for any head), writes ``models/colorizer.keras`` and logs it, with
its signature, as the model of the training's MLflow run. The read-out is not learnt, so changing it reruns
export, evaluate and render in seconds, never train.
"""

import sys
from pathlib import Path

import numpy as np

from stages import params as P
from stages import tracking
from stages.atomic import replacing
from stages.inference import load
from stages.model import set_vividness

SECTION = "export"
NETWORK = Path("models/network.keras")
MODEL = Path("models/colorizer.keras")


def check_params(p: dict) -> dict:
    return P.only_known(p, SECTION, {
        "rebalance": P.number(p, SECTION, "rebalance", minimum=0.0, maximum=1.0),
        "temperature": P.number(p, SECTION, "temperature", minimum=0.0, maximum=10.0, exclusive_minimum=True),
        "saturation": P.number(p, SECTION, "saturation", minimum=0.0, maximum=4.0),
    })


def has_distribution_head(model) -> bool:
    return any(layer.name == "annealed_mean" for layer in model.layers)


def export(network_path, cfg: dict, output=MODEL):
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
    """The packages a loader of the logged model needs, at the versions installed here."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("keras", "tensorflow", "numpy"):
        try:
            found.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pass
    return found


def log_model(model, cfg: dict) -> None:
    """The exported model, with a signature, into the training's run (the newest is ``runs:/<id>/model``)."""
    import mlflow
    from mlflow.models import infer_signature

    example = np.full((1, 64, 64, 1), 50.0, np.float32)
    with tracking.reopen_training_run():
        mlflow.set_tags({f"export.{k}": v for k, v in cfg.items()})
        # Naming the requirements saves MLflow 14 s of loading the model in a subprocess to infer them.
        signature = infer_signature(example, model.predict(example, verbose=0))
        mlflow.keras.log_model(model, name="model", signature=signature, pip_requirements=requirements())


def main() -> None:
    try:
        cfg = check_params(P.load(SECTION))
        model = export(NETWORK, cfg)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"export: {error}")
    try:
        log_model(model, cfg)
    except Exception as error:
        print(f"export: warning: the model was not logged to MLflow: {error}", file=sys.stderr)
    print(f"export: {MODEL} with " + ", ".join(f"{k} {v}" for k, v in cfg.items()))


if __name__ == "__main__":
    main()
