"""How fast, and in how much memory, ``colorize`` colours big photographs.

    python benchmarks/colorize_speed.py [--model models/colorizer.keras] [--runs 5] [--folder 100]

1. One 12-megapixel (4000x3000) photograph, in a fresh process per input kind: the median time of ``--runs``
   colorizations (read, predict, enlarge, convert, write), TensorFlow's import and the model load not
   counted, and the process's peak resident memory (which does count them).
2. The real ``python -m colorizer.apps.colorize`` command on a folder of ``--folder`` such photographs: photographs
   per second over each tenth of the run and the command's resident memory, sampled as it goes.

The photographs are scikit-image's astronaut, enlarged, with film grain, so no download is needed. Prints
markdown tables for the README.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 4000, 3000


def photograph(seed: int = 0) -> Image.Image:
    """A 12-megapixel grayscale photograph: the astronaut cropped to 4:3, enlarged, with grain."""
    from skimage import data

    rng = np.random.default_rng(seed)
    top = int(rng.integers(0, 128))
    crop = Image.fromarray(data.astronaut()[top : top + 384]).convert("L")
    big = np.asarray(crop.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC), np.float32)
    grain = rng.normal(0, 6, (HEIGHT // 2, WIDTH // 2)).astype(np.float32).repeat(2, 0).repeat(2, 1)
    return Image.fromarray(np.clip(big + grain, 0, 255).astype(np.uint8))


INPUTS = {  # name: (file name, how it is made from the grayscale photograph)
    "grayscale JPEG": ("photo.jpg", lambda im: im),
    "RGB JPEG (colour dropped)": ("photo.jpg", lambda im: im.convert("RGB")),
    "grayscale PNG": ("photo.png", lambda im: im),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def one_photo(kind: str, model_spec: str, runs: int) -> dict:
    """Run in a fresh process: time ``runs`` colorizations of one 12 MP photograph of ``kind``."""
    started = time.perf_counter()
    from colorizer.apps.files import colorize_files
    from colorizer.inference.loading import load_model

    model = load_model(model_spec)
    setup = time.perf_counter() - started
    after_load = peak_rss_mb()
    name, make = INPUTS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / name, Path(tmp) / "out" / name
        make(photograph()).save(source, quality=90)
        times = []
        for _ in range(runs + 1):  # the first run traces the network for this size: reported apart
            start = time.perf_counter()
            assert colorize_files(model, [(source, target)], progress=False) == []
            times.append(time.perf_counter() - start)
        with Image.open(target) as out:
            assert out.size == (WIDTH, HEIGHT)
    return {
        "kind": kind,
        "import_and_load_s": setup,
        "first_s": times[0],
        "median_s": statistics.median(times[1:]),
        "rss_after_load_mb": after_load,
        "peak_rss_mb": peak_rss_mb(),
    }


def rss_of(pid: int) -> float:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def folder(model_spec: str, count: int, batch_size: int) -> dict:
    """The real command on ``count`` 12 MP photographs; samples progress and memory every 0.2 s."""
    with tempfile.TemporaryDirectory() as tmp:
        photos, out = Path(tmp) / "photos", Path(tmp) / "out"
        photos.mkdir()
        distinct = min(count, 10)
        for i in range(distinct):
            photograph(seed=i).save(photos / f"{i:03d}.jpg", quality=90)
        for i in range(distinct, count):  # the other files are copies: decoding costs the same
            shutil.copy(photos / f"{i % distinct:03d}.jpg", photos / f"{i:03d}.jpg")
        command = [
            sys.executable,
            "-m",
            "colorizer.apps.colorize",
            str(photos),
            "-o",
            str(out),
            "--model",
            model_spec,
            "--batch-size",
            str(batch_size),
            "--quiet",
        ]
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO)
        samples = []  # (seconds, photographs written, resident MB)
        while child.poll() is None:
            written = sum(1 for p in out.glob("*.jpg")) if out.exists() else 0
            try:
                samples.append((time.perf_counter() - started, written, rss_of(child.pid)))
            except Exception:  # the process ended between poll() and the read
                pass
            time.sleep(0.2)
        total = time.perf_counter() - started
        assert child.returncode == 0, f"colorize exited with {child.returncode}"
        assert len(list(out.glob("*.jpg"))) == count
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"count": count, "batch_size": batch_size, "total_s": total, "samples": samples, "peak_rss_mb": peak}


def tenths(result: dict) -> list[tuple[int, float, float]]:
    """(photographs done, photographs/s over the last tenth, resident MB) at each tenth of the folder."""
    rows, last_t, last_n = [], None, 0
    count = result["count"]
    for mark in range(count // 10, count + 1, max(1, count // 10)):
        hit = next(((t, n, rss) for t, n, rss in result["samples"] if n >= mark), None)
        if hit is None:
            break
        t, n, rss = hit
        if last_t is not None:
            rows.append((n, (n - last_n) / (t - last_t), rss))
        last_t, last_n = t, n
    return rows


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.processor() or platform.machine()}, {cores} CPU cores, {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/colorizer.keras")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=int, default=100, help="photographs in the folder run (0: skip it)")
    parser.add_argument("--batch-size", type=int, default=None, help="for the folder run (default: colorize's)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one input kind, in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_photo(args.one, args.model, args.runs)))
        return

    print(f"Machine: {machine()}; model {args.model}\n")
    print(f"| 12 MP photograph (4000x3000) | median of {args.runs} | first run | import + model load | peak memory |")
    print("| --- | --- | --- | --- | --- |")
    for kind in INPUTS:
        out = subprocess.run(
            [sys.executable, __file__, "--one", kind, "--model", args.model, "--runs", str(args.runs)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {kind} | {r['median_s']:.2f} s | {r['first_s']:.2f} s | {r['import_and_load_s']:.1f} s "
            f"| {r['peak_rss_mb']:.0f} MB ({r['rss_after_load_mb']:.0f} MB after loading) |",
            flush=True,
        )
    if args.folder:
        from colorizer.apps.files import DEFAULT_BATCH

        result = folder(args.model, args.folder, args.batch_size or DEFAULT_BATCH)
        print(
            f"\nFolder of {result['count']} 12 MP JPEGs, `python -m colorizer.apps.colorize` with --batch-size "
            f"{result['batch_size']}: {result['total_s']:.0f} s in all (TensorFlow import included), "
            f"peak memory {result['peak_rss_mb']:.0f} MB\n"
        )
        print("| photographs done | photographs/s over the last tenth | resident memory |")
        print("| --- | --- | --- |")
        for n, rate, rss in tenths(result):
            print(f"| {n} | {rate:.2f} | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
