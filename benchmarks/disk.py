"""How much disk the prepared data takes, with DVC's cache, against the photographs it came from.

    python benchmarks/disk.py [--images ../shared/datasets/bsds432] [--set prepare.KEY=VALUE ...]

Runs ``dvc repro prepare`` in a git worktree of HEAD (or ``--commit``) under a temporary folder (commit first), on
``--images`` with params.yaml's prepare settings, and prints ``du`` of the photographs, of ``data/prepared``, of DVC's
cache, and of the last two together (``du`` counts a file hard-linked into both once: what the disk holds),
with the time ``dvc repro prepare`` took and the cache link type DVC used.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import machine

DEFAULT_IMAGES = machine.REPO.parent / "shared" / "datasets" / "bsds432"


def du(*paths: Path) -> int:
    """Bytes on disk of ``paths`` together (``du -s --block-size=1 -c``: a hard-linked file counted once)."""
    out = subprocess.run(
        ["du", "-s", "-c", "--block-size=1", *map(str, paths)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip().splitlines()[-1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--set", action="append", default=[], metavar="prepare.KEY=VALUE")
    parser.add_argument("--commit", default="HEAD", help="the commit to measure (default HEAD)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="disk-bench-"))
    project = work / "project"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("DVC_ROOT", None)
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(project), args.commit],
        cwd=machine.REPO,
        check=True,
        capture_output=True,
    )
    try:
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["prepare"]["images"] = str(args.images.resolve())
        for change in args.set:
            dotted, value = change.split("=", 1)
            section, key = dotted.split(".")
            params[section][key] = yaml.safe_load(value)
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        print(f"Machine: {machine.describe()}")
        started = time.perf_counter()
        subprocess.run(["dvc", "repro", "prepare"], cwd=project, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        link = (
            subprocess.run(
                ["dvc", "config", "cache.type"], cwd=project, env=env, capture_output=True, text=True
            ).stdout.strip()
            or "reflink,copy (DVC's default)"
        )
        source = du(args.images)
        prepared, cache = project / "data" / "prepared", project / ".dvc" / "cache"
        figures = {
            "photographs": source,
            "data/prepared": du(prepared),
            ".dvc/cache": du(cache),
            "data/prepared and .dvc/cache together": du(prepared, cache),
        }
        print(
            f"Input: {args.images} ({source / 1e6:.1f} MB); prepare: "
            + ", ".join(f"{k} {v}" for k, v in params["prepare"].items() if k != "images")
            + f"; cache.type {link}; `dvc repro prepare` took {seconds:.1f} s\n"
        )
        print("| what | MB on disk (du) | times the photographs |")
        print("| --- | --- | --- |")
        for name, size in figures.items():
            print(f"| {name} | {size / 1e6:.1f} | {size / source:.2f}x |")
        print(f"\nLoad average after: {machine.load()}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(project)], cwd=machine.REPO, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
