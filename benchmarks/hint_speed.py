"""How fast one colorization with hints is at 256x256, the model loaded: what an interactive page waits for.

    python benchmarks/hint_speed.py [--model models/colorizer.keras] [--runs 30] [--points 10]

With no model file (a fresh clone before `dvc repro`), the default network of params.yaml is built untrained:
the time does not depend on the weights. Two figures, medians over ``--runs`` after warm-up calls
(the networks taking turns):

1. the network alone: L [1, 256, 256, 1] and its hint map in, ab out (``predict_on_batch``), with ``--points``
   hints and with none, and params.yaml's network built with ``train.hints: false`` (what the hint branch costs);
2. the whole ``colorize`` path for a 256x256 grayscale PNG with a sidecar of ``--points`` hints: read it and the
   sidecar, the hint map, the network, the colour joined to the lightness, the PNG written.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SIZE = 256


def timed(call, runs: int, warm: int = 3) -> list[float]:
    return timed_together([call], runs, warm)[0]


def timed_together(calls, runs: int, warm: int = 3) -> list[list[float]]:
    """The seconds of each of ``calls``, ``runs`` times, taking turns: what drifts over the measurement (the
    clock, the cache, another process) falls on all of them alike."""
    for _ in range(warm):
        for call in calls:
            call()
    seconds = [[] for _ in calls]
    for _ in range(runs):
        for call, times in zip(calls, seconds):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    return seconds


def default_network(hints: bool | None = None):
    """params.yaml's train section built as train builds it, untrained (``hints``: in place of train.hints)."""
    import keras

    import colorizer
    from colorizer import params as P
    from colorizer.network.builder import build
    from colorizer.training.settings import check_params

    cfg = check_params(P.load("train", Path(colorizer.__file__).resolve().parents[1] / "params.yaml"))
    keras.utils.set_random_seed(cfg["seed"])
    return build(
        cfg["arch"],
        cfg["width"],
        cfg["head"],
        cfg["global_context"],
        cfg["members"],
        with_hints=cfg["hints"] if hints is None else hints,
    ), f"params.yaml's network, untrained (members {cfg['members']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/colorizer.keras")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--points", type=int, default=10)
    args = parser.parse_args()

    from PIL import Image
    from skimage import data

    from colorizer.apps.files import colorize_files
    from colorizer.evaluation.hint_sweep import photo_seed, sweep_points, truth_hints
    from colorizer.hints import hint_map, write_sidecar
    from colorizer.inference.loading import load_model
    from colorizer.inference.predict import network_input, takes_hints

    if Path(args.model).is_file():
        model, about = load_model(args.model), args.model
    else:
        model, about = default_network()
    if not takes_hints(model):
        raise SystemExit(f"{about} takes no hints")
    from colorizer.color import srgb_to_lab

    rgb = np.asarray(Image.fromarray(data.astronaut()).resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    lab = srgb_to_lab(rgb)
    hints = truth_hints(lab, sweep_points(photo_seed("astronaut"), args.points, (SIZE, SIZE)))
    lightness = lab[None, ..., :1].astype(np.float32)
    with_hints = network_input(model, lightness, hint_map(hints, (SIZE, SIZE), (SIZE, SIZE))[None])
    without = network_input(model, lightness, None)
    plain, _ = default_network(hints=False)  # what the hint branch costs: the same networks without it
    names = [
        f"the network, {args.points} hints",
        "the network, no hints",
        "params.yaml's network with `train.hints: false` (untrained: the time does not depend on the weights)",
    ]
    rows = list(
        zip(
            names,
            timed_together(
                [
                    lambda: model.predict_on_batch(with_hints),
                    lambda: model.predict_on_batch(without),
                    lambda: plain.predict_on_batch(lightness),
                ],
                args.runs,
            ),
        )
    )

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "astronaut.png"
        Image.fromarray(rgb).convert("L").save(photo)
        write_sidecar(photo.with_name(photo.name + ".hints.json"), hints)
        pairs = [(photo, Path(folder) / "out" / photo.name)]
        rows.append(
            (
                f"colorize, a 256x256 PNG with a sidecar of {args.points} hints",
                timed(lambda: colorize_files(model, pairs, SIZE, progress=False), max(5, args.runs // 3)),
            )
        )

    print(
        f"{machine.describe()}; {about}; `python benchmarks/hint_speed.py --runs {args.runs} --points {args.points}`\n"
    )
    print("| one colorization at 256x256 | median ms | range ms |")
    print("| --- | --- | --- |")
    for name, seconds in rows:
        print(
            f"| {name} | {1000 * statistics.median(seconds):.1f} | {1000 * min(seconds):.1f} .. "
            f"{1000 * max(seconds):.1f} |"
        )


if __name__ == "__main__":
    main()
