"""Lab shards on disk: plain ``.npy`` files of at most ``shard_size`` images, plus a manifest.

Layout under the prepared folder::

    manifest.csv            split, shard, row, source: which source image each row came from
    settings.json           the prepare parameters that made them
    train/shard-00000.npy   uint8 [n, H, W, 3]: Lab codes, one byte a channel (`colorizer.color.lab_to_codes`)
    val/...  test/...

Readers (`LabSplit`) read the rows they need with positioned file reads, so nothing is read whole and
memory stays flat however large the dataset grows; ``numpy.load`` opens any shard as it is, and
`colorizer.color.codes_to_lab` turns its codes into Lab units.
"""

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from colorizer.color import codes_to_lab

MANIFEST = "manifest.csv"
SETTINGS = "settings.json"  # the prepare parameters the shards were made with
MANIFEST_FIELDS = ("split", "shard", "row", "source", "aspect")  # aspect: the photograph's width / height
DTYPE = np.dtype(np.uint8)  # Lab codes


def write_manifest(root: str | Path, rows: Iterable[Mapping[str, object]]) -> None:
    """The manifest under ``root``: one row per image (`MANIFEST_FIELDS`)."""
    with open(Path(root) / MANIFEST, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def read_manifest(root: str | Path, split: str | None = None) -> list[dict[str, str | int]]:
    """The manifest rows under ``root`` (``row`` as an integer), of ``split`` only when given."""
    with open(Path(root) / MANIFEST, newline="") as handle:
        rows = [dict(r, row=int(r["row"])) for r in csv.DictReader(handle)]
    return [r for r in rows if split is None or r["split"] == split]


# Writing shards from many processes at once: `create_shard` sizes a shard file first, then each worker
# writes its images straight into their rows with `write_rows`, so no image passes between processes or
# is held twice; `drop_rows` closes the gaps left by images that could not be read.


def shard_name(split: str, index: int) -> str:
    """The path of shard ``index`` of ``split``, relative to the prepared folder."""
    return f"{split}/shard-{index:05d}.npy"


def create_shard(path: str | Path, rows: int, image_shape: Sequence[int]) -> None:
    """An ``.npy`` file for ``rows`` images of Lab codes of ``image_shape``: its header, and its data
    unwritten (a sparse file) until `write_rows` fills them."""
    header = {
        "descr": np.lib.format.dtype_to_descr(DTYPE),
        "fortran_order": False,
        "shape": (int(rows), *map(int, image_shape)),
    }
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.truncate(handle.tell() + int(rows) * int(np.prod(image_shape)) * DTYPE.itemsize)


def write_rows(path: str | Path, first: int, images: np.ndarray) -> None:
    """Write the Lab codes ``images`` [n, H, W, 3] into rows ``first`` to ``first + n - 1`` of the shard."""
    if images.dtype != DTYPE:
        raise TypeError(f"shards hold {DTYPE} Lab codes (colorizer.color.lab_to_codes), not {images.dtype}")
    images = np.ascontiguousarray(images)
    with open(path, "r+b") as handle:
        np.lib.format.read_magic(handle)  # version 1.0, as `create_shard` writes it
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        if dtype != DTYPE or shape[1:] != images.shape[1:] or not 0 <= first <= shape[0] - len(images):
            raise ValueError(
                f"{path} holds {shape[0]} rows of {shape[1:]} {dtype}: cannot write "
                f"{len(images)} images of {images.shape[1:]} at row {first}"
            )
        offset = handle.tell() + first * int(np.prod(shape[1:])) * DTYPE.itemsize
        data = memoryview(images).cast("B")
        while data:
            written = os.pwrite(handle.fileno(), data, offset)
            data, offset = data[written:], offset + written


def drop_rows(path: str | Path, keep: Sequence[int] | np.ndarray) -> None:
    """Keep only rows ``keep`` (ascending) of the shard at ``path``; remove the file when none is kept."""
    path = Path(path)
    if not len(keep):
        path.unlink()
        return
    kept = np.load(path, mmap_mode="r")[np.asarray(keep)]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:  # a file object: np.save would add ".npy" to the name
        np.save(handle, kept)
    os.replace(tmp, path)


class LabSplit:
    """The images of one split; ``split[i]`` or ``split.take(indices)`` reads rows as float32 Lab units,
    ``split.take_codes(indices)`` as they are stored (uint8 codes, what training reads).

    Rows are read with plain positioned file reads straight into the array returned, not through memory
    maps: the pages of a memory-mapped file count in the process's resident memory once touched, so an
    epoch over mapped shards grew training's memory by the size of the dataset. Nothing stays open between
    reads (a split of thousands of shards needs no file descriptor), and the operating system's page cache
    still keeps the shards that fit in memory.
    """

    def __init__(self, root: str | Path, split: str) -> None:
        self.paths = sorted((Path(root) / split).glob("shard-*.npy"))
        if not self.paths:
            raise FileNotFoundError(f"no shards for split '{split}' under {root}")
        self.offsets, sizes = [], []
        for path in self.paths:
            shape, offset = _shard_header(path)
            if sizes and shape[1:] != self.image_shape:
                raise ValueError(f"{path} holds images of {shape[1:]}, the first shard {self.image_shape}")
            self.image_shape = tuple(shape[1:])
            self.offsets.append(offset)
            sizes.append(shape[0])
        self.sizes = sizes
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def shards(self) -> list[np.ndarray]:
        """Each shard memory-mapped, to inspect; reading many rows through them grows resident memory."""
        return [np.load(p, mmap_mode="r") for p in self.paths]

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, index: int) -> np.ndarray:
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"row {index} of a split of {len(self)}")
        return self.take([index % len(self)])[0]

    def take(self, indices: ArrayLike) -> np.ndarray:
        """Rows ``indices`` as one float32 array in Lab units."""
        return codes_to_lab(self.take_codes(indices))

    def take_codes(self, indices: ArrayLike) -> np.ndarray:
        """Rows ``indices`` as stored (uint8 Lab codes), read in ascending order (shard by shard) for
        locality."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        out = np.empty((len(indices),) + self.image_shape, DTYPE)
        if not len(indices):
            return out
        if indices.min() < 0 or indices.max() >= len(self):
            raise IndexError(f"rows {indices.min()}..{indices.max()} of a split of {len(self)}")
        shard_of = np.searchsorted(self.starts, indices, side="right") - 1
        row_bytes = out[0].nbytes
        handle, current = None, -1
        try:
            for position in np.argsort(indices, kind="stable"):
                shard = int(shard_of[position])
                if shard != current:
                    if handle is not None:
                        os.close(handle)
                    handle, current = os.open(self.paths[shard], os.O_RDONLY), shard
                offset = self.offsets[shard] + (int(indices[position]) - int(self.starts[shard])) * row_bytes
                _read_into(handle, memoryview(out[position]).cast("B"), offset, self.paths[shard])
        finally:
            if handle is not None:
                os.close(handle)
        return out


def _shard_header(path: str | Path) -> tuple[tuple[int, ...], int]:
    """The shape of the image array in the ``.npy`` file at ``path``, and where its data starts."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(handle)
        if dtype != DTYPE or fortran_order or len(shape) != 4:
            raise ValueError(
                f"{path} is not a shard of Lab codes ({DTYPE} images): {dtype}, shape {shape}, "
                f"Fortran order {fortran_order}; prepared by an older version? rerun prepare"
            )
        return tuple(shape), handle.tell()


def _read_into(handle: int, buffer: memoryview, offset: int, path: str | Path) -> None:
    while buffer:
        count = os.preadv(handle, [buffer], offset)
        if count == 0:
            raise ValueError(f"{path} is shorter than its header says (truncated?)")
        buffer, offset = buffer[count:], offset + count
