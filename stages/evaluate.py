"""Stage ``evaluate``: colorize the held-out test split and score it against the originals.

Writes ``metrics/eval.json``, DVC's metrics (the model's means over the test images: what experiments are
compared by), ``metrics/eval_reference.json`` (the same for the zero-chroma baseline, which shows the grayscale
input as is, the truth's colourfulness and the number of images: the same for every model of a test split) and
``metrics/eval_images.csv`` (one row per test image; `colorizer.evaluation.scoring`), and logs all the means into
the training's MLflow run, linked to the model export logged (``models/mlflow-model.json``) and to the test split
as their dataset, so that each logged model, and each version of the registered model, keeps its own figures.

With hints: the test split is coloured again with 1, 2, 5, ... points drawn from the truth as Zhang et al.'s
sweep draws them (`colorizer.evaluation.hint_sweep`), and the PSNR at each count goes into
``metrics/eval_reference.json`` (``hinted_psnr``), the curve beside the propagation with no learning (each pixel
the colour of its nearest point) into ``metrics/eval_hints.csv`` (``dvc plots``) and the MLflow run
(``test_hinted_psnr`` and ``test_nearest_point_psnr``, one step per count). A model without a hint input gets
the propagation's curve alone.
"""

import sys

from colorizer import params as P
from colorizer.atomic import write_json, write_text
from colorizer.evaluation.hint_sweep import hint_curve
from colorizer.evaluation.scoring import (
    SECTION,
    check_params,
    curve_csv,
    evaluate,
    open_test_split,
    split_figures,
    table_csv,
)
from colorizer.tracking import results, runs
from stages import stage_paths


def main(argv=None) -> None:
    paths = stage_paths(
        "evaluate",
        argv,
        prepared="the prepared data (its test split is scored)",
        colorizer="the model to score",
        run_file="the training's MLflow run, to log into",
        model_file="the logged model (export's output), to link the metrics to",
        metrics="DVC's metrics to write: the model's means",
        reference="the baseline's means to write",
        table="every image's scores to write",
        curve="the PSNR against the number of hint points to write",
    )
    try:
        cfg = check_params(P.load(SECTION))
        test, sources, model = open_test_split(paths.prepared, paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"evaluate: {error}")
    means, rows = evaluate(model, test, sources, cfg["batch_size"])
    curve = hint_curve(model, test, sources, cfg["hint_points"], cfg["batch_size"])
    metrics, reference = split_figures(means, curve)
    write_json(paths.metrics, metrics)
    write_json(paths.reference, reference)
    write_text(paths.table, table_csv(rows))
    write_text(paths.curve, curve_csv(curve))
    url = runs.log_to_training_run(
        paths.run_file,
        "evaluate",
        "the metrics",
        lambda run: results.log_test_scores(paths.model_file, paths.prepared, means, curve, [paths.table, paths.curve]),
    )
    where = f"; MLflow: {url}" if url else ""
    print(
        f"evaluate: {means['images']} test images: PSNR {means['psnr']:.2f} dB (the grayscale input "
        f"{means['baseline_psnr']:.2f}), SSIM {means['ssim']:.3f}, ab MSE {means['ab_mse']:.1f}, colourfulness "
        f"{means['colorfulness']:.1f} (truth {means['colorfulness_truth']:.1f}){where}"
    )
    if hinted := reference.get("hinted_psnr"):
        print(
            "evaluate: with hint points, PSNR "
            + ", ".join(f"{n}: {v:.2f}" for n, v in hinted.items())
            + " dB (nearest point: "
            + ", ".join(f"{r['points']}: {r['nearest_point_psnr']:.2f}" for r in curve if r["points"])
            + ")"
        )


if __name__ == "__main__":
    main()
