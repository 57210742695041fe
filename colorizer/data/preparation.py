"""A photographs folder made into Lab shards for train, val and test, plus a manifest (the ``prepare`` stage).

Each image goes to a split by a hash of its relative path (or, with ``test_subfolder``, the photographs in
that subfolder are the test split and the rest are shared between train and val by hash), and is stored once,
as one byte a Lab channel (`colorizer.color.lab_to_codes`): a training photograph at the size its smallest crop
needs (`stored_size`; training cuts fresh crops from it every epoch, `colorizer.training.crops`), a validation
one at ``train_size``, a test one at ``test_size`` (the evaluation protocol's 256x256). Files that cannot be
read are skipped and listed in the report (``metrics/prepare.json``).
"""

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from multiprocessing import Pool
from multiprocessing.pool import Pool as WorkerPool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorizer import DOWNSAMPLING
from colorizer import params as P
from colorizer.atomic import replacing
from colorizer.color import lab_to_codes, srgb_to_lab
from colorizer.data.images import UnreadableImage, find_images, read_rgb, resize
from colorizer.data.shards import SETTINGS, create_shard, drop_rows, shard_name, write_manifest, write_rows
from colorizer.data.splits import SPLITS, assign

SECTION = "prepare"


def check_params(p: dict) -> dict:
    """Validated prepare parameters; raises `ParamError` naming the first bad key."""
    return P.only_known(
        p,
        SECTION,
        {
            "images": P.existing_dir(p, SECTION, "images"),
            "train_size": P.size(p, SECTION, "train_size", multiple_of=DOWNSAMPLING),
            "test_size": P.size(p, SECTION, "test_size", multiple_of=DOWNSAMPLING),
            "crop_scale": P.number(p, SECTION, "crop_scale", minimum=0.0, maximum=1.0, exclusive_minimum=True),
            "splits": P.fractions(p, SECTION, "splits"),
            "test_subfolder": check_test_subfolder(p),
            "split_seed": P.integer(p, SECTION, "split_seed", minimum=0),
            "shard_size": P.integer(p, SECTION, "shard_size", minimum=1),
            "workers": P.integer(p, SECTION, "workers", minimum=0),
        },
    )


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


def stored_size(cfg: dict) -> tuple[int, int]:
    """The size a training photograph is stored at: its smallest crop (``crop_scale`` of each side, cut while
    training) still has ``train_size``'s pixels, so no crop is ever enlarged."""
    height, width = (int(np.ceil(side / cfg["crop_scale"] - 1e-9)) for side in cfg["train_size"])
    return height, width


def split_size(split: str, cfg: dict) -> tuple[int, int]:
    """(height, width) of the rows of ``split``: whole photographs, at the size training cuts its crops
    from, at the training size (val) or at the evaluation protocol's size (test)."""
    return {"train": stored_size(cfg), "val": cfg["train_size"], "test": cfg["test_size"]}[split]


def decode_size(split: str, cfg: dict) -> int:
    """The smallest side a JPEG may be decoded at (`colorizer.data.images.open_upright`) without being enlarged
    to its split's size: JPEG decoding at 1/2..1/8 scale for large photographs."""
    return max(split_size(split, cfg))


def process(job: tuple) -> tuple[str, str | None, float | None]:
    """Worker: read one image, resize it to its split's size and write its Lab codes into its row.

    ``job`` is (path, relative name, split, its index in the split, settings, output); image ``i`` of a split
    is row ``i % shard_size`` of shard ``i // shard_size``. Returns (name, None, the photograph's width /
    height as it was read, upright), or (name, reason, None) when the image cannot be read.
    """
    path, name, split, index, cfg, output = job
    try:
        image = read_rgb(path, at_least=decode_size(split, cfg))
    except UnreadableImage as error:
        return name, str(error), None
    shard, row = divmod(index, cfg["shard_size"])
    codes = lab_to_codes(srgb_to_lab(resize(image, split_size(split, cfg))))
    write_rows(output / shard_name(split, shard), row, codes[None])
    return name, None, image.width / image.height


