"""Fine-tuning against training from scratch, on a few photographs of another collection.

A parent is trained on ../shared/datasets/bsds432 as benchmarks/quality.py trains its default model (params.yaml's
network, 0.9 / 0.1 train / val, cbsd68 as the test set, ``--parent-epochs``; or ``--parent`` names a
network.keras trained already). mcmaster18 is then cut in two halves by file number: the odd
photographs (1, 3, ..., 17) are the training photographs (shared between train and val by prepare's hash, 0.8
/ 0.2), the even ones (2, 4, ..., 18) the test photographs (prepare.test_subfolder). On the training half, the
same network is trained for the same number of steps, so for the same minutes (``--epochs``):

- from scratch, at train.learning_rate;
- from the parent (train.init_from), at each learning rate of ``--rates`` (train.init_learning_rate).

Each network, and the parent as it is, is scored on the test half at 256x256 with export's read-out
(params.yaml's export section) by evaluate's own scores: PSNR, SSIM, colour MSE, colorfulness. Prints one
markdown table, and each row to stderr as soon as it is measured.

    python benchmarks/finetune.py                                   # about 35 minutes on 2 quiet CPU cores
    python benchmarks/finetune.py --parent /tmp/bsds432-network.keras   # the comparison only, about 12 minutes
    python benchmarks/finetune.py --parent-epochs 1 --epochs 2 --rates 0.0002   # a smoke run

The stages run as dvc.yaml's commands (``python -m stages.prepare``, ``python -m stages.train``) with this
checkout's code, in a temporary folder holding params.yaml, the prepared data, models/ and an MLflow store;
the photographs are read from ``--datasets`` (mcmaster18's are copied into the temporary folder, in halves).
"""

