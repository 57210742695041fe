"""Peak memory of ``prepare`` and ``train`` when the input grows tenfold.

    python benchmarks/memory.py [--images ../shared/datasets/bsds432] [--copies 10] [--runs 3]

Makes two input folders under a temporary folder: the photographs once, and the photographs ``--copies``
times under new names (``copy00/...``, ``copy01/...``; hard links where the file system allows, copies
otherwise). For each, in a fresh process each time:

- ``prepare`` (`colorizer.data.preparation.prepare`, every core, the params.yaml settings but ``--size``): the peak
  resident memory of the main process and of the largest worker;
- ``train`` (`colorizer.training.fit.fit`, the params.yaml settings but ``--width``, ``--crops`` and one epoch, so
  ``train.members`` networks of that width) on what prepare wrote: the peak resident memory of the process,
  and its resident memory at the end of the epoch.

Prints the medians of ``--runs`` runs and the growth from the small input to the large one.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine

DEFAULT_IMAGES = machine.REPO.parent / "shared" / "datasets" / "bsds432"


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def params(section: str) -> dict:
    """``section`` of the params.yaml beside the `colorizer` package measured (see `machine.REPO`)."""
    import colorizer
    from colorizer import params as P

    return P.load(section, Path(colorizer.__file__).resolve().parents[1] / "params.yaml")


def child_prepare(folder: Path, out: Path, size) -> dict:
    from colorizer.data.preparation import check_params, prepare

    cfg = check_params(
        dict(
            params("prepare"),
            images=str(folder),
            train_size=list(size),
            test_size=list(size),
            test_subfolder=None,
            workers=0,
        )
    )
    start = time.perf_counter()
    report = prepare(cfg, out)
    return {
        "seconds": time.perf_counter() - start,
        "images": report["used"],
        "bytes": sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()),
        "main_peak_mb": peak_mb(),
        "worker_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
    }


def child_train(prepared: Path, width: int, crops: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from colorizer.data.shards import LabSplit
    from colorizer.training.fit import fit
    from colorizer.training.settings import check_params

    cfg = check_params(dict(params("train"), width=width, epochs=1, crops_per_image=crops))
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    before = rss_mb()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as checkpoints:
        fit(cfg, train, val, checkpoints=Path(checkpoints))
    return {
        "seconds": time.perf_counter() - start,
        "samples": len(train) * crops,
        "rss_before_mb": before,
        "rss_after_mb": rss_mb(),
        "peak_mb": peak_mb(),
    }


def link_tree(source: Path, target: Path, copies: int) -> int:
    from colorizer.data.images import find_images

    names = find_images(source)
    for copy in range(copies):
        for name in names:
            dest = target / f"copy{copy:02d}" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source / name, dest)
            except OSError:
                shutil.copy2(source / name, dest)
    return len(names) * copies


def child(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=2, default=[128, 128])
    parser.add_argument("--crops", type=int, default=2, help="train.crops_per_image")
    parser.add_argument("--width", type=int, default=4, help="train.width (params.yaml's is 8)")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "prepare":
            result = child_prepare(Path(rest[0]), Path(rest[1]), (int(rest[2]), int(rest[3])))
        else:
            result = child_train(Path(rest[0]), int(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return

    print(f"Machine: {machine.describe()}")
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        tmp = Path(tmp)
        counts = {
            "1x": link_tree(args.images, tmp / "x1", 1),
            f"{args.copies}x": link_tree(args.images, tmp / "xN", args.copies),
        }
        folders = dict(zip(counts, (tmp / "x1", tmp / "xN")))
        print(
            f"Input: {args.images} once ({counts['1x']} files) and {args.copies} times "
            f"({counts[f'{args.copies}x']} files); prepare at {args.size[0]}x{args.size[1]}, "
            f"{args.crops} crops per training photograph an epoch; train width {args.width}, 1 epoch; "
            f"{args.runs} runs\n",
            flush=True,
        )
        results = {scale: {"prepare": [], "train": []} for scale in counts}
        for _ in range(args.runs):
            for scale, folder in folders.items():
                out = tmp / f"prepared-{scale}"
                shutil.rmtree(out, ignore_errors=True)
                results[scale]["prepare"].append(child("prepare", folder, out, *args.size))
                if not args.skip_train:
                    results[scale]["train"].append(child("train", out, args.width, args.crops))
                shutil.rmtree(out, ignore_errors=True)

    def med(scale, stage, key):
        return machine.median(r[key] for r in results[scale][stage])

    small, large = counts
    rows = [
        ("prepare: main process peak", "prepare", "main_peak_mb"),
        ("prepare: largest worker peak", "prepare", "worker_peak_mb"),
    ]
    if not args.skip_train:
        rows += [
            ("train: peak", "train", "peak_mb"),
            ("train: resident at the end of the epoch", "train", "rss_after_mb"),
        ]
    print(f"| memory (MB, median of {args.runs}) | {small} | {large} | growth |")
    print("| --- | --- | --- | --- |")
    for label, stage, key in rows:
        a, b = med(small, stage, key), med(large, stage, key)
        print(f"| {label} | {a:.0f} | {b:.0f} | {100 * (b / a - 1):+.1f}% |")
    print("\n| scale | prepare: images, MB written, seconds | train: samples, seconds |")
    print("| --- | --- | --- |")
    for scale in counts:
        train = (
            f"{med(scale, 'train', 'samples'):.0f}, {med(scale, 'train', 'seconds'):.1f} s"
            if not args.skip_train
            else "-"
        )
        print(
            f"| {scale} | {med(scale, 'prepare', 'images'):.0f}, {med(scale, 'prepare', 'bytes') / 1e6:.0f}, "
            f"{med(scale, 'prepare', 'seconds'):.1f} s | {train} |"
        )
    print(f"\nLoad average after: {machine.load()}")


if __name__ == "__main__":
    main()
