"""How fast ``prepare`` turns photographs into Lab shards, against the article's loop and against decoding alone.

    python benchmarks/prepare_speed.py [--images ../shared/datasets/bsds432] [--size 184 272] [--runs 5]

Side by side, in one run, on the same photographs at the same size (one sample per photograph):

- the article's loop: load with PIL, ``skimage.transform.resize`` in float64, ``rgb2lab`` twice (once for
  L, once for ab), one image at a time;
- decoding and resizing alone (what `colorizer.data.preparation` does before converting to Lab), in one process (the
  limit no Lab conversion can beat) and in one process per core (how well this machine scales at all);
- `colorizer.data.preparation.prepare` with 1 worker and with every core, shards and manifest written.

Each is run ``--runs`` times, interleaved, and the median is printed with the range of the runs. Besides
images per second of wall time, each gets images per CPU-second (user + system time of the process and its
workers): on a machine shared with other jobs that is the steadier measure of work per core.
"""

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import machine  # noqa: F401  (puts the repository on sys.path)
from colorizer.data.images import find_images, read_rgb, resize
from colorizer.data.preparation import decode_size, prepare

DEFAULT_IMAGES = machine.REPO.parent / "shared" / "datasets" / "bsds432"


def article_loop(paths, size) -> int:
    """The article's preprocessing: every image on its own, float64 throughout."""
    from skimage.color import rgb2lab
    from skimage.transform import resize as sk_resize

    X, Y = [], []
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        image = sk_resize(image / 255.0, size)
        X.append(rgb2lab(image)[:, :, 0])
        Y.append(rgb2lab(image)[:, :, 1:] / 128)
    return len(X)


def decode_and_resize(paths, size, cfg) -> int:
    """What prepare does before the Lab conversion: read (upright, RGB) and resize to uint8."""
    options = {"at_least": decode_size("val", cfg)}
    for path in paths:
        resize(read_rgb(path, **options), size)
    return len(paths)


def _decode_one(job) -> int:
    path, size, cfg = job
    return decode_and_resize([path], size, cfg)


def decode_and_resize_pool(paths, size, cfg, workers) -> int:
    """Decoding and resizing alone in ``workers`` processes: how well this machine's cores scale at all
    (two vCPUs that are one core's hyperthreads do less each when both work)."""
    from multiprocessing import Pool

    with Pool(workers) as pool:
        return sum(pool.imap_unordered(_decode_one, [(p, size, cfg) for p in paths], chunksize=4))


def cpu_seconds() -> float:
    """User + system time of this process and of its (finished) worker processes."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run_prepare(folder, cfg, workers) -> int:
    out = Path(tempfile.mkdtemp(prefix="prepare-speed-")) / "prepared"
    try:
        return prepare(dict(cfg, workers=workers), out)["used"]
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--size", type=int, nargs=2, default=[184, 272], metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-article", action="store_true", help="leave out the (slow) article's loop")
    args = parser.parse_args()
    size = tuple(args.size)
    names = find_images(args.images)
    paths = [args.images / n for n in names]
    # crop_scale 1: training photographs stored at size too, so every method makes the same pixels.
    cfg = {
        "images": args.images,
        "train_size": size,
        "test_size": size,
        "crop_scale": 1.0,
        "splits": {"train": 0.7, "val": 0.1, "test": 0.2},
        "test_subfolder": None,
        "split_seed": 3,
        "shard_size": 256,
        "workers": 0,
    }
    cores = machine.cores()
    methods = {
        "the article's loop (1 process)": lambda: article_loop(paths, size),
        "decode + resize alone (1 process)": lambda: decode_and_resize(paths, size, cfg),
        f"decode + resize alone ({cores} processes)": lambda: decode_and_resize_pool(paths, size, cfg, cores),
        "prepare, 1 worker": lambda: run_prepare(args.images, cfg, 1),
        f"prepare, {cores} workers (all cores)": lambda: run_prepare(args.images, cfg, cores),
    }
    if args.skip_article:
        del methods["the article's loop (1 process)"]
    print(f"Machine: {machine.describe()}")
    print(
        f"Input: {len(paths)} photographs from {args.images}, to {size[0]}x{size[1]}, one sample each; "
        f"{args.runs} runs\n",
        flush=True,
    )
    rates = {m: [] for m in methods}
    per_cpu = {m: [] for m in methods}
    for _ in range(args.runs):
        for method, fn in methods.items():  # interleaved, so a change in load hits every method alike
            start, start_cpu = time.perf_counter(), cpu_seconds()
            count = fn()
            rates[method].append(count / (time.perf_counter() - start))
            per_cpu[method].append(count / (cpu_seconds() - start_cpu))
    article = machine.median(rates.get("the article's loop (1 process)", [float("nan")]))
    decode = machine.median(per_cpu["decode + resize alone (1 process)"])
    print(
        "| method | images/s (median, range) | vs the article's loop | images per CPU-second "
        "| per CPU-second vs decode + resize |"
    )
    print("| --- | --- | --- | --- | --- |")
    for method, values in rates.items():
        rate = machine.median(values)
        print(
            f"| {method} | {machine.spread(values)} | {rate / article:.1f}x | {machine.spread(per_cpu[method])} "
            f"| {machine.median(per_cpu[method]) / decode:.2f} |"
        )
    one, every = (machine.median(rates[m]) for m in list(methods)[-2:])
    print(f"\nScaling: {every / one:.2f}x images/s from 1 to {cores} workers. Load average after: {machine.load()}")


if __name__ == "__main__":
    main()
