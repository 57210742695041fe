"""Stage ``train``: fit the colorizer on the prepared shards, logging to MLflow.

Writes ``models/network.keras`` (which the export stage turns into ``models/colorizer.keras``),
``models/mlflow-run.json``, ``metrics/train.json`` and the per-epoch ``metrics/history.csv``. Each epoch shows
every training photograph ``crops_per_image`` times, each time a fresh random crop (`colorizer.training.batches`,
`colorizer.training.crops`; the fit is `colorizer.training.fit`). Progress is checkpointed after every epoch, and
every ``checkpoint_every`` batches, under ``checkpoints/train`` (`colorizer.training.checkpoints`): an interrupted
training (Ctrl-C, a killed process) resumes where it was on the next run with the same parameters and data, in
the same MLflow run (`colorizer.tracking.training_run`). With ``restore_best`` the saved network is the epoch
with the lowest validation loss, not the last (`colorizer.training.fit.KeepBest`); ``val_ab_mse``, the
validation colour error in Lab units, is logged every epoch beside the losses.

With ``init_from`` the training starts from a trained network's weights (`colorizer.training.finetune`): a
``.keras`` file in the start folder dvc.yaml gives the stage (``models/start``, one of its deps) or an MLflow
model URI, at ``init_learning_rate`` instead of ``learning_rate``; the MLflow run records which model it started
from.
"""

import shutil
import sys
import time
from argparse import Namespace
from pathlib import Path

from colorizer import params as P
from colorizer.tracking import runs, store, training_run
from colorizer.training import cluster
from colorizer.training.checkpoints import CHECKPOINTS, fingerprint, keep_run_id, prepare_checkpoints
from colorizer.training.cluster import Group
from colorizer.training.finetune import locate_start, start_line, start_network, with_parent
from colorizer.training.fit import fit, open_data, training_setup
from colorizer.training.history import kept_metrics, summary, write_outputs
from colorizer.training.settings import SECTION, check_params, join_group
from stages import stage_paths


def main(argv: list[str] | None = None) -> None:
    paths = stage_paths(
        "train",
        argv,
        prepared="the prepared data (prepare's output)",
        start="the folder of the trained networks a fine-tuning may start from (train.init_from)",
        network="the trained network to write (export gives it its read-out)",
        run_file="the file to write the MLflow run's id in",
        metrics="DVC's metrics to write",
        history="the per-epoch history to write",
    )
    try:
        group = join_group(P.load(SECTION))
    except ValueError as error:
        sys.exit(f"train: {error}")
    with cluster.stop_together(group):  # with several processes, one that stops stops them all at once
        train_as(group, paths)


def train_as(group: Group, paths: Namespace) -> None:
    """The stage, in this process of ``group``: the chief (or a process training alone) writes the outputs
    and logs to MLflow; any other process takes its part in the training and writes nothing."""
    try:
        cfg = check_params(P.load(SECTION))
        start = locate_start(cfg, paths.start, group)
        train, val = open_data(paths.prepared)
        # Every process must train the same thing: the chief's parameters and data, checked before any step.
        stamp = with_parent(cfg, start if isinstance(start, Path) else None)
        cluster.agree(fingerprint(stamp, paths.prepared), group, "train's parameters or the prepared data")
        # A file's parent is checked before MLflow is reached: a wrong one writes nothing.
        parent = start_network(cfg, start) if isinstance(start, Path) else None
        if not group.chief:  # writes nothing and logs nowhere: the chief does
            fit(cfg, train, val, group=group, parent=parent.network if parent else None)
            print(f"train: {group} done; the chief wrote the network, the metrics and the MLflow run")
            return
        experiment_id = store.connect()
        if isinstance(start, str):
            parent = start_network(cfg, start)
            stamp = with_parent(cfg, parent)
    except (ValueError, FileNotFoundError, store.TrackingUnavailable) as error:
        sys.exit(f"train: {error}")

    resume_run = prepare_checkpoints(stamp, CHECKPOINTS, paths.prepared)
    started = time.time()
    with runs.start_training_run(experiment_id, resume_run) as run:
        keep_run_id(CHECKPOINTS, run.info.run_id)
        if not resume_run:
            training_run.log_start({**cfg, **training_setup(train, val, group)}, paths.prepared, parent)
        if parent:
            print(f"train: {start_line(cfg, parent)}")
        model, history = fit(
            cfg,
            train,
            val,
            extra_callbacks=[training_run.EpochMetrics()],
            group=group,
            parent=parent.network if parent else None,
        )
        kept, report = kept_metrics(cfg, history, val)  # DVC's metrics: the figures of the network kept
        seconds = round(time.time() - started, 1)  # changes every run: MLflow's, not DVC's
        # Outputs first: a tracking server that went away must not cost the trained model.
        write_outputs(model, report, history, kept, paths.network, paths.metrics, paths.history)
        runs.write_run_file(run.info.run_id, paths.run_file)
        training_run.log_final(report, seconds)
    shutil.rmtree(CHECKPOINTS, ignore_errors=True)
    print(f"train: {summary(report, seconds)}; MLflow run {run.info.run_name}: {store.runs_url(experiment_id)}")


if __name__ == "__main__":
    main()
