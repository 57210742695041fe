"""The stages of ``dvc.yaml``, one module each, nothing else: ``samples``, ``prepare``, ``train``, ``export``,
``evaluate``, ``render``. Each has a ``main()`` that its stage's command runs (``python -m stages.train``); what
they share is the library, `colorizer`, and `stage_paths`.

dvc.yaml names every input and output of a stage in its ``cmd``, and the stage takes them from there
(``python -m stages.train data/prepared models/network.keras ...``), so the paths are written in one place,
beside the deps and outs DVC tracks.
"""

import argparse
from pathlib import Path

import colorizer  # noqa: F401  first: keeps TensorFlow's start-up log lines off the terminal (colorizer.native_logs)


def stage_paths(stage: str, argv: list[str] | None = None, **paths: str) -> argparse.Namespace:
    """Parse the stage's paths, given in the order of ``paths`` (name -> what it is); all are required."""
    parser = argparse.ArgumentParser(
        prog=f"python -m stages.{stage}", description=f"Stage {stage} of dvc.yaml (run it with `dvc repro {stage}`)."
    )
    for name, about in paths.items():
        parser.add_argument(name, type=Path, help=about)
    return parser.parse_args(argv)
