import numpy as np

from stages.batches import LabBatches
from stages.shards import LabSplit, ShardWriter, read_manifest, write_manifest


def write_split(root, count, shard_size, shape=(8, 12, 3)):
    rng = np.random.default_rng(0)
    images = rng.uniform(-50, 100, size=(count,) + shape).astype(np.float32)
    writer = ShardWriter(root, "train", shard_size)
    for i, image in enumerate(images):
        writer.add(image, f"src/{i}.png", crop=i % 2)
    writer.flush()
    write_manifest(root, writer.rows)
    return images


def test_shards_round_trip_through_memory_maps(tmp_path):
    images = write_split(tmp_path, count=10, shard_size=4)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == [
        "shard-00000.npy", "shard-00001.npy", "shard-00002.npy"]
    split = LabSplit(tmp_path, "train")
    assert len(split) == 10 and split.image_shape == (8, 12, 3)
    assert all(isinstance(s, np.memmap) for s in split.shards)
    np.testing.assert_array_equal(split[5], images[5])
    order = [9, 0, 5, 4, 1]
    np.testing.assert_array_equal(split.take(order), images[order])


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
