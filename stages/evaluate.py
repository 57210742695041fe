"""Stage ``evaluate``: colorize the held-out test split and score it against the originals.

Writes ``metrics/eval.json``, DVC's metrics (the model's means over the test images: what experiments are
compared by), ``metrics/eval_reference.json`` (the same for the zero-chroma baseline, which shows the grayscale
input as is, the truth's colourfulness and the number of images: the same for every model of a test split) and
``metrics/eval_images.csv`` (one row per test image), and logs all the means into the training's MLflow run.
"""

import csv
import io
import sys

import numpy as np
from tqdm import tqdm

from colorizer import params as P
from colorizer import tracking
from colorizer.atomic import write_json, write_text
from colorizer.cli import stage_paths
from colorizer.color import gray_lab
from colorizer.inference import open_test_split, predict_lab
from colorizer.quality import image_scores
from colorizer.shards import LabSplit

SECTION = "evaluate"
METRICS = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_truth")


def check_params(p: dict) -> dict:
    return P.only_known(p, SECTION, {"batch_size": P.integer(p, SECTION, "batch_size", minimum=1)})


def evaluate(model, test: LabSplit, sources: list[str], batch_size: int) -> tuple[dict, list[dict]]:
    """Scores of the model and of the zero-chroma baseline: (means, one row per image)."""
    rows = []
    for start in tqdm(range(0, len(test), batch_size), desc="evaluate", unit="batch", leave=False, disable=None,
                      file=sys.stderr):  # a bar on a terminal only
        truth = test.take(np.arange(start, min(start + batch_size, len(test))))
        predicted = predict_lab(model, truth, batch_size)
        for i, (t, p) in enumerate(zip(truth, predicted)):
            model_scores = image_scores(t, p)
            baseline = image_scores(t, gray_lab(t[..., :1]))
            row = {"image": sources[start + i]}
            row.update({k: round(v, 5) for k, v in model_scores.items()})
            row.update({f"baseline_{k}": round(baseline[k], 5) for k in METRICS if k != "colorfulness_truth"})
            rows.append(row)
    means = {"images": len(rows)}
    for key in rows[0]:
        if key != "image":
            means[key] = round(float(np.mean([r[key] for r in rows])), 4)
    return means, rows


def table_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main(argv=None) -> None:
    paths = stage_paths("evaluate", argv, prepared="the prepared data (its test split is scored)",
                        colorizer="the model to score", run_file="the training's MLflow run, to log into",
                        metrics="DVC's metrics to write: the model's means", reference="the baseline's means to write",
                        table="every image's scores to write")
    try:
        cfg = check_params(P.load(SECTION))
        test, sources, model = open_test_split(paths.prepared, paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"evaluate: {error}")
    means, rows = evaluate(model, test, sources, cfg["batch_size"])
    model_means = {k: means[k] for k in METRICS if k != "colorfulness_truth"}
    write_json(paths.metrics, model_means)
    write_json(paths.reference, {k: v for k, v in means.items() if k not in model_means})
    write_text(paths.table, table_csv(rows))

    def log(run):
        import mlflow

        mlflow.log_metrics({f"test_{k}": v for k, v in means.items()})
        mlflow.log_artifact(str(paths.table), "evaluation")

    url = tracking.log_to_training_run(paths.run_file, "evaluate", "the metrics", log)
    where = f"; MLflow: {url}" if url else ""
    print(f"evaluate: {means['images']} test images: PSNR {means['psnr']:.2f} dB (the grayscale input "
          f"{means['baseline_psnr']:.2f}), SSIM {means['ssim']:.3f}, ab MSE {means['ab_mse']:.1f}, colourfulness "
          f"{means['colorfulness']:.1f} (truth {means['colorfulness_truth']:.1f}){where}")


if __name__ == "__main__":
    main()
