"""Colour quality on real photographs, through the pipeline itself.

Trains on ../shared/datasets/bsds432 and tests on ../shared/datasets/cbsd68 (the protocol of the project
guide: 256x256, PSNR and SSIM on RGB uint8, colour MSE on ab, colorfulness of prediction and truth) and
prints one markdown table: the zero-chroma baseline, the seed network, the default model, and the default
model's vividness frontier (export.temperature / export.saturation, which rerun only export, evaluate
and render).

    python benchmarks/quality.py                       # about 45 minutes on 2 quiet CPU cores
    python benchmarks/quality.py --seed-epochs 2 --default-epochs 1 --crops 1   # a quick smoke run

It works in a git worktree of HEAD under a temporary folder (commit first), with both photograph folders
copied into it, and runs `dvc repro` there with params.yaml pointing at them.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import machine

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


def sh(cmd, cwd, **kwargs):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("DVC_ROOT", None)
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, text=True, **kwargs)


def set_params(project: Path, changes: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def repro(project: Path, changes: dict, log) -> dict:
    set_params(project, changes)
    started = time.time()
    sh(["dvc", "repro"], project, stdout=log, stderr=subprocess.STDOUT)
    result = {"wall_s": round(time.time() - started)}
    result["eval"] = json.loads((project / "metrics/eval.json").read_text())
    result["train"] = json.loads((project / "metrics/train.json").read_text())
    return result


def row(name, training, e, prefix="") -> str:
    return (f"| {name} | {training} | {e[prefix + 'psnr']:.2f} | {e[prefix + 'ssim']:.3f} | "
            f"{e[prefix + 'ab_mse']:.1f} | {e[prefix + 'colorfulness']:.1f} | {e['colorfulness_truth']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed-epochs", type=int, default=100)
    parser.add_argument("--default-epochs", type=int, default=40)
    parser.add_argument("--crops", type=int, default=4, help="prepare.crops_per_image")
    parser.add_argument("--frontier", default="0/1,0/0.5,0.5/0.5,0.5/1,0.75/1",
                        help="read-outs to measure, as export.rebalance/export.temperature pairs")
    parser.add_argument("--saturations", default="1.2,1.4")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--keep", action="store_true", help="keep the worktree (its path is printed)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    project = work / "project"
    sh(["git", "worktree", "add", "--detach", str(project), "HEAD"], REPO, capture_output=True)
    log = open(work / "dvc.log", "w")
    print(f"working in {project}; dvc output in {work / 'dvc.log'}", file=sys.stderr)
    try:
        images = project / "bench_images"
        shutil.copytree(args.datasets / "bsds432", images / "bsds432")
        shutil.copytree(args.datasets / "cbsd68", images / "cbsd68")
        data = {"prepare.images": "bench_images", "prepare.test_subfolder": "cbsd68",
                "prepare.size": [128, 128], "prepare.test_size": [256, 256], "prepare.crops_per_image": args.crops,
                "prepare.splits": {"train": 0.9, "val": 0.1, "test": 0.0}, "render.count": 12}
        params = yaml.safe_load((project / "params.yaml").read_text())
        runs = []
        seed = repro(project, {**data, "train.arch": "seed", "train.head": "regression", "train.optimizer": "rmsprop",
                               "train.loss": "mse", "train.learning_rate": 0.001,
                               "train.epochs": args.seed_epochs, "export.temperature": 1.0,
                               "export.saturation": 1.0}, log)
        runs.append(("seed network (article: rmsprop, MSE)", seed, {}))
        default_changes = {**{f"train.{k}": v for k, v in params["train"].items()},
                           **{f"export.{k}": v for k, v in params["export"].items()},
                           "train.epochs": args.default_epochs}
        default = repro(project, {**data, **default_changes}, log)
        runs.append((f"**default model** ({params['train']['arch']}, {params['train']['head']} head; read-out "
                     + ", ".join(f"{k} {v}" for k, v in params["export"].items()) + ")", default, {}))
        frontier = []
        if params["train"]["head"] == "distribution":
            for point in args.frontier.split(","):
                rebalance, temperature = map(float, point.split("/"))
                frontier.append({"export.rebalance": rebalance, "export.temperature": temperature,
                                 "export.saturation": 1.0})
        frontier += [{**{f"export.{k}": v for k, v in params["export"].items()}, "export.saturation": float(s)}
                     for s in args.saturations.split(",")]
        for change in frontier:
            name = "default network, read-out " + ", ".join(f"{k.split('.')[1]} {v}" for k, v in change.items())
            runs.append((name, repro(project, change, log), change))
        set_params(project, {f"export.{k}": v for k, v in params["export"].items()})

        e = seed["eval"]
        print(f"\nbsds432 (432 photographs: 90% train, 10% val) -> cbsd68 (68 photographs at 256x256); "
              f"{machine.describe()}; `python benchmarks/quality.py --seed-epochs {args.seed_epochs} "
              f"--default-epochs {args.default_epochs} --crops {args.crops}`\n")
        print("| model | training | PSNR dB | SSIM | ab MSE | colorfulness | truth |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(row("zero chroma (the grayscale input as is)", "none", e, "baseline_"))
        for name, result, change in runs:
            t = result["train"]
            training = (f"{t['epochs']} epochs, {t['seconds'] / 60:.1f} min" if not change
                        else "same network (export only)")
            print(row(name, training, result["eval"]))
    finally:
        log.close()
        if not args.keep:
            sh(["git", "worktree", "remove", "--force", str(project)], REPO, capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
