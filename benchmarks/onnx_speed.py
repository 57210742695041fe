"""Keras on TensorFlow against ONNX Runtime for colouring: the network's speed at 256x256, the time to start,
and the size of an install without TensorFlow.

    python benchmarks/onnx_speed.py [--runs 20] [--no-install]

The default network of params.yaml (train's section, built as train builds it, untrained: the time does not
depend on the weights), with export's read-out, saved as a .keras file and converted to ONNX as the export stage
converts it (`colorizer.inference.onnx_export.write_onnx`). Figures:

1. the network alone at 256x256, L and an empty hint map in, ab out: Keras ``predict`` and ``predict_on_batch``
   (what ``colorize`` calls) against ONNX Runtime, batches of 1 and 4, median (range) of ``--runs`` calls
   after warm-up, the three interleaved so that the machine's wandering speed hits each alike;
2. a fresh process importing ``colorizer.apps.colorize`` and loading each file
   (``colorizer.inference.loading.load_model``), median of 3;
3. the install (downloads from the package index), ``du`` of: a fresh virtual environment with ``pip install -c
   constraints.txt -e '.[onnx]'``; one made ``--without-pip`` into which this environment's pip installs
   ``'.[onnx]'`` (``pip --python``: the packages alone, no pip or setuptools of its own, as a deployment
   image holds them); and the environment running this script.

Prints markdown tables for BENCHMARKS.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import machine
from hint_speed import default_network

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SIZE = 256


def spread(seconds) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{statistics.median(ms):.0f} ({min(ms):.0f}-{max(ms):.0f})"


def interleaved(calls: dict, runs: int, warm: int = 3) -> dict:
    """{name: [seconds]}: each call ``warm`` times, then ``runs`` rounds of one call of each in turn."""
    for call in calls.values():
        for _ in range(warm):
            call()
    seconds = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def start_time(model_path: Path, runs: int = 3) -> list[float]:
    """Seconds for a fresh process to import colorize and load ``model_path`` (the interpreter's start excluded)."""
    code = (
        "import time; t = time.perf_counter(); from colorizer.apps import colorize; "
        f"colorize.load_model({str(model_path)!r}); print(time.perf_counter() - t)"
    )
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=machine.REPO, capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    ]


def du_mb(path) -> float:
    return int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True).stdout.split()[0]) / 1024


def install_sizes() -> dict:
    """MB: an empty virtual environment, one with the onnx extra, one without pip with the onnx extra, and the
    one running this script."""
    with tempfile.TemporaryDirectory() as tmp:
        venv, lean = Path(tmp) / "venv", Path(tmp) / "lean"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        empty = du_mb(venv)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", "-e", ".[onnx]"],
            cwd=machine.REPO,
            check=True,
        )
        packages = subprocess.run(
            [str(venv / "bin" / "pip"), "list", "--format=freeze"], capture_output=True, text=True, check=True
        ).stdout.split()
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(lean)], check=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(lean / "bin" / "python"),
                "install",
                "-q",
                "-c",
                "constraints.txt",
                ".[onnx]",
            ],
            cwd=machine.REPO,
            check=True,
        )
        sizes = {"empty": empty, "onnx": du_mb(venv), "lean": du_mb(lean)}
    return {**sizes, "full": du_mb(sys.prefix), "packages": packages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-install", action="store_true", help="skip the install sizes (no downloads)")
    args = parser.parse_args()
    print(machine.describe())

    from colorizer import params as P
    from colorizer.inference.export import check_params
    from colorizer.inference.loading import load_model
    from colorizer.inference.onnx_export import write_onnx
    from colorizer.inference.predict import network_input
    from colorizer.network.readout import has_distribution_head, set_vividness

    network, about = default_network()
    read_out = check_params(P.load("export", machine.REPO / "params.yaml"))
    if has_distribution_head(network):
        set_vividness(network, temperature=read_out["temperature"], rebalance=read_out["rebalance"])
    set_vividness(network, saturation=read_out["saturation"])
    with tempfile.TemporaryDirectory() as tmp:
        keras_path, onnx_path = Path(tmp) / "colorizer.keras", Path(tmp) / "colorizer.onnx"
        network.save(keras_path)
        keras_model = load_model(str(keras_path))  # as colorize loads it
        started = time.perf_counter()
        difference = write_onnx(keras_model, onnx_path)
        converted = time.perf_counter() - started
        onnx_model = load_model(str(onnx_path))
        print(
            f"\n{about}; converted in {converted:.1f} s (the check included), largest difference "
            f"{difference:.2g} Lab units; {keras_path.stat().st_size / 1e6:.1f} MB .keras, "
            f"{onnx_path.stat().st_size / 1e6:.1f} MB .onnx\n"
        )

        rng = np.random.default_rng(0)
        print(
            f"| network alone at {SIZE}x{SIZE}, ms a call | Keras `predict` | Keras `predict_on_batch` "
            f"| ONNX Runtime | ONNX Runtime / `predict_on_batch` |\n| --- | --- | --- | --- | --- |"
        )
        for batch in (1, 4):
            lightness = rng.uniform(0, 100, (batch, SIZE, SIZE, 1)).astype(np.float32)
            keras_in, onnx_in = network_input(keras_model, lightness), network_input(onnx_model, lightness)
            times = interleaved(
                {
                    "predict": lambda k=keras_in, n=batch: keras_model.predict(k, batch_size=n, verbose=0),
                    "predict_on_batch": lambda k=keras_in: keras_model.predict_on_batch(k),
                    "onnx": lambda o=onnx_in: onnx_model.predict_on_batch(o),
                },
                args.runs,
            )
            ratio = statistics.median(times["onnx"]) / statistics.median(times["predict_on_batch"])
            print(
                f"| batch of {batch} | {spread(times['predict'])} | {spread(times['predict_on_batch'])} "
                f"| {spread(times['onnx'])} | {ratio:.2f} |"
            )

        print("\n| a fresh process: import colorize, load the model | seconds, median (range) of 3 |\n| --- | --- |")
        for name, path in (
            ("models/colorizer.keras (TensorFlow, Keras)", keras_path),
            ("models/colorizer.onnx (ONNX Runtime)", onnx_path),
        ):
            seconds = start_time(path)
            print(f"| {name} | {statistics.median(seconds):.2f} ({min(seconds):.2f}-{max(seconds):.2f}) |")

    if not args.no_install:
        sizes = install_sizes()
        print(
            f"\n| install | `du` of the virtual environment |\n| --- | --- |\n"
            f"| `pip install -c constraints.txt -e '.[onnx]'` | {sizes['onnx']:.0f} MB "
            f"({sizes['onnx'] - sizes['empty']:.0f} MB more than an empty one, {sizes['empty']:.0f} MB) |\n"
            f"| `python -m venv --without-pip`, then `pip --python VENV/bin/python install -c constraints.txt "
            f"'.[onnx]'` | {sizes['lean']:.0f} MB |\n"
            f"| this environment (`.[test]`: the pipeline, ONNX Runtime, the test tools) | {sizes['full']:.0f} MB |"
        )
        print("\nthe onnx install: " + ", ".join(sizes["packages"]))
    print(f"\nload average after: {machine.load()}")


if __name__ == "__main__":
    main()
