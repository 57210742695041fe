"""Stage ``export``: set the read-out of the trained network and write the model users colour with.

Reads ``models/network.keras`` (train's output), sets its read-out (`colorizer.inference.export`), writes
``models/colorizer.keras`` and the same as ONNX, logs it as a model of the training's MLflow run, registered
(`colorizer.tracking.logged_model`), and writes the logged model's id and version (``models/mlflow-model.json``)
for evaluate and render.
"""

import sys

from colorizer import params as P
from colorizer.atomic import write_json
from colorizer.inference.export import SECTION, check_params, export
from colorizer.inference.onnx_export import write_onnx
from colorizer.tracking import logged_model, registry, runs
from stages import stage_paths


def main(argv=None) -> None:
    paths = stage_paths(
        "export",
        argv,
        network="the trained network (train's output)",
        run_file="the training's MLflow run (train's output)",
        colorizer="the model to write, with its read-out",
        model_file="the logged model's id and registered version to write (for evaluate, render)",
        onnx="the same model as an ONNX file to write (colorize without TensorFlow)",
    )
    try:
        cfg = check_params(P.load(SECTION))
        model = export(paths.network, cfg, paths.colorizer)
        write_onnx(model, paths.onnx)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"export: {error}")
    logged = {}
    runs.log_to_training_run(
        paths.run_file,
        "export",
        "the model",
        lambda run: logged.update(logged_model.log_model(paths.colorizer, cfg, run)),
    )
    # Written whether or not MLflow took the model (ids are null then): DVC needs the output either way.
    write_json(
        paths.model_file,
        {
            "model_id": logged.get("model_id"),
            "model_uri": logged.get("model_uri"),
            "registered_model": registry.NAME,
            "version": logged.get("version"),
        },
    )
    print(
        f"export: {paths.colorizer} with "
        + ", ".join(f"{k} {v}" for k, v in cfg.items())
        + (f"; MLflow: {registry.NAME} version {logged['version']} (@{registry.CANDIDATE})" if logged else "")
    )


if __name__ == "__main__":
    main()
