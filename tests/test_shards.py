import os
from pathlib import Path

import numpy as np
import pytest

from stages.batches import LabBatches
from stages.shards import (LabSplit, ShardWriter, create_shard, drop_rows, read_manifest, write_manifest,
                           write_rows)


def write_split(root, count, shard_size, shape=(8, 12, 3)):
    rng = np.random.default_rng(0)
    images = rng.uniform(-50, 100, size=(count,) + shape).astype(np.float32)
    writer = ShardWriter(root, "train", shard_size)
    for i, image in enumerate(images):
        writer.add(image, f"src/{i}.png", crop=i % 2)
    writer.flush()
    write_manifest(root, writer.rows)
    return images


def test_shards_round_trip(tmp_path):
    images = write_split(tmp_path, count=10, shard_size=4)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == [
        "shard-00000.npy", "shard-00001.npy", "shard-00002.npy"]
    split = LabSplit(tmp_path, "train")
    assert len(split) == 10 and split.image_shape == (8, 12, 3) and split.sizes == [4, 4, 2]
    np.testing.assert_array_equal(split[5], images[5])
    np.testing.assert_array_equal(split[-1], images[9])
    order = [9, 0, 5, 4, 1, 9]
    np.testing.assert_array_equal(split.take(order), images[order])
    assert split.take([]).shape == (0, 8, 12, 3)
    with pytest.raises(IndexError):
        split.take([3, 10])
    with pytest.raises(IndexError):
        split[10]


def test_reading_rows_maps_no_shard_and_keeps_no_file_open(tmp_path):
    # Pages of a memory-mapped shard count in the process's resident memory once read: an epoch over mapped
    # shards would grow training's memory with the dataset. Rows are read with file reads instead.
    images = write_split(tmp_path, count=10, shard_size=3)
    split = LabSplit(tmp_path, "train")
    np.testing.assert_array_equal(split.take(np.arange(10)[::-1]), images[::-1])
    folder = str((tmp_path / "train").resolve())
    mapped = [line for line in Path("/proc/self/maps").read_text().splitlines() if folder in line]
    assert not mapped, f"shards mapped into memory: {mapped}"
    open_files = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                  if os.path.exists(f"/proc/self/fd/{fd}")]
    assert not [f for f in open_files if f.startswith(folder)]


def test_a_shard_written_in_place_by_rows_reads_back_and_rows_can_be_dropped(tmp_path):
    (tmp_path / "val").mkdir()
    path = tmp_path / "val" / "shard-00000.npy"
    create_shard(path, 5, (4, 6, 3))
    rows = np.random.default_rng(2).uniform(0, 100, (5, 4, 6, 3)).astype(np.float32)
    for i in (3, 0, 4, 1, 2):  # any order, as worker processes finish
        write_rows(path, i, rows[i:i + 1])
    np.testing.assert_array_equal(np.load(path), rows)
    with pytest.raises(ValueError, match="cannot write"):
        write_rows(path, 5, rows[:1])
    with pytest.raises(ValueError, match="cannot write"):
        write_rows(path, 0, np.zeros((1, 4, 5, 3), np.float32))
    drop_rows(path, [0, 2, 3])
    np.testing.assert_array_equal(LabSplit(tmp_path, "val").take([0, 1, 2]), rows[[0, 2, 3]])
    drop_rows(path, [])
    assert not path.exists()


def test_a_truncated_shard_is_an_error_not_garbage(tmp_path):
    write_split(tmp_path, count=4, shard_size=4)
    path = tmp_path / "train" / "shard-00000.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="shorter than its header says"):
        LabSplit(tmp_path, "train").take([3])


def test_manifest_maps_each_row_to_its_source(tmp_path):
    write_split(tmp_path, count=6, shard_size=4)
    rows = read_manifest(tmp_path, "train")
    assert [r["source"] for r in rows] == [f"src/{i}.png" for i in range(6)]
    assert rows[5]["shard"] == "train/shard-00001.npy" and rows[5]["row"] == 1 and rows[5]["crop"] == 1


def test_batches_give_lightness_and_scaled_ab(tmp_path):
    images = write_split(tmp_path, count=10, shard_size=4)
    batches = LabBatches(LabSplit(tmp_path, "train"), batch_size=4, shuffle=False)
    assert len(batches) == 3
    x, y = batches[2]
    assert x.shape == (2, 8, 12, 1) and y.shape == (2, 8, 12, 2)
    np.testing.assert_allclose(x[..., 0], images[8:, ..., 0])
    np.testing.assert_allclose(y, images[8:, ..., 1:] / 128.0, rtol=1e-6)


def test_shuffled_flipped_batches_cover_every_image_once_per_epoch(tmp_path):
    images = write_split(tmp_path, count=10, shard_size=3)
    batches = LabBatches(LabSplit(tmp_path, "train"), batch_size=4, shuffle=True, flip=True, seed=3)
    seen = np.concatenate([batches[i][0] for i in range(len(batches))])[..., 0]
    originals = {images[i, ..., 0].tobytes() for i in range(10)} | {
        images[i, :, ::-1, 0].copy().tobytes() for i in range(10)}
    assert len(seen) == 10 and all(s.tobytes() in originals for s in seen)
    flipped = sum(s.tobytes() not in {images[i, ..., 0].tobytes() for i in range(10)} for s in seen)
    assert 0 < flipped < 10
