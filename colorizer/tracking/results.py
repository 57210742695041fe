"""MLflow: what evaluate and render attach to the model export logged (``models/mlflow-model.json``): the test
split's figures (`log_test_scores`) and the gallery (`log_gallery`), each into the run that is active
(`colorizer.tracking.runs.log_to_training_run`); and `about_model`, which training made the model, for the
gallery's page.
"""

import json
from pathlib import Path

from colorizer.tracking import runs, store

# The training parameters that shape the model, in the order the gallery lists them (MLflow has them all).
ABOUT_PARAMS = (
    "arch",
    "width",
    "members",
    "head",
    "global_context",
    "epochs",
    "crops_per_image",
    "batch_size",
    "learning_rate",
    "seed",
)


def log_test_scores(model_file: Path, prepared: Path, means: dict, curve: list[dict], files: list[Path]) -> None:
    """The test split's ``means`` (``test_*``) and hint ``curve`` (``test_hinted_psnr`` and
    ``test_nearest_point_psnr``, one step per count of points: MLflow draws the curve) into the active run,
    linked to the logged model of ``model_file`` and to the test split of ``prepared`` as their dataset; the
    ``files`` as its artifacts under ``evaluation``."""
    import mlflow
    from mlflow.entities import LoggedModelInput

    model_id = runs.logged_model_id(model_file, "evaluate")
    test = runs.prepared_dataset(prepared, name=f"{prepared.as_posix()} (test split)")
    mlflow.log_input(test, context="test", model=LoggedModelInput(model_id) if model_id else None)
    runs.log_model_metrics({f"test_{k}": v for k, v in means.items()}, model_id, test)
    for r in curve:
        figures = {"test_nearest_point_psnr": r["nearest_point_psnr"]}
        if r["psnr"] is not None:
            figures["test_hinted_psnr"] = r["psnr"]
        runs.log_model_metrics(figures, model_id, test, step=r["points"])
    for path in files:
        mlflow.log_artifact(str(path), "evaluation")


def log_gallery(gallery: Path, model_file: Path) -> None:
    """The gallery's pictures into the active run (not index.html: MLflow's viewer does not follow its links),
    and its contact sheet to the logged model of ``model_file`` as well (on the model's page)."""
    import mlflow

    for path in sorted(gallery.glob("*.png")):
        mlflow.log_artifact(str(path), "gallery")
    if model_id := runs.logged_model_id(model_file, "render"):
        mlflow.MlflowClient().log_model_artifact(model_id, str(gallery / "contact_sheet.png"), "gallery")


def about_model(run_file: Path, model_file: Path) -> str:
    """Which training made the model: its MLflow run, the parameters that shape it and the read-out of the logged
    model (the run id alone when the tracking store cannot be read)."""
    run_id = json.loads(run_file.read_text())["run_id"] if run_file.exists() else None
    if not run_id:
        return ""
    try:
        store.connect()
        import mlflow

        run = mlflow.get_run(run_id)
        model_id = json.loads(model_file.read_text()).get("model_id") if model_file.exists() else None
        readout = mlflow.get_logged_model(model_id).params if model_id else {}
    except Exception:  # the gallery does not wait for MLflow
        return f"Made by the model of MLflow run {run_id}."
    shown = {k: run.data.params[k] for k in ABOUT_PARAMS if k in run.data.params}
    return (
        f"Made by the model of MLflow run {run.info.run_name or ''} ({run_id}): "
        + ", ".join(f"{k} {v}" for k, v in shown.items())
        + ("; read-out " + ", ".join(f"{k} {v}" for k, v in readout.items()) if readout else "")
        + "."
    )
