"""Stage ``evaluate``: colorize the held-out test split and score it against the originals.

Writes ``metrics/eval.json``, DVC's metrics (the model's means over the test images: what experiments are
compared by), ``metrics/eval_reference.json`` (the same for the zero-chroma baseline, which shows the grayscale
input as is, the truth's colourfulness and the number of images: the same for every model of a test split) and
``metrics/eval_images.csv`` (one row per test image), and logs all the means into the training's MLflow run,
linked to the model export logged (``models/mlflow-model.json``) and to the test split as their dataset, so that
each logged model, and each version of the registered model, keeps its own figures.

With hints: the test split is coloured again with 1, 2, 5, ... points drawn from the truth as Zhang et al.'s
sweep draws them (`colorizer.hints.sweep_points`, seeded by each photograph's name, so N points are a subset of
the N + 1's), and the PSNR at each count goes into ``metrics/eval_reference.json`` (``hinted_psnr``), the curve beside
the propagation with no learning (each pixel the colour of its nearest point) into ``metrics/eval_hints.csv``
(``dvc plots``) and the MLflow run (``test_hinted_psnr`` and ``test_nearest_point_psnr``, one step per count).
A model without a hint input gets the propagation's curve alone.
"""

import csv
import io
import sys

import numpy as np
from tqdm import tqdm

from colorizer import params as P
from colorizer.tracking import store as tracking
from colorizer.atomic import write_json, write_text
from stages import stage_paths
from colorizer.color import gray_lab, merge_lab
from colorizer.hints import hint_map, nearest_point_colours, photo_seed, sweep_points, truth_hints
from colorizer.inference.predict import open_test_split, predict_lab, takes_hints
from colorizer.evaluation.quality import image_scores, psnr_of_lab
from colorizer.data.shards import LabSplit

SECTION = "evaluate"
METRICS = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_truth")


def check_params(p: dict) -> dict:
    counts = P.get(p, SECTION, "hint_points")
    if not isinstance(counts, list) or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 1000
                                               for n in counts):
        raise P.ParamError(f"{SECTION}.hint_points must be a list of point counts from 0 to 1000 (e.g. [0, 1, 5]); "
                           f"got {counts!r}")
    return P.only_known(p, SECTION, {"batch_size": P.integer(p, SECTION, "batch_size", minimum=1),
                                     "hint_points": sorted(set(counts))})


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


def hint_curve(model, test: LabSplit, sources: list[str], counts, batch_size: int) -> list[dict]:
    """One row per count of points: the mean PSNR (and ab MSE) of the model given that many points drawn from
    the truth, and of the nearest-point propagation (the model's figures are None for a model without a hint
    input, except at 0 points)."""
    hinted = takes_hints(model)
    rows = []
    for count in counts:
        model_psnr, model_mse, near_psnr, near_mse = [], [], [], []
        for start in tqdm(range(0, len(test), batch_size), desc=f"evaluate, {count} points", unit="batch",
                          leave=False, disable=None, file=sys.stderr):
            truth = test.take(np.arange(start, min(start + batch_size, len(test))))
            size = truth.shape[1:3]
            hints = [truth_hints(t, sweep_points(photo_seed(sources[start + i]), count, size))
                     for i, t in enumerate(truth)]
            if hinted or count == 0:
                maps = np.stack([hint_map(h, size, size) for h in hints])
                predicted = predict_lab(model, truth, batch_size, maps if hinted else None)
                for t, p in zip(truth, predicted):
                    model_psnr.append(psnr_of_lab(t, p))
                    model_mse.append(float(np.mean((t[..., 1:].astype(np.float64) - p[..., 1:]) ** 2)))
            for t, h in zip(truth, hints):
                near = merge_lab(t[None, ..., :1], nearest_point_colours(size, h)[None] / 128.0)[0]
                near_psnr.append(psnr_of_lab(t, near))
                near_mse.append(float(np.mean((t[..., 1:].astype(np.float64) - near[..., 1:]) ** 2)))
        mean = lambda v: round(float(np.mean(v)), 4) if v else None  # noqa: E731
        rows.append({"points": count, "psnr": mean(model_psnr), "ab_mse": mean(model_mse),
                     "nearest_point_psnr": mean(near_psnr), "nearest_point_ab_mse": mean(near_mse)})
    return rows


