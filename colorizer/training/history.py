"""What a training leaves: its per-epoch history (Keras's CSV in the checkpoint folder, `read_history`), the
epoch kept (`kept_row`), DVC's metrics of the network kept (`kept_metrics`) and train's outputs
(`write_outputs`)."""

import csv
from pathlib import Path

import keras
import numpy as np

from colorizer.atomic import replacing, write_json, write_text
from colorizer.color import AB_SCALE
from colorizer.data.shards import LabSplit

COLOUR_ERROR = "ab_mse"  # the metric logged each epoch: MSE of a and b in Lab units
# What restore_best minimises. Not val_ab_mse: on a tiny validation set the greyest early epoch wins on that.
MONITOR = "val_loss"


def read_history(path: Path | str) -> list[dict]:
    """The CSV history, one row per epoch (a row written twice around an interruption is kept once)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as handle:
        rows = {int(r["epoch"]): r for r in csv.DictReader(handle)}
    return [rows[e] for e in sorted(rows)]


def kept_row(rows: list[dict]) -> dict | None:
    """The history row that restore_best keeps: the first with the lowest `MONITOR` (None for no rows)."""
    return min(rows, key=lambda r: float(r[MONITOR]), default=None)


def history_csv(rows: list[dict], kept: dict) -> str:
    """The published history: epochs counted from 1, as Keras prints them, kept_epoch and MLflow's steps
    count them (Keras's own CSV, the checkpoint's, counts from 0); ``kept`` is 1 on the row of the epoch
    kept (the network saved), which the plots mark (.dvc/plots/linear_kept.json)."""
    columns = ["loss", "val_loss", f"val_{COLOUR_ERROR}"]
    lines = [",".join(["epoch", *columns, "kept"])]
    lines += [
        ",".join(
            [str(int(r["epoch"]) + 1), *(f"{float(r[c]):.6g}" for c in columns), str(int(r["epoch"] == kept["epoch"]))]
        )
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def zero_chroma_loss(split: LabSplit, loss: str) -> float:
    """The loss of always predicting grey (ab = 0): what training has to beat."""
    fn = keras.losses.get(loss)
    total = 0.0
    for start in range(0, len(split), 64):
        ab = split.take(np.arange(start, min(start + 64, len(split))))[..., 1:] / AB_SCALE
        total += float(keras.ops.sum(fn(ab, np.zeros_like(ab))) / np.prod(ab.shape[1:3]))
    return total / len(split)


def kept_metrics(cfg: dict, rows: list[dict], val: LabSplit) -> tuple[dict, dict]:
    """The history row of the network kept (restore_best's, else the last epoch's) and DVC's metrics: that
    epoch's figures, which `dvc exp show` compares between experiments, and for a regression head the loss of
    always predicting grey on ``val``, to compare val_loss with."""
    kept = kept_row(rows) if cfg["restore_best"] else rows[-1]
    report = {
        "val_loss": float(kept["val_loss"]),
        f"val_{COLOUR_ERROR}": float(kept[f"val_{COLOUR_ERROR}"]),
        "kept_epoch": int(kept["epoch"]) + 1,
        "epochs": len(rows),
    }
    if cfg["head"] == "regression":
        report["zero_chroma_val_loss"] = zero_chroma_loss(val, cfg["loss"])
    return kept, report


def write_outputs(
    model: keras.Model, report: dict, rows: list[dict], kept: dict, network: Path, metrics: Path, history: Path
) -> None:
    """train's outputs, each replaced whole: the ``network`` (``model``), DVC's ``metrics`` (``report``) and
    the per-epoch ``history`` (`history_csv`)."""
    with replacing(network) as tmp:
        model.save(tmp)
    write_json(metrics, report)
    write_text(history, history_csv(rows, kept))


def summary(report: dict, seconds: float) -> str:
    """The training in one line: the epoch kept, its figures, the time it took."""
    baseline = report.get("zero_chroma_val_loss")
    return (
        f"kept epoch {report['kept_epoch']} of {report['epochs']}, val_loss {report['val_loss']:.4f}"
        + (f" (zero chroma {baseline:.4f})" if baseline is not None else "")
        + f", val ab MSE {report[f'val_{COLOUR_ERROR}']:.1f}; {seconds:.0f} s"
    )
