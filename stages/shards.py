"""Lab shards on disk: plain ``.npy`` files of at most ``shard_size`` images, plus a manifest.

Layout under the prepared folder::

    manifest.csv            split, shard, row, source, crop: which source image each row came from
    settings.json           the prepare parameters that made them
    train/shard-00000.npy   float32 [n, H, W, 3] in Lab units (L in [0, 100], ab unscaled)
    val/...  test/...

Readers open shards with ``numpy.load(mmap_mode="r")``, so nothing is read whole and memory stays flat
however large the dataset grows.
"""

import csv
from pathlib import Path

import numpy as np

MANIFEST = "manifest.csv"
SETTINGS = "settings.json"  # the prepare parameters the shards were made with
MANIFEST_FIELDS = ("split", "shard", "row", "source", "crop")


class ShardWriter:
    """Collects Lab images of one split and writes a shard each time ``shard_size`` are held."""

    def __init__(self, root, split: str, shard_size: int):
        self.folder = Path(root) / split
        self.folder.mkdir(parents=True, exist_ok=True)
        self.split, self.shard_size = split, shard_size
        self.pending, self.rows, self.count = [], [], 0

    def add(self, lab: np.ndarray, source: str, crop: int) -> None:
        self.pending.append(lab.astype(np.float32, copy=False))
        index = self.count // self.shard_size
        self.rows.append({"split": self.split, "shard": f"{self.split}/shard-{index:05d}.npy",
                          "row": self.count % self.shard_size, "source": source, "crop": crop})
        self.count += 1
        if len(self.pending) == self.shard_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            index = (self.count - 1) // self.shard_size
            np.save(self.folder / f"shard-{index:05d}.npy", np.stack(self.pending))
            self.pending = []


def write_manifest(root, rows) -> None:
    with open(Path(root) / MANIFEST, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def read_manifest(root, split: str | None = None) -> list[dict]:
    with open(Path(root) / MANIFEST, newline="") as handle:
        rows = [dict(r, row=int(r["row"]), crop=int(r["crop"])) for r in csv.DictReader(handle)]
    return [r for r in rows if split is None or r["split"] == split]


class LabSplit:
    """The images of one split, memory-mapped; ``split[i]`` or ``split.take(indices)`` reads rows."""

    def __init__(self, root, split: str):
        paths = sorted((Path(root) / split).glob("shard-*.npy"))
        if not paths:
            raise FileNotFoundError(f"no shards for split '{split}' under {root}")
        self.shards = [np.load(p, mmap_mode="r") for p in paths]
        sizes = np.array([len(s) for s in self.shards])
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.image_shape = tuple(self.shards[0].shape[1:])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, index: int) -> np.ndarray:
        shard = int(np.searchsorted(self.starts, index, side="right") - 1)
        return np.asarray(self.shards[shard][index - self.starts[shard]])

    def take(self, indices) -> np.ndarray:
        """Rows ``indices`` as one array, read shard by shard in ascending order for locality."""
        indices = np.asarray(indices)
        out = np.empty((len(indices),) + self.image_shape, np.float32)
        shard_of = np.searchsorted(self.starts, indices, side="right") - 1
        for shard in np.unique(shard_of):
            mask = shard_of == shard
            rows = indices[mask] - self.starts[shard]
            order = np.argsort(rows)
            picked = np.empty(int(mask.sum()), dtype=np.int64)
            picked[order] = np.arange(len(rows))
            out[mask] = self.shards[shard][rows[order]][picked]
        return out
