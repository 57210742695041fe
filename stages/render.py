"""Stage ``render``: a PNG gallery of the first ``render.count`` test images (`colorizer.evaluation.gallery`).

``gallery/`` gets one PNG per image (grayscale input | colorized | original, labelled, at the photograph's own
shape), a contact sheet of them all and an ``index.html`` that shows them offline with each image's scores
and the MLflow run and parameters of the model; the pictures are logged to the training's MLflow run, and the
contact sheet to the logged model (``models/mlflow-model.json``) as well.
"""

import sys

from colorizer import params as P
from colorizer.data.shards import LabSplit, read_manifest
from colorizer.evaluation.gallery import SECTION, check_params, render
from colorizer.inference.loading import load_model
from colorizer.tracking import results, runs
from stages import stage_paths


def main(argv=None) -> None:
    paths = stage_paths(
        "render",
        argv,
        prepared="the prepared data (its test split is shown)",
        colorizer="the model",
        run_file="the training's MLflow run, to log into",
        model_file="the logged model (export's output), to attach the contact sheet to",
        gallery="the folder to write",
    )
    try:
        cfg = check_params(P.load(SECTION))
        test, model = LabSplit(paths.prepared, "test"), load_model(paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"render: {error}")
    names = render(
        model,
        test,
        read_manifest(paths.prepared, "test"),
        cfg,
        paths.gallery,
        about=results.about_model(paths.run_file, paths.model_file),
    )
    runs.log_to_training_run(
        paths.run_file, "render", "the gallery", lambda run: results.log_gallery(paths.gallery, paths.model_file)
    )
    print(f"render: {len(names)} images and a contact sheet in {paths.gallery}/")


if __name__ == "__main__":
    main()
