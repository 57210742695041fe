"""Stage ``train``: fit the colorizer on the prepared shards, logging to MLflow.

Writes ``models/colorizer.keras``, ``models/mlflow-run.json``, ``metrics/train.json`` and the per-epoch
``metrics/history.csv``. Progress is checkpointed after every epoch under ``checkpoints/train``: an
interrupted training (Ctrl-C, a killed process) resumes from its last finished epoch on the next run with
the same parameters and data, in the same MLflow run.
"""

import csv
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from stages import params as P
from stages import tracking
from stages.atomic import replacing, write_json, write_text
from stages.batches import LabBatches
from stages.gallery import panel
from stages.inference import predict_lab
from stages.model import ARCHS, DOWNSAMPLING, build
from stages.shards import MANIFEST, SETTINGS, LabSplit

SECTION = "train"
PREPARED = Path("data/prepared")
MODEL = Path("models/colorizer.keras")
REPORT = Path("metrics/train.json")
HISTORY = Path("metrics/history.csv")
CHECKPOINTS = Path("checkpoints/train")
OPTIMIZERS = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}
LOSSES = ("mse", "mae", "huber")


def check_params(p: dict) -> dict:
    """Validated train parameters; raises `ParamError` naming the first bad key."""
    return {
        "arch": P.choice(p, SECTION, "arch", ARCHS),
        "width": P.integer(p, SECTION, "width", minimum=1),
        "epochs": P.integer(p, SECTION, "epochs", minimum=1),
        "batch_size": P.integer(p, SECTION, "batch_size", minimum=1),
        "optimizer": P.choice(p, SECTION, "optimizer", tuple(OPTIMIZERS)),
        "learning_rate": P.number(p, SECTION, "learning_rate", minimum=0.0, exclusive_minimum=True),
        "loss": P.choice(p, SECTION, "loss", LOSSES),
        "flip": P.boolean(p, SECTION, "flip"),
        "seed": P.integer(p, SECTION, "seed", minimum=0),
        "samples_logged": P.integer(p, SECTION, "samples_logged", minimum=0),
    }


def open_data(prepared=PREPARED) -> tuple[LabSplit, LabSplit]:
    """The train and val splits; a size the networks cannot take is an error before any training."""
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    for name, split in (("train", train), ("val", val)):
        height, width = split.image_shape[:2]
        if height % DOWNSAMPLING or width % DOWNSAMPLING:
            raise P.ParamError(f"prepare.size: {name} images are {height}x{width}; the networks need "
                               f"multiples of {DOWNSAMPLING}")
    return train, val


def data_params(prepared=PREPARED) -> dict:
    """The parameters the shards were prepared with, as ``prepare.<key>``, for the MLflow run."""
    path = Path(prepared) / SETTINGS
    if not path.exists():
        return {}
    return {f"prepare.{k}": v for k, v in json.loads(path.read_text()).items()}


def fingerprint(cfg: dict, prepared=PREPARED) -> str:
    """What a checkpoint must match to be resumed: the parameters and the prepared data."""
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    digest.update((Path(prepared) / MANIFEST).read_bytes())
    return digest.hexdigest()


def compile_model(cfg: dict) -> keras.Model:
    model = build(cfg["arch"], cfg["width"])
    model.compile(optimizer=OPTIMIZERS[cfg["optimizer"]](learning_rate=cfg["learning_rate"]),
                  loss=cfg["loss"])
    return model


def zero_chroma_loss(split: LabSplit, loss: str) -> float:
    """The loss of always predicting grey (ab = 0): what training has to beat."""
    fn = keras.losses.get(loss)
    total = 0.0
    for start in range(0, len(split), 64):
        ab = split.take(np.arange(start, min(start + 64, len(split))))[..., 1:] / 128.0
        total += float(keras.ops.sum(fn(ab, np.zeros_like(ab))) / np.prod(ab.shape[1:3]))
    return total / len(split)


def devices() -> list[str]:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices()]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices()]
    return [backend]


