"""Colour quality on real photographs, through the pipeline itself.

Trains on ../shared/datasets/bsds432 and tests on ../shared/datasets/cbsd68 (the protocol of the project
guide: 256x256, PSNR and SSIM on RGB uint8, colour MSE on ab, colorfulness of prediction and truth) and
prints one markdown table: the zero-chroma baseline, the seed network, the default model, and the default
model's vividness frontier (export.rebalance / temperature / saturation, which rerun only export, evaluate
and render). Each row is also printed to stderr as soon as it is measured.

    python benchmarks/quality.py                       # about 40 minutes on 2 quiet CPU cores
    python benchmarks/quality.py --seed-epochs 2 --default-epochs 1 --crops 1   # a quick smoke run
    python benchmarks/quality.py --models default      # the default model and its read-outs only
    python benchmarks/quality.py --models default --set train.global_context=false   # an ablation

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
    parser.add_argument("--seed-epochs", type=int, default=25)
    parser.add_argument("--default-epochs", type=int, default=6)
    parser.add_argument("--crops", type=int, default=16, help="prepare.crops_per_image")
    parser.add_argument("--frontier", default="0/1/1,0.25/0.5/1,0.5/1/1,0.5/0.5/1,0.35/0.5/1.2,0.75/1/1,0.5/0.5/1.2",
                        help="read-outs to measure, as export.rebalance/temperature/saturation triples")
    parser.add_argument("--models", default="default,seed", help="which networks to train: default, seed")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change a parameter of the default model (YAML value), e.g. train.global_context=false")
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
        overrides = {}
        for change in args.set:
            dotted, value = change.split("=", 1)
            section, key = dotted.split(".")
            params[section][key] = overrides[dotted] = yaml.safe_load(value)
        readout = {f"export.{k}": v for k, v in params["export"].items()}
        runs = []
        if "default" in args.models:
            default = repro(project, {**data, **{f"train.{k}": v for k, v in params["train"].items()},
                                      **readout, "train.epochs": args.default_epochs, **overrides}, log)
            runs.append((f"**default**{' with ' + ', '.join(args.set) if args.set else ''}: "
                         f"{params['train']['arch']}, {params['train']['head']} head; read-out "
                         + ", ".join(f"{k} {v}" for k, v in params["export"].items()), default, False))
            print(row_of(*runs[-1]), file=sys.stderr)
            for point in args.frontier.split(",") if params["train"]["head"] == "distribution" else ():
                values = dict(zip(("rebalance", "temperature", "saturation"), map(float, point.split("/"))))
                change = {f"export.{k}": v for k, v in values.items()}
                runs.append(("the same network, read-out " + ", ".join(f"{k} {v:g}" for k, v in values.items()),
                             repro(project, change, log), True))
                print(row_of(*runs[-1]), file=sys.stderr)
        if "seed" in args.models:
            seed = repro(project, {**data, "train.arch": "seed", "train.head": "regression",
                                   "train.global_context": False, "train.optimizer": "rmsprop",
                                   "train.loss": "mse", "train.learning_rate": 0.001,
                                   "train.lr_schedule": "constant", "train.epochs": args.seed_epochs,
                                   "export.rebalance": 0.0, "export.temperature": 1.0, "export.saturation": 1.0},
                         log)
            runs.insert(0, ("seed network (the article's: rmsprop, MSE)", seed, False))
        set_params(project, readout)

        e = runs[0][1]["eval"]
        print(f"\nbsds432 (432 photographs: 90% train, 10% val) -> cbsd68 (68 photographs at 256x256); "
              f"{machine.describe()}; `python benchmarks/quality.py --seed-epochs {args.seed_epochs} "
              f"--default-epochs {args.default_epochs} --crops {args.crops}"
              + "".join(f" --set {change}" for change in args.set) + "`\n")
        print("| model | training | PSNR dB | SSIM | ab MSE | colorfulness | truth |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(row("zero chroma (the grayscale input as is)", "none", e, "baseline_"))
        for run in runs:
            print(row_of(*run))
    finally:
        log.close()
        if not args.keep:
            sh(["git", "worktree", "remove", "--force", str(project)], REPO, capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


def row_of(name: str, result: dict, export_only: bool) -> str:
    t = result["train"]
    training = "export only" if export_only else f"{t['epochs']} epochs, {t['seconds'] / 60:.1f} min"
    return row(name, training, result["eval"])


if __name__ == "__main__":
    main()