def table_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main(argv=None) -> None:
    paths = stage_paths("evaluate", argv, prepared="the prepared data (its test split is scored)",
                        colorizer="the model to score", run_file="the training's MLflow run, to log into",
                        model_file="the logged model (export's output), to link the metrics to",
                        metrics="DVC's metrics to write: the model's means", reference="the baseline's means to write",
                        table="every image's scores to write",
                        curve="the PSNR against the number of hint points to write")
    try:
        cfg = check_params(P.load(SECTION))
        test, sources, model = open_test_split(paths.prepared, paths.colorizer)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"evaluate: {error}")
    means, rows = evaluate(model, test, sources, cfg["batch_size"])
    curve = hint_curve(model, test, sources, cfg["hint_points"], cfg["batch_size"])
    model_means = {k: means[k] for k in METRICS if k != "colorfulness_truth"}
    hinted = {str(r["points"]): r["psnr"] for r in curve if r["points"] and r["psnr"] is not None}
    # DVC's metrics stay the model's four figures (`dvc metrics show` readable at 120 columns); the curve is in
    # the reference, the CSV that `dvc plots` draws, and MLflow.
    write_json(paths.metrics, model_means)
    write_json(paths.reference, {**{k: v for k, v in means.items() if k not in model_means},
                                 **({"hinted_psnr": hinted} if hinted else {}),
                                 "nearest_point_psnr": {str(r["points"]): r["nearest_point_psnr"] for r in curve}})
    write_text(paths.table, table_csv(rows))
    write_text(paths.curve, table_csv([{k: ("" if v is None else v) for k, v in r.items()} for r in curve])
               if curve else "points,psnr,ab_mse,nearest_point_psnr,nearest_point_ab_mse\n")

    def log(run):
        import mlflow
        from mlflow.entities import LoggedModelInput

        model_id = tracking.logged_model_id(paths.model_file, "evaluate")
        test = tracking.prepared_dataset(paths.prepared, name=f"{paths.prepared.as_posix()} (test split)")
        mlflow.log_input(test, context="test", model=LoggedModelInput(model_id) if model_id else None)
        tracking.log_model_metrics({f"test_{k}": v for k, v in means.items()}, model_id, test)
        for r in curve:  # one step per count of points: MLflow draws the curve
            figures = {"test_nearest_point_psnr": r["nearest_point_psnr"]}
            if r["psnr"] is not None:
                figures["test_hinted_psnr"] = r["psnr"]
            tracking.log_model_metrics(figures, model_id, test, step=r["points"])
        mlflow.log_artifact(str(paths.table), "evaluation")
        mlflow.log_artifact(str(paths.curve), "evaluation")

    url = tracking.log_to_training_run(paths.run_file, "evaluate", "the metrics", log)
    where = f"; MLflow: {url}" if url else ""
    print(f"evaluate: {means['images']} test images: PSNR {means['psnr']:.2f} dB (the grayscale input "
          f"{means['baseline_psnr']:.2f}), SSIM {means['ssim']:.3f}, ab MSE {means['ab_mse']:.1f}, colourfulness "
          f"{means['colorfulness']:.1f} (truth {means['colorfulness_truth']:.1f}){where}")
    if hinted:
        print("evaluate: with hint points, PSNR " + ", ".join(f"{n}: {v:.2f}" for n, v in hinted.items())
              + " dB (nearest point: " + ", ".join(f"{r['points']}: {r['nearest_point_psnr']:.2f}" for r in curve
                                                   if r["points"]) + ")")


if __name__ == "__main__":
    main()
