import os
from pathlib import Path

import numpy as np
import pytest

from colorizer.color import codes_to_lab, lab_to_codes
from colorizer.data.shards import (
    LabSplit,
    create_shard,
    drop_rows,
    read_manifest,
    shard_name,
    write_manifest,
    write_rows,
)


def write_split(root, count, shard_size, shape=(8, 12, 3)):
    """``count`` random images of Lab codes in shards of ``shard_size``, as prepare writes them."""
    codes = np.random.default_rng(0).integers(0, 256, size=(count,) + shape, dtype=np.uint8)
    (Path(root) / "train").mkdir(parents=True)
    rows = []
    for start in range(0, count, shard_size):
        path = Path(root) / shard_name("train", start // shard_size)
        create_shard(path, min(shard_size, count - start), shape)
        for i in range(start, min(start + shard_size, count)):
            write_rows(path, i - start, codes[i : i + 1])
            rows.append(
                {
                    "split": "train",
                    "shard": shard_name("train", start // shard_size),
                    "row": i - start,
                    "source": f"src/{i}.png",
                }
            )
    write_manifest(root, rows)
    return codes


def test_shards_round_trip(tmp_path):
    codes = write_split(tmp_path, count=10, shard_size=4)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == [
        "shard-00000.npy",
        "shard-00001.npy",
        "shard-00002.npy",
    ]
    assert (tmp_path / "train" / "shard-00000.npy").stat().st_size == 128 + 4 * 8 * 12 * 3, "one byte a channel"
    split = LabSplit(tmp_path, "train")
    assert len(split) == 10 and split.image_shape == (8, 12, 3) and split.sizes == [4, 4, 2]
    np.testing.assert_array_equal(split[5], codes_to_lab(codes[5]))
    np.testing.assert_array_equal(split[-1], codes_to_lab(codes[9]))
    order = [9, 0, 5, 4, 1, 9]
    np.testing.assert_array_equal(split.take_codes(order), codes[order])
    np.testing.assert_array_equal(split.take(order), codes_to_lab(codes[order]))
    assert split.take([]).shape == (0, 8, 12, 3)
    with pytest.raises(IndexError):
        split.take([3, 10])
    with pytest.raises(IndexError):
        split[10]


def test_lab_codes_keep_lab_within_half_a_step():
    rng = np.random.default_rng(1)
    lab = np.stack([rng.uniform(0, 100, 1000), rng.uniform(-110, 110, 1000), rng.uniform(-110, 110, 1000)], -1)
    codes = lab_to_codes(lab.astype(np.float32))
    assert codes.dtype == np.uint8
    error = np.abs(codes_to_lab(codes) - lab)
    assert error[:, 0].max() <= 100 / 255 / 2 + 1e-4 and error[:, 1:].max() <= 0.5 + 1e-4


def test_reading_rows_maps_no_shard_and_keeps_no_file_open(tmp_path):
    # Pages of a memory-mapped shard count in the process's resident memory once read: an epoch over mapped
    # shards would grow training's memory with the dataset. Rows are read with file reads instead.
    codes = write_split(tmp_path, count=10, shard_size=3)
    split = LabSplit(tmp_path, "train")
    np.testing.assert_array_equal(split.take_codes(np.arange(10)[::-1]), codes[::-1])
    folder = str((tmp_path / "train").resolve())
    mapped = [line for line in Path("/proc/self/maps").read_text().splitlines() if folder in line]
    assert not mapped, f"shards mapped into memory: {mapped}"
    open_files = [
        os.readlink(f"/proc/self/fd/{fd}")
        for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")
    ]
    assert not [f for f in open_files if f.startswith(folder)]


def test_a_shard_written_in_place_by_rows_reads_back_and_rows_can_be_dropped(tmp_path):
    (tmp_path / "val").mkdir()
    path = tmp_path / "val" / "shard-00000.npy"
    create_shard(path, 5, (4, 6, 3))
    rows = np.random.default_rng(2).integers(0, 256, (5, 4, 6, 3), dtype=np.uint8)
    for i in (3, 0, 4, 1, 2):  # any order, as worker processes finish
        write_rows(path, i, rows[i : i + 1])
    np.testing.assert_array_equal(np.load(path), rows)
    with pytest.raises(ValueError, match="cannot write"):
        write_rows(path, 5, rows[:1])
    with pytest.raises(ValueError, match="cannot write"):
        write_rows(path, 0, np.zeros((1, 4, 5, 3), np.uint8))
    with pytest.raises(TypeError, match="Lab codes"):
        write_rows(path, 0, rows[:1].astype(np.float32))
    drop_rows(path, [0, 2, 3])
    np.testing.assert_array_equal(LabSplit(tmp_path, "val").take_codes([0, 1, 2]), rows[[0, 2, 3]])
    drop_rows(path, [])
    assert not path.exists()


def test_a_truncated_shard_is_an_error_not_garbage(tmp_path):
    write_split(tmp_path, count=4, shard_size=4)
    path = tmp_path / "train" / "shard-00000.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="shorter than its header says"):
        LabSplit(tmp_path, "train").take([3])


def test_float_shards_of_an_older_prepare_are_refused_with_advice(tmp_path):
    (tmp_path / "train").mkdir()
    np.save(tmp_path / "train" / "shard-00000.npy", np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="rerun prepare"):
        LabSplit(tmp_path, "train")


def test_manifest_maps_each_row_to_its_source(tmp_path):
    write_split(tmp_path, count=6, shard_size=4)
    rows = read_manifest(tmp_path, "train")
    assert [r["source"] for r in rows] == [f"src/{i}.png" for i in range(6)]
    assert rows[5]["shard"] == "train/shard-00001.npy" and rows[5]["row"] == 1