def finish_split(
    root: Path, split: str, names: list[str], failed: dict, aspects: dict, shard_size: int
) -> Iterator[dict]:
    """Yield the manifest rows of ``split``, shard by shard, closing the rows that unreadable images left
    empty (a shard left with none is removed)."""
    total = len(names)
    for shard in range(-(-total // shard_size)):
        first = shard * shard_size
        count = min(shard_size, total - first)
        kept = []
        for index in range(first, first + count):
            if names[index] in failed:
                continue
            yield {
                "split": split,
                "shard": shard_name(split, shard),
                "row": len(kept),
                "source": names[index],
                "aspect": round(aspects[names[index]], 4),
            }
            kept.append(index - first)
        if len(kept) < count:
            drop_rows(Path(root) / shard_name(split, shard), kept)


def prepare(cfg: dict, output: Path) -> dict:
    """Write the shards and manifest for ``cfg`` (as `check_params` returns it) into ``output``.

    Every shard file is sized first; the workers then read, resize and convert the images and write each
    sample straight into its row, so only file names and reasons pass between processes, and memory holds
    one image per worker however large the folder. Returns the report that the stage saves as
    metrics/prepare.json. Raises ``ValueError`` when the folder holds no usable image or a split would be
    empty.
    """
    workers = cfg["workers"] or os.cpu_count() or 1
    # The worker processes start before the file list is made, so that none of them inherits (and holds) it.
    with Pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
        return write_prepared(cfg, output, pool)


def create_shards(folder: Path, members: dict, cfg: dict) -> None:
    """Each split's folder in ``folder`` with its shard files sized for the photographs in ``members``."""
    for split in SPLITS:
        shard_size, shape = cfg["shard_size"], (*split_size(split, cfg), 3)
        total = len(members[split])
        (folder / split).mkdir(parents=True)
        for shard in range(-(-total // shard_size)):
            create_shard(folder / shard_name(split, shard), min(shard_size, total - shard * shard_size), shape)


def convert(names: list[str], cfg: dict, output: Path, pool: WorkerPool | None) -> tuple[dict, dict]:
    """Every image of ``names`` written into its row in ``output`` by ``pool`` (or in this process when it is
    None); returns (reason of each unreadable one, width / height of each other one)."""
    folder = cfg["images"]

    def jobs():  # in the folder's order, files of one folder together; made as the workers take them
        done = dict.fromkeys(SPLITS, 0)
        for name in names:
            split = split_of(name, cfg)
            yield folder / name, name, split, done[split], cfg, output
            done[split] += 1

    results = pool.imap_unordered(process, jobs(), chunksize=4) if pool else map(process, jobs())
    failed, aspects = {}, {}
    # A progress bar on a terminal only (tqdm's disable=None), where thousands of photographs take minutes.
    for name, reason, aspect in tqdm(
        results, total=len(names), unit="photo", desc="prepare", leave=False, disable=None, file=sys.stderr
    ):
        failed.update({name: reason} if reason else {})
        aspects.update({name: aspect} if aspect else {})
    return failed, aspects


def write_prepared(cfg: dict, output: Path, pool: WorkerPool | None) -> dict:
    """`prepare`, with the images converted by ``pool`` (or in this process when it is None)."""
    folder = cfg["images"]
    found = [p.as_posix() for p in find_images(folder)]
    if not found:
        raise ValueError(f"no files found in folder {str(folder)!r} (hidden ones are not read)")
    # A name that is not UTF-8 cannot go into the manifest (or be hashed to its split): skipped, named.
    misnamed = [
        {"file": printable(n), "reason": "the file name is not valid UTF-8 (rename it)"}
        for n in found
        if printable(n) != n
    ]
    names = [n for n in found if printable(n) == n]
    members = {s: [] for s in SPLITS}
    for name in names:
        members[split_of(name, cfg)].append(name)
    with replacing(output) as tmp:
        create_shards(tmp, members, cfg)
        failed, aspects = convert(names, cfg, tmp, pool)
        skipped = misnamed + [{"file": n, "reason": failed[n]} for n in names if n in failed]
        for entry in skipped:
            print(f"skipped {entry['file']}: {entry['reason']}", file=sys.stderr)
        used = {s: sum(n not in failed for n in members[s]) for s in SPLITS}
        if not any(used.values()):
            raise ValueError(
                f"no usable image in folder {str(folder)!r}: all {len(found)} files were "
                f"unreadable (first: {skipped[0]['file']}: {skipped[0]['reason']})"
            )
        empty = [s for s in SPLITS if not used[s]]
        if empty:
            raise ValueError(
                f"split {', '.join(empty)} got no image from folder {str(folder)!r} "
                f"({sum(used.values())} usable images, fractions {cfg['splits']}); add images "
                f"or change prepare.splits / prepare.split_seed"
            )
        write_manifest(
            tmp,
            (
                row
                for split in SPLITS
                for row in finish_split(tmp, split, members[split], failed, aspects, cfg["shard_size"])
            ),
        )
        (tmp / SETTINGS).write_text(
            json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in cfg.items()}, indent=2) + "\n"
        )
    return {
        "found": len(found),
        "used": sum(used.values()),
        "skipped": len(skipped),
        **{f"{s}_images": used[s] for s in SPLITS},
        "train_stored_size": list(stored_size(cfg)),
        "skipped_files": skipped,
    }


def printable(name: str) -> str:
    """A file name as text: the bytes of a name that is not UTF-8 (which Python keeps as lone surrogates)
    written as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
