"""Does the input pipeline or the model set the pace of training?

    python benchmarks/train_input.py [--images ../shared/datasets/bsds432] [--steps 60] [--runs 5]
    KERAS_BACKEND=jax python benchmarks/train_input.py ...     # the same on JAX (a GPU machine has no TF)

The default model (params.yaml's train section: arch, width, batch size, optimizer, loss, flip) at
``--size`` is trained for ``--steps`` steps in two ways, alternately, ``--runs`` times each:

- reading shards: the `stages.batches.LabBatches` that `stages.train.fit` uses (shuffled, flipped, rows read
  from the shard files written by `stages.prepare.prepare`);
- one batch already in memory, repeated: the fastest input there can be (a ``tf.data`` dataset of one
  tensor, repeated, on TensorFlow; a generator yielding the same arrays on other backends).

Each epoch's wall time is taken from Keras callbacks, after one warm-up epoch of each (tracing); the table
gives training steps and images per second (medians) and their ratio: 100% means the model sets the pace.
"""

import argparse
import inspect
import os
import shutil
import tempfile
import time
from pathlib import Path

import machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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


def in_memory(x, y):
    """One batch, repeated for ever, with no per-step work on the host."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.data.Dataset.from_tensors((x, y)).repeat()

    def forever():
        while True:
            yield x, y

    return forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--size", type=int, nargs=2, default=[128, 128])
    parser.add_argument("--crops", type=int, default=4, help="prepare.crops_per_image for the shards")
    parser.add_argument("--steps", type=int, default=60, help="training steps per measured epoch")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="train params to override, e.g. width=4 (values are YAML)")
    args = parser.parse_args()

    import keras
    import yaml

    import stages
    from stages import params as P
    from stages.batches import LabBatches
    from stages.prepare import check_params as check_prepare
    from stages.prepare import prepare
    from stages.shards import LabSplit
    from stages.train import check_params, compile_model

    params_file = Path(stages.__file__).resolve().parents[1] / "params.yaml"
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    cfg = check_params({**P.load("train", params_file), **overrides})
    print(f"Machine: {machine.describe()}; Keras {keras.__version__} on {keras.backend.backend()}")
    tmp = Path(tempfile.mkdtemp(prefix="train-input-"))
    try:
        prepared = tmp / "prepared"
        prepare(check_prepare(dict(P.load("prepare", params_file), images=str(args.images), size=args.size,
                                   test_size=args.size, crops_per_image=args.crops, test_subfolder=None,
                                   workers=0)), prepared)
        train = LabSplit(prepared, "train")
        batch = cfg["batch_size"]
        steps = min(args.steps, len(train) // batch)  # full batches only: one traced shape
        keras.utils.set_random_seed(cfg["seed"])
        # Older commits: compile_model(cfg) -> model; now compile_model(cfg, train) -> (model, what is fitted).
        takes_split = len(inspect.signature(compile_model).parameters) > 1
        built = compile_model(cfg, train) if takes_split else compile_model(cfg)
        trainee = built[1] if isinstance(built, tuple) else built
        batches = LabBatches(train, batch, shuffle=True, flip=cfg["flip"], seed=cfg["seed"])
        x, y = batches[0]
        memory = in_memory(x, y)
        print(f"Model: {trainee.name}, {trainee.count_params():,} parameters, {cfg['arch']} width {cfg['width']}, "
              f"batch {batch}, {args.size[0]}x{args.size[1]}; {len(train)} training samples in shards; "
              f"{steps} steps per epoch, {args.runs} runs\n", flush=True)
        timers = {"reading shards (LabBatches)": EpochTimer(), "one batch in memory, repeated": EpochTimer()}
        sources = dict(zip(timers, (batches, memory)))
        for run in range(args.runs + 1):  # the first run of each is the warm-up
            for name, timer in timers.items():
                trainee.fit(sources[name], epochs=1, steps_per_epoch=steps, callbacks=[timer.callback],
                            verbose=0)
                if run == 0:
                    timer.seconds.clear()
        host = []  # what one batch costs the host: read the rows, flip, split into L and ab / 128
        for _ in range(3):
            start = time.perf_counter()
            for i in range(steps):
                batches[i]
            host.append((time.perf_counter() - start) / steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rates = {name: [steps / s for s in timer.seconds] for name, timer in timers.items()}
    reference = machine.median(rates["one batch in memory, repeated"])
    print("| training input | steps/s (median, range) | images/s | vs one batch in memory |")
    print("| --- | --- | --- | --- |")
    for name, values in rates.items():
        print(f"| {name} | {machine.spread(values, '{:.2f}')} | {machine.median(values) * batch:.1f} "
              f"| {100 * machine.median(values) / reference:.1f}% |")
    step = 1 / machine.median(rates["reading shards (LabBatches)"])
    print(f"\nHost time per batch read from the shards (LabBatches[i], median of 3 passes): "
          f"{1000 * machine.median(host):.1f} ms, {100 * machine.median(host) / step:.1f}% of a training step. "
          f"Load average after: {machine.load()}")


if __name__ == "__main__":
    main()
