"""Fresh crops every epoch: boxes drawn on the host, cut in the graph like Pillow would cut them."""

import numpy as np
import pytest
from PIL import Image
from test_shards import write_split

from colorizer.color import codes_to_lab
from colorizer.training.batches import CropBatches, EvenBatches
from colorizer.training.crops import crop_resize, draw_boxes, whole_boxes


def smooth_codes(height, width, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    planes = [127.5 + 120 * np.sin(rng.uniform(2, 9) * x + rng.uniform(2, 9) * y + rng.uniform(0, 6)) for _ in range(3)]
    return np.stack(planes, -1).round().astype(np.uint8)


def pillow_crop(codes, box, size):
    top, left, height, width, flip = box
    planes = [
        np.asarray(
            Image.fromarray(codes[..., c]).resize(
                (size[1], size[0]), Image.Resampling.BILINEAR, box=(left, top, left + width, top + height)
            ),
            np.float32,
        )
        for c in range(3)
    ]
    out = np.stack(planes, -1)
    return out[:, ::-1] if flip else out


def test_crops_cut_in_the_graph_match_pillow_and_decode_the_lab_codes():
    codes = np.stack([smooth_codes(60, 90, 0), smooth_codes(60, 90, 1), smooth_codes(60, 90, 2)])
    boxes = np.array(
        [
            [0, 0, 60, 90, 0],  # the whole photograph, shrunk: antialiased like Pillow
            [10.5, 20.25, 30, 45, 1],  # a crop at the training size's scale, mirrored
            [3, 7, 44, 66, 0],
        ],
        np.float32,
    )
    lightness, ab = crop_resize(codes, boxes, (24, 36))
    lab = np.concatenate([np.asarray(lightness), 128.0 * np.asarray(ab)], -1)
    assert lab.shape == (3, 24, 36, 3)
    for i in range(3):
        expected = codes_to_lab(pillow_crop(codes[i], boxes[i], (24, 36)))
        # Pillow rounds to whole codes (half a code of L is 0.2, of ab 0.5) after its fixed-point filter.
        np.testing.assert_allclose(lab[i], expected, atol=1.0)
        assert np.abs(lab[i] - expected).mean() < 0.3
    assert np.abs(lab[1] - codes_to_lab(pillow_crop(codes[1], boxes[1] * [1, 1, 1, 1, 0], (24, 36)))).max() > 5


def test_a_whole_box_at_the_stored_size_gives_the_stored_image():
    codes = smooth_codes(16, 24, 3)[None]
    lightness, ab = crop_resize(codes, whole_boxes(1, (16, 24)), (16, 24))
    lab = np.concatenate([np.asarray(lightness), 128.0 * np.asarray(ab)], -1)
    np.testing.assert_allclose(lab, codes_to_lab(codes), atol=1e-4)


def test_boxes_stay_inside_the_photograph_within_the_scale_range_and_flip_half_the_time():
    boxes = draw_boxes(np.random.default_rng(0), 4000, (200, 300), 0.5, flip=True)
    top, left, height, width, flip = boxes.T
    assert np.all(top >= 0) and np.all(left >= 0)
    assert np.all(top + height <= 200 + 1e-3) and np.all(left + width <= 300 + 1e-3)
    np.testing.assert_allclose(height / 200, width / 300, rtol=1e-5)  # one scale for both sides
    assert 0.5 <= (height / 200).min() < 0.52 and 0.98 < (height / 200).max() <= 1.0
    assert 0.45 < flip.mean() < 0.55
    assert not draw_boxes(np.random.default_rng(0), 100, (200, 300), 0.5, flip=False)[:, 4].any()


def test_each_epoch_shows_every_photograph_crops_per_image_times_with_fresh_crops(tmp_path):
    from colorizer.data.shards import LabSplit

    codes = write_split(tmp_path, count=10, shard_size=3, shape=(16, 24, 3))
    split = LabSplit(tmp_path, "train")
    batches = CropBatches(split, 4, shuffle=True, crops_per_image=3, min_scale=0.5, flip=True, seed=7)
    assert len(batches) == 8  # 30 crops in batches of 4

    def epoch(number, source=batches):
        source.set_epoch(number)
        items = [source[i] for i in range(len(source))]
        return np.concatenate([b["codes"] for b in items]), np.concatenate([b["boxes"] for b in items])

    seen, boxes = epoch(0)
    rows = [next(i for i in range(10) if np.array_equal(c, codes[i])) for c in seen]
    assert sorted(rows) == sorted(list(range(10)) * 3)
    again, boxes_again = epoch(
        0, CropBatches(split, 4, shuffle=True, crops_per_image=3, min_scale=0.5, flip=True, seed=7, workers=2)
    )
    np.testing.assert_array_equal(again, seen)
    np.testing.assert_array_equal(boxes_again, boxes)  # the same seed: the same crops, whoever reads them
    _, next_boxes = epoch(1)
    assert not np.array_equal(next_boxes, boxes), "every epoch draws new crops"
    resumed = CropBatches(split, 4, shuffle=True, crops_per_image=3, min_scale=0.5, flip=True, seed=7, epoch=1, skip=5)
    assert len(resumed) == 3
    np.testing.assert_array_equal(np.concatenate([resumed[i]["boxes"] for i in range(3)]), next_boxes[20:])


def test_validation_batches_are_whole_photographs_in_order_with_the_same_hints_every_epoch(tmp_path):
    from colorizer.data.shards import LabSplit

    codes = write_split(tmp_path, count=5, shard_size=2, shape=(8, 8, 3))
    batches = CropBatches(LabSplit(tmp_path, "train"), 2, shuffle=False, crops_per_image=4, flip=True)
    assert len(batches) == 3
    last = batches[2]
    np.testing.assert_array_equal(last["codes"], codes[4:])
    np.testing.assert_array_equal(last["boxes"], whole_boxes(1, (8, 8)))

    # A hint-taking model's validation scores it with hints too: points, drawn the same every epoch.
    hints = {"size": (8, 8), "stop": 0.125, "sides": (1, 3), "spread": 0.25}
    validation = CropBatches(LabSplit(tmp_path, "train"), 4, shuffle=False, hints=hints, seed=3)
    points = np.concatenate([validation[i]["points"] for i in range(len(validation))])
    assert points[..., 3].sum() > 0, "validation crops get hint points"
    validation.set_epoch(4)
    np.testing.assert_array_equal(np.concatenate([validation[i]["points"] for i in range(len(validation))]), points)
    training = CropBatches(LabSplit(tmp_path, "train"), 4, shuffle=True, hints=hints, seed=3)
    first = training[0]["points"]
    training.set_epoch(1)
    assert not np.array_equal(training[0]["points"], first), "training draws new points every epoch"


def test_even_batches_drop_the_remainder_that_cannot_be_split_between_devices(tmp_path):
    from colorizer.data.shards import LabSplit

    write_split(tmp_path, count=7, shard_size=4, shape=(8, 8, 3))
    batches = EvenBatches(LabSplit(tmp_path, "train"), 4, replicas=2, shuffle=False)
    assert len(batches) == 2 and len(batches[1]["boxes"]) == 2  # 7 images: 4, then 3 cut to 2
    with pytest.raises(ValueError, match="cannot be split evenly between 2 devices"):
        EvenBatches(LabSplit(tmp_path, "train"), 3, replicas=2)
