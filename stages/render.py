"""Stage ``render``: a PNG gallery of the first ``render.count`` test images.

``gallery/`` gets one PNG per image (grayscale input | colorized | original, labelled, at the photograph's own
shape), a contact sheet of them all and an ``index.html`` that shows them offline with each image's scores
and the MLflow run and parameters of the model; the pictures are logged to the training's MLflow run, and the
contact sheet to the logged model (``models/mlflow-model.json``) as well.
"""

import json
import sys
from pathlib import Path

from colorizer import params as P
from colorizer.tracking import store as tracking
from colorizer.atomic import replacing
from stages import stage_paths
from colorizer.evaluation.gallery import contact_sheet, index_html, panel, panel_name, scores_caption
from colorizer.inference.predict import open_test_split, predict_lab
from colorizer.evaluation.quality import image_scores
from colorizer.data.shards import LabSplit, read_manifest

# The training parameters that shape the model, in the order the page lists them (MLflow has them all).
ABOUT_PARAMS = ("arch", "width", "members", "head", "global_context", "epochs", "crops_per_image", "batch_size",
                "learning_rate", "seed")

SECTION = "render"


def check_params(p: dict) -> dict:
    return P.only_known(p, SECTION, {
        "count": P.integer(p, SECTION, "count", minimum=1),
        "sheet_width": P.integer(p, SECTION, "sheet_width", minimum=64),
    })


def render(model, test: LabSplit, rows: list[dict], cfg: dict, output, about: str = "") -> list[str]:
    """Write the gallery of the test split (``rows``: its manifest rows) into ``output`` (replaced whole), the
    page saying ``about`` the model; returns the panel file names."""
    count = min(cfg["count"], len(test))
    panels, entries = [], []
    with replacing(output) as tmp:
        tmp.mkdir()
        for i in range(count):
            truth = test.take([i])
            predicted = predict_lab(model, truth)
            source = rows[i]["source"]
            image = panel(truth[0], predicted[0], title=source, aspect=float(rows[i].get("aspect") or 0))
            name = panel_name(i, source)
            image.save(tmp / name)
            panels.append(image)
            entries.append((name, source, scores_caption(image_scores(truth[0], predicted[0]))))
        contact_sheet(panels, cfg["sheet_width"]).save(tmp / "contact_sheet.png")
        (tmp / "index.html").write_text(index_html(entries, model=about))
    return [name for name, _, _ in entries]


def about_model(run_file: Path, model_file: Path) -> str:
    """Which training made the model: its MLflow run, the parameters that shape it and the read-out of the logged
    model (the run id alone when the tracking store cannot be read)."""
    run_id = json.loads(run_file.read_text())["run_id"] if run_file.exists() else None
    if not run_id:
        return ""
    try:
        tracking.connect()
        import mlflow

        run = mlflow.get_run(run_id)
        model_id = json.loads(model_file.read_text()).get("model_id") if model_file.exists() else None
        readout = mlflow.get_logged_model(model_id).params if model_id else {}
    except Exception:  # the gallery does not wait for MLflow
        return f"Made by the model of MLflow run {run_id}."
    shown = {k: run.data.params[k] for k in ABOUT_PARAMS if k in run.data.params}
    return (f"Made by the model of MLflow run {run.info.run_name or ''} ({run_id}): "
            + ", ".join(f"{k} {v}" for k, v in shown.items())
            + ("; read-out " + ", ".join(f"{k} {v}" for k, v in readout.items()) if readout else "") + ".")


def main(argv=None) -> None:
    paths = stage_paths("render", argv, prepared="the prepared data (its test split is shown)",
                        colorizer="the model", run_file="the training's MLflow run, to log into",
                        model_file="the logged model (export's output), to attach the contact sheet to",
                        gallery="the folder to write")
    try:
        cfg = check_params(P.load(SECTION))
        test, _, model = open_test_split(paths.prepared, paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"render: {error}")
    names = render(model, test, read_manifest(paths.prepared, "test"), cfg, paths.gallery,
                   about=about_model(paths.run_file, paths.model_file))

    def log(run):
        import mlflow

        for path in sorted(paths.gallery.glob("*.png")):  # not index.html: MLflow's viewer does not follow its links
            mlflow.log_artifact(str(path), "gallery")
        if model_id := tracking.logged_model_id(paths.model_file, "render"):  # on the model's page too
            mlflow.MlflowClient().log_model_artifact(model_id, str(paths.gallery / "contact_sheet.png"), "gallery")

    tracking.log_to_training_run(paths.run_file, "render", "the gallery", log)
    print(f"render: {len(names)} images and a contact sheet in {paths.gallery}/")


if __name__ == "__main__":
    main()
