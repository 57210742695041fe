"""Does the input pipeline or the model set the pace of training?

    python benchmarks/train_input.py [--images ../shared/datasets/bsds432] [--steps 60] [--runs 5]
    python benchmarks/train_input.py --host-only [--batch 128]      # the host's side alone, no model
    KERAS_BACKEND=jax python benchmarks/train_input.py ...           # on JAX (a GPU machine has no TF)

The shards are prepared from ``--images`` with params.yaml's prepare settings (training photographs stored
at train_size / crop_scale, 256x256 by default). Then:

- ``--host-only``: what the host delivers: `colorizer.training.batches.CropBatches` (rows read from the shard files, a
  fresh random crop box drawn per image) read by ``--workers`` threads, as Keras's PyDataset enqueuer does;
  prints ``host input: N images/s`` (median of ``--runs`` passes over the data) and exits.
- otherwise the default model (params.yaml's train section) is trained for ``--steps`` steps in two ways,
  alternately, ``--runs`` times each: from the shards through `CropBatches`, as `colorizer.training.fit.fit` does, and
  from one batch already in memory, repeated (the fastest input there can be: a ``tf.data`` dataset of one
  batch on TensorFlow, a generator of the same arrays on other backends). Both go through the same model,
  whose graph cuts the crops (`colorizer.training.crops.CropTraining`), so the ratio is the input's cost alone.

Each epoch's wall time is taken from Keras callbacks, after one warm-up epoch of each (tracing); the table
gives training steps and images per second (medians) and their ratio: 100% means the model sets the pace.
"""

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
DEFAULT_IMAGES = machine.REPO.parent / "shared" / "datasets" / "bsds432"


class EpochTimer:
    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                timer.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.seconds.append(time.perf_counter() - timer.start)

        self.callback, self.seconds, self.start = Callback(), [], None


def in_memory(batch):
    """One batch, repeated for ever, with no per-step work on the host."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.data.Dataset.from_tensors(batch).repeat()

    def forever():
        while True:
            yield batch

    return forever()


def host_rate(batches, workers: int, steps: int) -> float:
    """Images a second that ``workers`` threads get out of ``batches`` (steps batches, taken in order)."""
    indices = [i % len(batches) for i in range(steps)]
    start = time.perf_counter()
    if workers <= 1:
        images = sum(len(batches[i]["boxes"]) for i in indices)
    else:
        with ThreadPoolExecutor(workers) as pool:
            images = sum(len(b["boxes"]) for b in pool.map(batches.__getitem__, indices))
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--prepared", type=Path, help="shards already prepared (skips preparing them)")
    parser.add_argument("--steps", type=int, default=60, help="training steps per measured epoch")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, help="batch size (default: params.yaml's train.batch_size)")
    parser.add_argument("--host-only", action="store_true", help="measure the host's input alone")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="threads reading batches")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="train params to override, e.g. width=4 (values are YAML)",
    )
    args = parser.parse_args()

    import keras
    import yaml

    import colorizer
    from colorizer import params as P
    from colorizer.data.preparation import check_params as check_prepare
    from colorizer.data.preparation import prepare
    from colorizer.data.shards import LabSplit
    from colorizer.training.batches import CropBatches
    from colorizer.training.fit import compile_model, hint_draw, smallest_crop, training_size
    from colorizer.training.settings import check_params

    params_file = Path(colorizer.__file__).resolve().parents[1] / "params.yaml"
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    if args.batch:
        overrides["batch_size"] = args.batch
    cfg = check_params({**P.load("train", params_file), **overrides})
    batch = cfg["batch_size"]
    print(f"Machine: {machine.describe()}; Keras {keras.__version__} on {keras.backend.backend()}")
    tmp = Path(tempfile.mkdtemp(prefix="train-input-"))
    try:
        prepared = args.prepared
        if prepared is None:
            prepared = tmp / "prepared"
            prepare(
                check_prepare(
                    dict(P.load("prepare", params_file), images=str(args.images), test_subfolder=None, workers=0)
                ),
                prepared,
            )
        train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
        size, min_scale = training_size(val), smallest_crop(train, val)
        batches = CropBatches(
            train,
            batch,
            shuffle=True,
            crops_per_image=cfg["crops_per_image"],
            min_scale=min_scale,
            flip=cfg["flip"],
            seed=cfg["seed"],
            hints=hint_draw(cfg, size),
        )
        print(
            f"Data: {len(train)} training photographs stored at {train.image_shape[0]}x{train.image_shape[1]}, "
            f"crops to {size[0]}x{size[1]} (side {min_scale:.2f}..1), batch {batch}\n",
            flush=True,
        )
        if args.host_only:
            for workers in args.workers:
                host_rate(batches, workers, min(20, len(batches)))  # warm the page cache and the allocator
                rates = [host_rate(batches, workers, len(batches)) for _ in range(args.runs)]
                print(
                    f"host input: {machine.median(rates):.0f} images/s ({workers} thread"
                    f"{'s' if workers > 1 else ''}; runs {machine.spread(rates, '{:.0f}')})",
                    flush=True,
                )
            print(f"Load average after: {machine.load()}")
            return
        steps = min(args.steps, len(batches) - 1)  # full batches only: one traced shape
        keras.utils.set_random_seed(cfg["seed"])
        _, trainee = compile_model(cfg, train, size)
        memory = in_memory(batches[0])
        print(
            f"Model: {cfg['arch']} width {cfg['width']}, head {cfg['head']}, {trainee.count_params():,} "
            f"parameters; {steps} steps per epoch, {args.runs} runs\n",
            flush=True,
        )
        timers = {"reading shards (CropBatches)": EpochTimer(), "one batch in memory, repeated": EpochTimer()}
        sources = dict(zip(timers, (batches, memory)))
        for run in range(args.runs + 1):  # the first run of each is the warm-up
            for name, timer in timers.items():
                trainee.fit(
                    sources[name], epochs=1, steps_per_epoch=steps, callbacks=[timer.callback], shuffle=False, verbose=0
                )
                if run == 0:
                    timer.seconds.clear()
        host = host_rate(batches, 1, steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rates = {name: [steps / s for s in timer.seconds] for name, timer in timers.items()}
    reference = machine.median(rates["one batch in memory, repeated"])
    print("| training input | steps/s (median, range) | images/s | vs one batch in memory |")
    print("| --- | --- | --- | --- |")
    for name, values in rates.items():
        print(
            f"| {name} | {machine.spread(values, '{:.2f}')} | {machine.median(values) * batch:.1f} "
            f"| {100 * machine.median(values) / reference:.1f}% |"
        )
    print(
        f"\nHost input alone (one thread): {host:.0f} images/s, {100 * reference * batch / host:.1f}% of it "
        f"used at the model's pace. Load average after: {machine.load()}"
    )


if __name__ == "__main__":
    main()
