"""Colour quality on real photographs, through the pipeline itself.

Trains on ../shared/datasets/bsds432 and tests on ../shared/datasets/cbsd68 (the protocol of the project
guide: 256x256, PSNR and SSIM on RGB uint8, colour MSE on ab, colorfulness of prediction and truth), and
scores the same colorizer on every other set named by ``--also`` (by default mcmaster18, another collection,
and the 8 scikit-image sample photographs: evidence that a gain generalises beyond the training collection's
twin), each prepared like a test split. Prints one markdown table: the
zero-chroma baseline, the seed network, the default model, and the default model's vividness frontier
(export.rebalance / temperature / saturation, which rerun only export, evaluate and render), a PSNR /
colorfulness column pair per set. Each row is also printed to stderr as soon as it is measured.

With a model that takes hints, it then measures the hint curve on cbsd68 and mcmaster18 (``--hint-sets``):
each photograph at 256x256 given as a grayscale PNG with a sidecar of N points drawn from the truth as Zhang
et al.'s sweep draws them (6x6 squares of the truth's mean colour, `colorizer.evaluation.hint_sweep.sweep_points`),
coloured by `colorize`'s own code, and scored against the truth, beside the propagation with no learning (each
pixel the colour of its nearest point). ``--hint-points ""`` skips it.

    python benchmarks/quality.py                       # about 40 minutes on 2 quiet CPU cores
    python benchmarks/quality.py --seed-epochs 2 --default-epochs 1 --crops 1 --frontier ""  # a smoke run
    python benchmarks/quality.py --models default      # the default model and its read-outs only
    python benchmarks/quality.py --models default --set train.global_context=false   # an ablation
    python benchmarks/quality.py --models default --train-every 2 --crops 32   # half the photographs, same steps
    python benchmarks/quality.py --models default --frontier "" --hint-points 0,1,5,10,20,50   # the hint curve

It works in a git worktree of HEAD (or ``--commit``) under a temporary folder (commit first), with both
photograph folders copied into it, and runs `dvc repro` there with params.yaml pointing at them.
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

import numpy as np
import yaml

import machine

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


def sh(cmd, cwd, **kwargs):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("DVC_ROOT", None)
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, text=True, **kwargs)


def set_params(project: Path, changes: dict) -> None:
    from colorizer.params import update

    update(project / "params.yaml", changes)


def repro(project: Path, changes: dict, log) -> dict:
    set_params(project, changes)
    started = time.time()
    sh(["dvc", "repro"], project, stdout=log, stderr=subprocess.STDOUT)
    result = {"wall_s": round(time.time() - started)}
    result["eval"] = json.loads((project / "metrics/eval.json").read_text())
    reference = project / "metrics/eval_reference.json"  # the baseline's figures (in eval.json before 2026-11-27)
    result["eval"].update(json.loads(reference.read_text()) if reference.exists() else {})
    result["train"] = json.loads((project / "metrics/train.json").read_text())
    if "seconds" not in result["train"]:  # in train.json before 2026-11-27; MLflow's since
        result["train"]["seconds"] = training_seconds(project)
    result["sets"] = {
        name: score_set(project / "models" / "colorizer.keras", split) for name, split in OTHER_SETS.items()
    }
    from colorizer.inference.loading import load_model
    from colorizer.inference.predict import takes_hints

    result["takes_hints"] = takes_hints(load_model(project / "models" / "colorizer.keras"))
    return result


OTHER_SETS = {}  # name -> its photographs as a test split (`test_split`), filled in by main


class ArraySplit:
    """Lab images held in memory, read like a `colorizer.data.shards.LabSplit`."""

    def __init__(self, lab):
        self.lab = lab

    def __len__(self):
        return len(self.lab)

    def take(self, indices):
        return self.lab[list(indices)]


def test_split(folder: Path, size) -> tuple[ArraySplit, list[str]]:
    """The photographs of ``folder`` as prepare makes a test split: resized to ``size``, as Lab codes."""
    from colorizer.color import codes_to_lab, lab_to_codes, srgb_to_lab
    from colorizer.data.images import find_images, read_rgb, resize

    names = [n.as_posix() for n in find_images(folder)]
    lab = [codes_to_lab(lab_to_codes(srgb_to_lab(resize(read_rgb(folder / n), size)))) for n in names]
    return ArraySplit(np.stack(lab)), names


def named_sets(names, datasets: Path, work: Path) -> dict:
    """Test splits (`test_split`, 256x256) by name: a folder of ``datasets``, or ``samples``, the pipeline's own
    sample photographs (scikit-image's, written under ``work``; no dataset needed)."""
    sets = {}
    for name in names:
        if name == "samples":
            from colorizer.data.samples import write_samples

            write_samples(work / "samples")
        sets[name] = test_split(work / "samples" if name == "samples" else datasets / name, (256, 256))
    return sets


def read_out(point: str) -> dict:
    """A read-out as export.rebalance/temperature[/saturation] (saturation 1 when left out)."""
    values = [float(v) for v in point.split("/")]
    return dict(zip(("rebalance", "temperature", "saturation"), values + [1.0] * (3 - len(values))))


def score_set(model_path: Path, split) -> dict:
    """evaluate's means for the colorizer at ``model_path`` on ``split`` = (images, names)."""
    from colorizer.evaluation.scoring import evaluate
    from colorizer.inference.loading import load_model as load

    means, _ = evaluate(load(model_path), split[0], split[1], batch_size=8)
    return means


def hint_curve(model_path: Path, split, counts, work: Path) -> list[dict]:
    """PSNR against the number of hint points on ``split`` = (images, names), through `colorize`: each image a
    grayscale PNG with its sidecar of the sweep's points, coloured at its own size (256x256), scored against the
    truth; beside it the nearest-point propagation. One row per count."""
    from PIL import Image

    from colorizer.apps.files import colorize_files
    from colorizer.color import gray_lab, lab_image_to_srgb8, merge_lab
    from colorizer.evaluation.hint_sweep import SWEEP_SIDE, nearest_point_colours, photo_seed, sweep_points, truth_hints
    from colorizer.evaluation.quality import psnr, psnr_of_lab
    from colorizer.hints import write_sidecar
    from colorizer.inference.loading import load_model

    model = load_model(str(model_path))
    images, names = split[0].lab, split[1]
    truths = [lab_image_to_srgb8(lab) for lab in images]
    rows = []
    for count in counts:
        folder = work / f"hints-{count}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "in").mkdir(parents=True)
        pairs, nearest = [], []
        for i, (lab, name) in enumerate(zip(images, names)):
            source = folder / "in" / f"{i:03d}.png"
            Image.fromarray(lab_image_to_srgb8(gray_lab(lab[..., :1]))[..., 0]).save(source)
            hints = truth_hints(lab, sweep_points(photo_seed(name), count, lab.shape[:2]), SWEEP_SIDE)
            if hints:
                write_sidecar(source.with_name(source.name + ".hints.json"), hints)
            pairs.append((source, folder / "out" / source.name))
            propagated = merge_lab(lab[None, ..., :1], nearest_point_colours(lab.shape, hints)[None] / 128.0)[0]
            nearest.append(psnr_of_lab(lab, propagated))
        failed = colorize_files(model, pairs, size=max(images.shape[1:3]), progress=False)
        if failed:
            raise RuntimeError(f"colorize failed on {failed[0][0]}: {failed[0][1]}")
        scores = [
            psnr(truth, np.asarray(Image.open(target).convert("RGB"))) for truth, (_, target) in zip(truths, pairs)
        ]
        rows.append({"points": count, "psnr": float(np.mean(scores)), "nearest_point_psnr": float(np.mean(nearest))})
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def row(name, training, e, prefix="", sets=None) -> str:
    others = "".join(f" {s[prefix + 'psnr']:.2f} / {s[prefix + 'colorfulness']:.1f} |" for s in (sets or {}).values())
    return (
        f"| {name} | {training} | {e[prefix + 'psnr']:.2f} | {e[prefix + 'ssim']:.3f} | "
        f"{e[prefix + 'ab_mse']:.1f} | {e[prefix + 'colorfulness']:.1f} | {e['colorfulness_truth']:.1f} |" + others
    )


def default_params(train: dict, data: dict, readout: dict, epochs: int, overrides: dict) -> dict:
    """The default model's parameters, dotted: params.yaml's train section, then the protocol's data (so that
    ``--crops`` counts), the read-out, the epochs, and last the ``--set`` changes."""
    return {**{f"train.{k}": v for k, v in train.items()}, **data, **readout, "train.epochs": epochs, **overrides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed-epochs", type=int, default=25)
    parser.add_argument("--default-epochs", type=int, default=6)
    parser.add_argument("--crops", type=int, default=16, help="train.crops_per_image")
    parser.add_argument(
        "--also",
        default="mcmaster18,samples",
        help="other sets to score, folders of "
        "--datasets, or samples: the 8 scikit-image photographs of the samples stage",
    )
    parser.add_argument(
        "--frontier",
        default="0/1/1,0.25/0.5/1,0.5/1/1,0.5/0.5/1,0.35/0.5/1.2,0.75/1/1,0.5/0.5/1.2",
        help="read-outs to measure, as export.rebalance/temperature/saturation triples",
    )
    parser.add_argument("--models", default="default,seed", help="which networks to train: default, seed")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="change a parameter of the default model (YAML value), e.g. train.global_context=false; "
        "train.seed seeds the seed network too",
    )
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument(
        "--train-every",
        type=int,
        default=1,
        metavar="K",
        help="train on every K-th photograph of bsds432 (by name), to see what the amount of data is "
        "worth; give --crops K times as many for as many training steps",
    )
    parser.add_argument(
        "--hint-points",
        default="0,1,2,5,10,20,50",
        help='hint curve: the numbers of points to give ("": no curve); a model that takes hints',
    )
    parser.add_argument("--hint-sets", default="cbsd68,mcmaster18", help="hint curve: folders of --datasets")
    parser.add_argument("--keep", action="store_true", help="keep the worktree (its path is printed)")
    parser.add_argument(
        "--commit",
        default="HEAD",
        help="the commit to measure (default HEAD); an older one "
        "is measured with its own pipeline, scored by this checkout's evaluation",
    )
    args = parser.parse_args()
    if args.train_every < 1:
        parser.error(f"--train-every must be at least 1, got {args.train_every}")

    work = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    project = work / "project"
    sh(["git", "worktree", "add", "--detach", str(project), args.commit], REPO, capture_output=True)
    log = open(work / "dvc.log", "w")
    print(f"working in {project}; dvc output in {work / 'dvc.log'}", file=sys.stderr)
    try:
        images = project / "bench_images"
        (images / "bsds432").mkdir(parents=True)
        training = sorted(p for p in (args.datasets / "bsds432").iterdir() if p.is_file())[:: args.train_every]
        for photograph in training:
            shutil.copy(photograph, images / "bsds432" / photograph.name)
        shutil.copytree(args.datasets / "cbsd68", images / "cbsd68")
        OTHER_SETS.update(named_sets(filter(None, args.also.split(",")), args.datasets, work))
        params = yaml.safe_load((project / "params.yaml").read_text())
        train_size = "train_size" if "train_size" in params["prepare"] else "size"  # its name before 2026-11-27
        data = {
            "prepare.images": "bench_images",
            "prepare.test_subfolder": "cbsd68",
            f"prepare.{train_size}": [128, 128],
            "prepare.test_size": [256, 256],
            "train.crops_per_image": args.crops,
            "prepare.splits": {"train": 0.9, "val": 0.1, "test": 0.0},
            "render.count": 12,
            # evaluate's own hint curve: measured here through colorize instead (`hint_curve`)
            **({"evaluate.hint_points": []} if "hint_points" in params["evaluate"] else {}),
        }
        overrides = {}
        for change in args.set:
            dotted, value = change.split("=", 1)
            section, key = dotted.split(".")
            params[section][key] = overrides[dotted] = yaml.safe_load(value)
        readout = {f"export.{k}": v for k, v in params["export"].items()}
        runs = []
        if "default" in args.models:
            default = repro(
                project, default_params(params["train"], data, readout, args.default_epochs, overrides), log
            )
            runs.append(
                (
                    f"**default**{' with ' + ', '.join(args.set) if args.set else ''}: "
                    f"{params['train']['arch']}, {params['train']['head']} head; read-out "
                    + ", ".join(f"{k} {v}" for k, v in params["export"].items()),
                    default,
                    False,
                )
            )
            print(row_of(*runs[-1]), file=sys.stderr)
            for point in filter(None, args.frontier.split(",")) if params["train"]["head"] == "distribution" else ():
                values = read_out(point)
                change = {f"export.{k}": v for k, v in values.items()}
                runs.append(
                    (
                        "the same network, read-out " + ", ".join(f"{k} {v:g}" for k, v in values.items()),
                        repro(project, change, log),
                        True,
                    )
                )
                print(row_of(*runs[-1]), file=sys.stderr)
        if "seed" in args.models:
            seed = repro(
                project,
                {
                    **data,
                    "train.arch": "seed",
                    "train.head": "regression",
                    "train.colour_loss": 0,
                    "train.global_context": False,
                    "train.optimizer": "rmsprop",
                    # one regression network without hints; an older --commit may lack the keys
                    **{
                        f"train.{key}": value
                        for key, value in (("members", 1), ("hints", False), ("rebalance", 0.0))
                        if key in params["train"]
                    },
                    "train.loss": "mse",
                    "train.learning_rate": 0.001,
                    "train.lr_schedule": "constant",
                    "train.epochs": args.seed_epochs,
                    "train.seed": params["train"]["seed"],  # --set train.seed: both networks'
                    "export.rebalance": 0.0,
                    "export.temperature": 1.0,
                    "export.saturation": 1.0,
                },
                log,
            )
            runs.insert(0, ("seed network (the article's: rmsprop, MSE)", seed, False))
        set_params(project, readout)

        e = runs[0][1]["eval"]
        print(
            f"\nbsds432 ({len(training)} photographs: 90% train, 10% val) -> cbsd68 (68 photographs at 256x256); "
            f"{machine.describe()}; `python benchmarks/quality.py --seed-epochs {args.seed_epochs} "
            f"--default-epochs {args.default_epochs} --crops {args.crops} --commit {args.commit}"
            + (f" --train-every {args.train_every}" if args.train_every != 1 else "")
            + "".join(f" --set {change}" for change in args.set)
            + "`\n"
        )
        truths = "".join(
            f" {name} PSNR / CF (truth {s['colorfulness_truth']:.1f}) |" for name, s in runs[0][1]["sets"].items()
        )
        print("| model | training | cbsd68 PSNR dB | SSIM | ab MSE | colorfulness | truth |" + truths)
        print("| --- | --- | --- | --- | --- | --- | --- |" + " --- |" * len(OTHER_SETS))
        print(row("zero chroma (the grayscale input as is)", "none", e, "baseline_", runs[0][1]["sets"]))
        for run in runs:
            print(row_of(*run))
        counts = [int(n) for n in args.hint_points.split(",") if n.strip()]
        if "default" in args.models and counts and default.get("takes_hints"):
            print(
                f"\nHint curve (PSNR dB; the sweep's points through colorize, 256x256; the default model's "
                f"read-out {', '.join(f'{k} {v}' for k, v in params['export'].items())}):\n"
            )
            set_params(project, readout)
            sh(["dvc", "repro", "export"], project, stdout=log, stderr=subprocess.STDOUT)
            print("| set | " + " | ".join(f"{n} points" for n in counts) + " |")
            print("| --- |" + " --- |" * len(counts))
            for name in filter(None, args.hint_sets.split(",")):
                curve = hint_curve(
                    project / "models" / "colorizer.keras", test_split(args.datasets / name, (256, 256)), counts, work
                )
                print(f"| {name}, the model | " + " | ".join(f"{r['psnr']:.2f}" for r in curve) + " |")
                print(
                    f"| {name}, nearest point | " + " | ".join(f"{r['nearest_point_psnr']:.2f}" for r in curve) + " |",
                    flush=True,
                )
    finally:
        log.close()
        if not args.keep:
            sh(["git", "worktree", "remove", "--force", str(project)], REPO, capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


def training_seconds(project: Path) -> float:
    """The training's duration, which train logs to its MLflow run (``train_seconds``)."""
    from mlflow.tracking import MlflowClient

    run_id = json.loads((project / "models/mlflow-run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    return client.get_run(run_id).data.metrics["train_seconds"]


def row_of(name: str, result: dict, export_only: bool) -> str:
    t = result["train"]
    training = "export only" if export_only else f"{t['epochs']} epochs, {t['seconds'] / 60:.1f} min"
    return row(name, training, result["eval"], sets=result["sets"])


if __name__ == "__main__":
    main()