import argparse
import json
import os
import re
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
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def stage(name: str, work: Path, changes: dict, log) -> float:
    """Run stage ``name`` as dvc.yaml's command does, in ``work``, with params.yaml's values changed by
    ``changes`` (``section.key``: value); returns its wall time in seconds."""
    params = yaml.safe_load(yaml.safe_dump(PARAMS))
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    command = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]["cmd"].split()
    env = dict(os.environ, PYTHONPATH=str(REPO), MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}")
    env.pop("DVC_ROOT", None)
    started = time.time()
    subprocess.run([sys.executable, *command[1:]], cwd=work, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    return time.time() - started


def halves(source: Path, target: Path) -> tuple[list[str], list[str]]:
    """mcmaster18's photographs copied into ``target``: odd numbers at its top (training), even ones in
    ``target/test``; returns both lists of names."""
    (target / "test").mkdir(parents=True)
    train, test = [], []
    numbered = [p for p in source.iterdir() if p.is_file() and re.fullmatch(r"\d+\.\w+", p.name)]
    for path in sorted(numbered, key=lambda p: int(p.stem)):
        odd = int(path.stem) % 2 == 1
        shutil.copy(path, target / path.name if odd else target / "test" / path.name)
        (train if odd else test).append(path.name)
    return train, test


def score(network_path: Path, split) -> dict:
    """evaluate's means for the network at ``network_path`` with export's read-out, on ``split`` (images, names)."""
    from colorizer.evaluation.scoring import evaluate
    from colorizer.inference.loading import load_model as load
    from colorizer.network.readout import has_distribution_head, set_vividness

    network = load(network_path)
    read_out = PARAMS["export"]
    if has_distribution_head(network):
        set_vividness(network, temperature=read_out["temperature"], rebalance=read_out["rebalance"])
    set_vividness(network, saturation=read_out["saturation"])
    means, _ = evaluate(network, split[0], split[1], batch_size=8)
    return means


def row(name: str, minutes: str, means: dict, prefix: str = "") -> str:
    return (
        f"| {name} | {minutes} | {means[prefix + 'psnr']:.2f} | {means[prefix + 'ssim']:.3f} | "
        f"{means[prefix + 'ab_mse']:.1f} | {means[prefix + 'colorfulness']:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parent", type=Path, help="a network.keras trained on bsds432 (default: train one)")
    parser.add_argument("--parent-epochs", type=int, default=6, help="the parent's train.epochs on bsds432")
    parser.add_argument("--epochs", type=int, default=40, help="train.epochs of each training on mcmaster18's half")
    parser.add_argument("--crops", type=int, default=16, help="train.crops_per_image of every training")
    parser.add_argument("--rates", default="0.0002,0.002", help="train.init_learning_rate values to fine-tune at")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "benchmarks"))
    from quality import test_split

    work = Path(tempfile.mkdtemp(prefix="finetune-bench-"))
    (work / "models").mkdir()
    shutil.copytree(REPO / "models" / "start", work / "models" / "start")
    log = open(work / "stages.log", "w")
    print(f"working in {work}; the stages' output in {work / 'stages.log'}", file=sys.stderr)
    data = {"prepare.train_size": [128, 128], "prepare.test_size": [256, 256], "train.crops_per_image": args.crops}
    try:
        parent = work / "models" / "start" / "bsds432.keras"
        parent_note = f"given ({args.parent})"
        if args.parent:
            shutil.copy(args.parent, parent)
        else:
            # benchmarks/quality.py's protocol: bsds432 shared 0.9 / 0.1 between train and val, cbsd68 the test set
            images = work / "bsds432+cbsd68"
            shutil.copytree(args.datasets / "bsds432", images)
            shutil.copytree(args.datasets / "cbsd68", images / "cbsd68")
            stage(
                "prepare",
                work,
                {
                    **data,
                    "prepare.images": str(images),
                    "prepare.test_subfolder": "cbsd68",
                    "prepare.splits": {"train": 0.9, "val": 0.1, "test": 0.0},
                },
                log,
            )
            seconds = stage("train", work, {**data, "train.epochs": args.parent_epochs}, log)
            shutil.copy(work / "models" / "network.keras", parent)
            shutil.rmtree(images)
            parent_note = f"bsds432, {args.parent_epochs} epochs, {seconds / 60:.0f} min"
            print(f"parent: {parent_note}", file=sys.stderr)
        shutil.rmtree(work / "data", ignore_errors=True)
        train_names, test_names = halves(args.datasets / "mcmaster18", work / "mcmaster18")
        mcmaster = {
            **data,
            "prepare.images": str(work / "mcmaster18"),
            "prepare.test_subfolder": "test",
            "prepare.splits": {"train": 0.8, "val": 0.2, "test": 0.0},
        }
        stage("prepare", work, mcmaster, log)
        split = test_split(work / "mcmaster18" / "test", (256, 256))
        same = {**data, "train.epochs": args.epochs}
        rows = []
        parent_means = score(parent, split)
        rows.append(row("zero chroma (the grayscale input as is)", "-", parent_means, "baseline_"))
        rows.append(row(f"the bsds432 parent as is ({parent_note})", "0", parent_means))
        print(rows[-1], file=sys.stderr, flush=True)
        runs = [("from scratch, learning_rate " + f"{PARAMS['train']['learning_rate']:g}", {})]
        runs += [
            (
                f"fine-tuned from the parent, init_learning_rate {float(rate):g}",
                {"train.init_from": "models/start/bsds432.keras", "train.init_learning_rate": float(rate)},
            )
            for rate in args.rates.split(",")
            if rate.strip()
        ]
        for name, changes in runs:
            seconds = stage("train", work, {**same, **changes}, log)
            rows.append(row(name, f"{seconds / 60:.1f}", score(work / "models" / "network.keras", split)))
            print(rows[-1], file=sys.stderr, flush=True)
        counts = json.loads((work / "metrics" / "prepare.json").read_text())
        print(
            f"\nmcmaster18: trained on {len(train_names)} photographs ({', '.join(train_names)}; "
            f"{counts['train_images']} train / {counts['val_images']} val by prepare's hash), {args.epochs} "
            f"epochs of {args.crops} crops each; scored on the other "
            f"{len(test_names)} at 256x256 with export's read-out; {machine.describe()}; "
            f"`python benchmarks/finetune.py "
            + (f"--parent {args.parent}" if args.parent else f"--parent-epochs {args.parent_epochs}")
            + f" --epochs {args.epochs} "
            f"--crops {args.crops} --rates {args.rates}`\n"
        )
        truth = parent_means["colorfulness_truth"]
        print(f"| model | training minutes | PSNR dB | SSIM | ab MSE | colorfulness (truth {truth:.1f}) |")
        print("| --- | --- | --- | --- | --- | --- |")
        print("\n".join(rows))
    finally:
        log.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
