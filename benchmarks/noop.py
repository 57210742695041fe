"""How long ``dvc status`` and ``dvc repro`` take when nothing changed, on a large images folder.

    python benchmarks/noop.py [--images ../shared/datasets/bsds432] [--count 5000] [--runs 5]

Copies the project (the files git knows, as tests/test_pipeline.py does) into a temporary folder, fills its
``photos/`` with ``--count`` photographs (the ``--images`` ones again and again under new names, as hard
links), points ``prepare.images`` at it with small sizes and a one-epoch training so that the first run is
short, commits, runs ``dvc repro`` once, and then times ``dvc status`` and ``dvc repro`` with nothing changed,
``--runs`` times each, alternately. The medians are what a user waits for before DVC says there is nothing
to do.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine

DEFAULT_IMAGES = machine.REPO.parent / "shared" / "datasets" / "bsds432"
SMALL = {
    "prepare.train_size": [32, 32],
    "prepare.test_size": [32, 32],
    "train.crops_per_image": 1,
    "train.epochs": 1,
    "train.width": 4,
    "render.count": 4,
}


def environment() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("DVC_ROOT", "MLFLOW_TRACKING_URI", "PYTHONPATH"):
        env.pop(name, None)
    return env


def run(command, cwd) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return seconds, out.stdout


def copy_project(root: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=machine.REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        source = machine.REPO / name
        if source.is_file() and not name.startswith(("metrics/", "tests/")) and name != "dvc.lock":
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)


def fill(folder: Path, images: Path, count: int) -> None:
    from colorizer.data.images import find_images

    names = find_images(images)
    for i in range(count):
        source = images / names[i % len(names)]
        dest = folder / f"copy{i // len(names):02d}" / names[i % len(names)]
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)
        except OSError:
            shutil.copy2(source, dest)


def set_params(root: Path, changes: dict) -> None:
    from colorizer.params import update

    update(root / "params.yaml", changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the project copy behind and print where")
    args = parser.parse_args()
    print(f"Machine: {machine.describe()}")
    tmp = Path(tempfile.mkdtemp(prefix="noop-bench-"))
    root = tmp / "project"
    try:
        copy_project(root)
        fill(root / "photos", args.images, args.count)
        set_params(root, {"prepare.images": "photos", **SMALL})
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        for command in (["git", "init", "-q"], ["git", "add", "-A"], git + ["commit", "-qm", "copy"]):
            run(command, root)
        first, out = run(["dvc", "repro"], root)
        ran = re.findall(r"Running stage '(\w+)'", out)
        print(
            f"Project: a copy of {machine.REPO.name} with {args.count} photographs in photos/ ({args.images} "
            f"again and again, hard links), {', '.join(f'{k}={v}' for k, v in SMALL.items())}; the first "
            f"`dvc repro` ran {', '.join(ran)} in {first:.0f} s; {args.runs} runs\n",
            flush=True,
        )
        times = {"dvc status": [], "dvc repro": []}
        for _ in range(args.runs):
            for name in times:
                seconds, out = run(name.split(), root)
                if name == "dvc repro" and "Running stage" in out:
                    raise SystemExit(f"`dvc repro` ran a stage although nothing changed:\n{out}")
                if name == "dvc status" and "up to date" not in out:
                    raise SystemExit(f"`dvc status` reports a change although nothing changed:\n{out}")
                times[name].append(seconds)
    finally:
        if args.keep:
            print(f"(project left in {root})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"| nothing changed, {args.count} photographs | seconds (median, range) |")
    print("| --- | --- |")
    for name, values in times.items():
        print(f"| `{name}` | {machine.spread(values, '{:.2f}')} |")
    print(f"\nLoad average after: {machine.load()}")


if __name__ == "__main__":
    main()
