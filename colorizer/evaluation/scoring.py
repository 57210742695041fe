"""The held-out test split colorized and scored against the originals (the ``evaluate`` stage).

`evaluate` scores the model and the zero-chroma baseline (the grayscale input as is) on every test image;
`split_figures` parts the means into DVC's metrics (the model's own, what experiments are compared by) and the
reference (the baseline's, the truth's colourfulness, the number of images, the hint curve of
`colorizer.evaluation.hint_sweep.hint_curve`); `table_csv` writes rows as CSV.
"""

import csv
import io
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorizer import params as P
from colorizer.color import gray_lab
from colorizer.data.shards import LabSplit, read_manifest
from colorizer.evaluation.quality import image_scores
from colorizer.inference.loading import Network, load_model
from colorizer.inference.predict import predict_lab

SECTION = "evaluate"
METRICS = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_truth")
CURVE_FIELDS = ("points", "psnr", "ab_mse", "nearest_point_psnr", "nearest_point_ab_mse")


def check_params(p: dict) -> dict:
    """Validated evaluate parameters; raises `ParamError` naming the first bad key."""
    counts = P.get(p, SECTION, "hint_points")
    if not isinstance(counts, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 1000 for n in counts
    ):
        raise P.ParamError(
            f"{SECTION}.hint_points must be a list of point counts from 0 to 1000 (e.g. [0, 1, 5]); got {counts!r}"
        )
    return P.only_known(
        p, SECTION, {"batch_size": P.integer(p, SECTION, "batch_size", minimum=1), "hint_points": sorted(set(counts))}
    )


def open_test_split(prepared: str | Path, model_path: str | Path) -> tuple[LabSplit, list[str], Network]:
    """What evaluate starts from: the test split, its source file names, and the colorizer."""
    test = LabSplit(prepared, "test")
    sources = [row["source"] for row in read_manifest(prepared, "test")]
    return test, sources, load_model(model_path)


def evaluate(model: Network, test: LabSplit, sources: list[str], batch_size: int) -> tuple[dict, list[dict]]:
    """Scores of the model and of the zero-chroma baseline: (means, one row per image)."""
    rows = []
    for start in tqdm(
        range(0, len(test), batch_size), desc="evaluate", unit="batch", leave=False, disable=None, file=sys.stderr
    ):  # a bar on a terminal only
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


def split_figures(means: dict, curve: list[dict]) -> tuple[dict, dict]:
    """(DVC's metrics, the reference) of `evaluate`'s means and the hint curve: the metrics are the model's four
    figures (`dvc metrics show` readable at 120 columns); the reference has the other means, the model's PSNR at
    each count of points (``hinted_psnr``, for a model with a hint input) and the nearest point's."""
    metrics = {k: means[k] for k in METRICS if k != "colorfulness_truth"}
    hinted = {str(r["points"]): r["psnr"] for r in curve if r["points"] and r["psnr"] is not None}
    reference = {
        **{k: v for k, v in means.items() if k not in metrics},
        **({"hinted_psnr": hinted} if hinted else {}),
        "nearest_point_psnr": {str(r["points"]): r["nearest_point_psnr"] for r in curve},
    }
    return metrics, reference


def table_csv(rows: list[dict]) -> str:
    """``rows`` as CSV, with the keys of the first as its header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def curve_csv(curve: list[dict]) -> str:
    """The hint curve as CSV (``dvc plots``), a figure that is None left empty; the header alone for no row."""
    if not curve:
        return ",".join(CURVE_FIELDS) + "\n"
    return table_csv([{k: ("" if v is None else v) for k, v in r.items()} for r in curve])