def read_history(path) -> list[dict]:
    """The CSV history, one row per epoch (a row written twice around an interruption is kept once)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as handle:
        rows = {int(r["epoch"]): r for r in csv.DictReader(handle)}
    return [rows[e] for e in sorted(rows)]


def history_csv(rows: list[dict]) -> str:
    lines = ["epoch,loss,val_loss"]
    lines += [f"{r['epoch']},{float(r['loss']):.6g},{float(r['val_loss']):.6g}" for r in rows]
    return "\n".join(lines) + "\n"


def fit(cfg: dict, train: LabSplit, val: LabSplit, checkpoints=CHECKPOINTS, extra_callbacks=()):
    """Train (resuming from ``checkpoints`` when it holds a matching interrupted run); returns the model
    and the per-epoch history rows. The checkpoint folder is left for the caller to remove."""
    Path(checkpoints).mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg["seed"])
    model = compile_model(cfg)
    batches = LabBatches(train, cfg["batch_size"], shuffle=True, flip=cfg["flip"], seed=cfg["seed"])
    val_batches = LabBatches(val, cfg["batch_size"], shuffle=False)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(checkpoints / "backup")),
        keras.callbacks.CSVLogger(str(checkpoints / "history.csv"), append=True),
        *extra_callbacks,
    ]
    model.fit(batches, validation_data=val_batches, epochs=cfg["epochs"], callbacks=callbacks, verbose=2)
    return model, read_history(checkpoints / "history.csv")


def prepare_checkpoints(cfg: dict, checkpoints=CHECKPOINTS, prepared=PREPARED) -> str | None:
    """Keep a checkpoint folder only if it belongs to this exact training; returns its MLflow run id."""
    stamp = fingerprint(cfg, prepared)
    stamp_file = checkpoints / "fingerprint"
    if checkpoints.exists() and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        shutil.rmtree(checkpoints)
    if stamp_file.exists():
        print(f"train: resuming the interrupted training in {checkpoints}")
    checkpoints.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    run_file = checkpoints / "mlflow_run_id"
    return run_file.read_text().strip() if run_file.exists() else None


def log_to_mlflow(model, cfg, report, val: LabSplit) -> None:
    """The model (with a signature) and a few sample colorizations, into the active run."""
    import mlflow
    from mlflow.models import infer_signature

    example = val.take(np.arange(min(2, len(val))))[..., :1]
    signature = infer_signature(example, np.asarray(model.predict(example, verbose=0)))
    mlflow.keras.log_model(model, name="model", signature=signature)
    # loss and val_loss are already there epoch by epoch; the rest of the report once.
    mlflow.log_metrics({k: v for k, v in report.items() if k not in ("loss", "val_loss")})
    count = min(cfg["samples_logged"], len(val))
    if count:
        truth = val.take(np.arange(count))
        predicted = predict_lab(model, truth)
        for i in range(count):
            mlflow.log_image(panel(truth[i], predicted[i]), artifact_file=f"samples/val-{i:02d}.png")


def main() -> None:
    try:
        cfg = check_params(P.load(SECTION))
        train, val = open_data()
        experiment_id = tracking.connect()
    except (ValueError, FileNotFoundError, tracking.TrackingUnavailable) as error:
        sys.exit(f"train: {error}")

    import mlflow

    resume_run = prepare_checkpoints(cfg)
    started = time.time()
    with tracking.start_training_run(experiment_id, resume_run) as run:
        (CHECKPOINTS / "mlflow_run_id").write_text(run.info.run_id)
        if not resume_run:
            mlflow.log_params({**cfg, **data_params(), "train_samples": len(train), "val_samples": len(val),
                               "backend": keras.backend.backend(), "devices": ", ".join(devices())})
        model, history = fit(cfg, train, val, extra_callbacks=[mlflow.keras.MlflowCallback()])
        last = history[-1]
        report = {
            "loss": float(last["loss"]),
            "val_loss": float(last["val_loss"]),
            "best_val_loss": min(float(r["val_loss"]) for r in history),
            "zero_chroma_val_loss": zero_chroma_loss(val, cfg["loss"]),
            "epochs": len(history),
            "seconds": round(time.time() - started, 1),
        }
        # Outputs first: a tracking server that went away must not cost the trained model.
        with replacing(MODEL) as tmp:
            model.save(tmp)
        write_json(REPORT, report)
        write_text(HISTORY, history_csv(history))
        tracking.write_run_file(run.info.run_id)
        try:
            log_to_mlflow(model, cfg, report, val)
        except Exception as error:  # the outputs are safe; say what did not reach MLflow
            print(f"train: warning: could not log the model to MLflow: {error}", file=sys.stderr)
    shutil.rmtree(CHECKPOINTS, ignore_errors=True)
    print(f"train: val_loss {report['val_loss']:.4f} (zero chroma {report['zero_chroma_val_loss']:.4f}) "
          f"after {report['epochs']} epochs, {report['seconds']} s")


if __name__ == "__main__":
    main()
