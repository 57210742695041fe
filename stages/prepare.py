"""Stage ``prepare``: photographs folder -> Lab shards for train, val and test, plus a manifest.

Each image goes to a split by a hash of its relative path (or, with ``test_subfolder``, the photographs in
that subfolder are the test split and the rest are shared between train and val by hash); train images give ``crops_per_image`` samples
(the whole image and random crops), val images one, test images one at ``test_size`` (the evaluation
protocol's 256x256). Files that cannot be read are skipped and listed in ``metrics/prepare.json``.
"""

import json
import os
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from stages import params as P
from stages.atomic import replacing, write_json
from stages.color import rgb_to_lab
from stages.images import UnreadableImage, find_images, read_rgb
from stages.shards import SETTINGS, ShardWriter, write_manifest
from stages.splits import SPLITS, assign, unit_hash

SECTION = "prepare"
OUTPUT = Path("data/prepared")
REPORT = Path("metrics/prepare.json")


def check_params(p: dict) -> dict:
    """Validated prepare parameters; raises `ParamError` naming the first bad key."""
    return {
        "images": P.existing_dir(p, SECTION, "images"),
        "size": P.size(p, SECTION, "size", multiple_of=8),
        "test_size": P.size(p, SECTION, "test_size", multiple_of=8),
        "crops_per_image": P.integer(p, SECTION, "crops_per_image", minimum=1),
        "crop_scale": P.number(p, SECTION, "crop_scale", minimum=0.0, maximum=1.0, exclusive_minimum=True),
        "splits": P.fractions(p, SECTION, "splits"),
        "test_subfolder": check_test_subfolder(p),
        "split_seed": P.integer(p, SECTION, "split_seed", minimum=0),
        "shard_size": P.integer(p, SECTION, "shard_size", minimum=1),
        "seed": P.integer(p, SECTION, "seed", minimum=0),
        "workers": P.integer(p, SECTION, "workers", minimum=0),
    }


def check_test_subfolder(p: dict) -> str | None:
    """``test_subfolder``: None, or a folder inside ``images`` whose photographs are the test split."""
    value = P.get(p, SECTION, "test_subfolder")
    if value in (None, ""):
        return None
    folder = Path(str(p["images"])) / str(value)
    if not folder.is_dir():
        raise P.ParamError(f"{SECTION}.test_subfolder: folder {str(folder)!r} does not exist")
    return Path(str(value)).as_posix().strip("/")


def split_of(name: str, cfg: dict) -> str:
    """The split of the image ``name`` (relative to the images folder): by ``test_subfolder`` when set,
    then by hash (with the test fraction shared out to train and val when a test folder is given)."""
    fractions = cfg["splits"]
    if cfg["test_subfolder"]:
        if name.startswith(cfg["test_subfolder"] + "/"):
            return "test"
        rest = fractions["train"] + fractions["val"]
        fractions = {"train": fractions["train"] / rest, "val": fractions["val"] / rest, "test": 0.0}
    return assign(name, fractions, cfg["split_seed"])


def resize(image: Image.Image, size) -> np.ndarray:
    """``image`` resized (antialiased) to ``size`` = (height, width), as a uint8 array."""
    height, width = size
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))


def random_crops(image: Image.Image, size, count: int, min_scale: float, rng) -> list[np.ndarray]:
    """The whole image plus ``count - 1`` random crops, each side ``min_scale``..1 of the image's, resized."""
    out = [resize(image, size)]
    width, height = image.size
    for _ in range(count - 1):
        scale = rng.uniform(min_scale, 1.0)
        crop_w, crop_h = max(1, round(width * scale)), max(1, round(height * scale))
        left = int(rng.integers(0, width - crop_w + 1))
        top = int(rng.integers(0, height - crop_h + 1))
        out.append(resize(image.crop((left, top, left + crop_w, top + crop_h)), size))
    return out


def process(job):
    """Worker: (path, relative name, split, settings) -> (name, split, [Lab arrays]) or (name, None, reason)."""
    path, name, split, cfg = job
    try:
        image = read_rgb(path)
    except UnreadableImage as error:
        return name, None, str(error)
    if split == "train":
        rng = np.random.default_rng(int(unit_hash(f"{cfg['seed']}/{name}") * 2**63))
        pictures = random_crops(image, cfg["size"], cfg["crops_per_image"], cfg["crop_scale"], rng)
    elif split == "val":
        pictures = [resize(image, cfg["size"])]
    else:
        pictures = [resize(image, cfg["test_size"])]
    return name, split, [rgb_to_lab(p) for p in pictures]


def prepare(cfg: dict, output=OUTPUT) -> dict:
    """Write the shards and manifest for ``cfg`` (as `check_params` returns it) into ``output``.

    Returns the report that ``main`` saves as metrics/prepare.json. Raises ``ValueError`` when the
    folder holds no usable image or a split would be empty.
    """
    folder = cfg["images"]
    names = [p.as_posix() for p in find_images(folder)]
    if not names:
        raise ValueError(f"no image files (.jpg .png .tif .bmp .webp) found in folder {str(folder)!r}")
    jobs = [(folder / n, n, split_of(n, cfg), cfg) for n in names]
    workers = cfg["workers"] or os.cpu_count() or 1
    skipped, used = [], {s: 0 for s in SPLITS}
    with replacing(output) as tmp:
        writers = {s: ShardWriter(tmp, s, cfg["shard_size"]) for s in SPLITS}
        with Pool(min(workers, len(jobs))) as pool:
            for name, split, result in pool.imap(process, jobs, chunksize=4):
                if split is None:
                    skipped.append({"file": name, "reason": result})
                    print(f"skipped {name}: {result}", file=sys.stderr)
                    continue
                used[split] += 1
                for crop, lab in enumerate(result):
                    writers[split].add(lab, name, crop)
        if not any(used.values()):
            raise ValueError(f"no usable image in folder {str(folder)!r}: all {len(names)} files were "
                             f"unreadable (first: {skipped[0]['file']}: {skipped[0]['reason']})")
        empty = [s for s in SPLITS if not used[s]]
        if empty:
            raise ValueError(f"split {', '.join(empty)} got no image from folder {str(folder)!r} "
                             f"({sum(used.values())} usable images, fractions {cfg['splits']}); add images "
                             f"or change prepare.splits / prepare.split_seed")
        rows = []
        for writer in writers.values():
            writer.flush()
            rows += writer.rows
        write_manifest(tmp, rows)
        (tmp / SETTINGS).write_text(json.dumps({k: str(v) if isinstance(v, Path) else v
                                                for k, v in cfg.items()}, indent=2) + "\n")
    return {
        "found": len(names),
        "used": sum(used.values()),
        "skipped": len(skipped),
        **{f"{s}_images": used[s] for s in SPLITS},
        **{f"{s}_samples": writers[s].count for s in SPLITS},
        "skipped_files": skipped,
    }


def main() -> None:
    try:
        cfg = check_params(P.load(SECTION))
        report = prepare(cfg)
    except ValueError as error:  # ParamError is a ValueError
        sys.exit(f"prepare: {error}")
    write_json(REPORT, report)
    print(f"prepare: {report['used']} images used ({report['train_samples']} training samples), "
          f"{report['skipped']} skipped")


if __name__ == "__main__":
    main()
