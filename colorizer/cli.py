"""The stages' command lines: dvc.yaml names every input and output of a stage in its ``cmd``, and the stage
takes them from there (``python -m stages.train data/prepared models/network.keras ...``), so the paths are
written in one place, beside the deps and outs DVC tracks."""

import argparse
from pathlib import Path


def stage_paths(stage: str, argv=None, **paths: str) -> argparse.Namespace:
    """Parse the stage's paths, given in the order of ``paths`` (name -> what it is); all are required."""
    parser = argparse.ArgumentParser(prog=f"python -m stages.{stage}",
                                     description=f"Stage {stage} of dvc.yaml (run it with `dvc repro {stage}`).")
    for name, about in paths.items():
        parser.add_argument(name, type=Path, help=about)
    return parser.parse_args(argv)
