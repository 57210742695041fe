import json
import os

import numpy as np
import pytest
from PIL import Image

from colorizer.data.preparation import prepare
from colorizer.data.shards import LabSplit, read_manifest
from colorizer.data.splits import assign
from conftest import prepare_config, write_photos


def config(folder, **overrides):
    return prepare_config(
        folder,
        **{
            "train_size": (16, 24),
            "crop_scale": 0.5,
            "split_seed": 0,
            "shard_size": 5,
            "splits": {"train": 0.6, "val": 0.2, "test": 0.2},
            "workers": 2,
            **overrides,
        },
    )


def test_prepare_writes_shards_by_split_with_manifest(tmp_path):
    write_photos(tmp_path / "photos" / "nested" / "deeper", 10, ext="jpg")
    write_photos(tmp_path / "photos", 10, start_seed=10, ext="png")
    out = tmp_path / "prepared"
    report = prepare(config(tmp_path / "photos"), out)
    assert report["found"] == report["used"] == 20 and report["skipped"] == 0
    rows = read_manifest(out)
    for row in rows:
        assert row["split"] == assign(row["source"], config(tmp_path / "photos")["splits"], 0)
    assert {r["source"] for r in rows if r["source"].startswith("nested/deeper/")}
    train, val, test = (LabSplit(out, s) for s in ("train", "val", "test"))
    assert len(train) == report["train_images"], "each training photograph is stored once"
    assert len(val) == report["val_images"] and len(test) == report["test_images"]
    # Training photographs at the size their smallest crop (crop_scale 0.5) needs; val at size; test at test_size.
    assert train.image_shape == (32, 48, 3) and report["train_stored_size"] == [32, 48]
    assert val.image_shape == (16, 24, 3) and test.image_shape == (32, 32, 3)
    assert all(len(s) <= 5 for s in train.shards)
    assert all(s.dtype == np.uint8 for split in (train, val, test) for s in split.shards), "one byte a channel"
    lab = train.take(np.arange(len(train)))
    assert lab.dtype == np.float32
    assert 0 <= lab[..., 0].min() and lab[..., 0].max() <= 100 and np.abs(lab[..., 1:]).max() > 5


def test_prepare_reads_every_format_and_applies_exif_orientation(tmp_path):
    folder = tmp_path / "photos"
    for i, ext in enumerate(["jpg", "jpeg", "png", "tif", "bmp", "webp"]):
        write_photos(folder, 1, start_seed=i, ext=ext)
    # A landscape JPEG whose EXIF says "rotate 90": it is a portrait photograph.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (60, 20), (200, 30, 30)).save(folder / "rotated.jpg", exif=exif)
    # Formats known by their content, whatever the name: an animated GIF (its first frame), a PPM, a JPEG
    # without an extension; and a file that is no image is listed as skipped, not passed over.
    frames = [Image.new("RGB", (24, 16), colour) for colour in ((250, 200, 0), (0, 0, 250))]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (24, 16), (0, 150, 0)).save(folder / "plain.ppm")
    Image.new("RGB", (24, 16), (0, 150, 150)).save(folder / "IMG_0001", format="JPEG")
    (folder / "notes.txt").write_text("taken in 1950")
    out = tmp_path / "prepared"
    cfg = config(folder, train_size=(16, 16), test_size=(16, 16), splits={"train": 1.0, "val": 0.0, "test": 0.0})
    with pytest.raises(ValueError, match="split val, test got no image"):
        prepare(cfg, out)
    assert not out.exists(), "a failed prepare must leave no output behind"

    from colorizer.data.images import read_rgb

    assert read_rgb(folder / "rotated.jpg").size == (20, 60)
    report = prepare(config(folder, splits={"train": 0.34, "val": 0.33, "test": 0.33}, split_seed=0), out)
    assert report["used"] == 10 and report["skipped_files"] == [
        {"file": "notes.txt", "reason": "not an image Pillow can identify"}
    ]
    split = next(r["split"] for r in read_manifest(out) if r["source"] == "animated.gif")
    index = [r["source"] for r in read_manifest(out, split)].index("animated.gif")
    first_frame = LabSplit(out, split)[index]
    assert first_frame[..., 2].mean() > 40, "the GIF's first frame (yellow) is what was prepared"


def test_unreadable_files_are_skipped_and_listed(tmp_path):
    folder = tmp_path / "photos"
    write_photos(folder, 9)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture")
    good = (folder / "photo_000.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    Image.new("1", (20000, 20000)).save(folder / "bomb.png")
    (folder / os.fsdecode(b"caf\xe9.png")).write_bytes(good)  # a Latin-1 name: not valid UTF-8
    report = prepare(config(folder, splits={"train": 0.5, "val": 0.25, "test": 0.25}), tmp_path / "out")
    reasons = {s["file"]: s["reason"] for s in report["skipped_files"]}
    assert set(reasons) == {"empty.png", "notes.jpg", "truncated.png", "bomb.png", "caf\\xe9.png"}
    assert reasons["empty.png"] == "empty file"
    assert "decompression-bomb" in reasons["bomb.png"]
    assert reasons["caf\\xe9.png"] == "the file name is not valid UTF-8 (rename it)"
    assert report["found"] == 14 and report["used"] == 9 and report["skipped"] == 5
    json.dumps(report, ensure_ascii=False).encode("utf-8")


def test_a_folder_without_usable_images_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jpg").write_text("nope")
    with pytest.raises(ValueError, match="no usable image in folder .*junk"):
        prepare(config(folder), tmp_path / "out")
    (folder / "a.jpg").unlink()
    with pytest.raises(ValueError, match="no files found in folder .*junk"):
        prepare(config(folder), tmp_path / "out")


def test_adding_images_keeps_existing_images_in_their_split(tmp_path):
    folder = tmp_path / "photos"
    write_photos(folder, 10)
    prepare(config(folder), tmp_path / "a")
    before = {r["source"]: r["split"] for r in read_manifest(tmp_path / "a")}
    write_photos(folder, 10, start_seed=50)
    prepare(config(folder), tmp_path / "b")
    after = {r["source"]: r["split"] for r in read_manifest(tmp_path / "b")}
    assert all(after[name] == split for name, split in before.items())
    assert len(after) == 20


def test_a_test_subfolder_is_the_test_split_and_the_rest_is_train_and_val(tmp_path):
    folder = tmp_path / "photos"
    write_photos(folder / "mine", 12)
    write_photos(folder / "heldout", 3, start_seed=40)
    out = tmp_path / "prepared"
    report = prepare(config(folder, test_subfolder="heldout", splits={"train": 0.5, "val": 0.3, "test": 0.2}), out)
    rows = read_manifest(out)
    assert {r["source"] for r in rows if r["split"] == "test"} == {f"heldout/photo_{i:03d}.png" for i in (40, 41, 42)}
    assert all(r["source"].startswith("mine/") for r in rows if r["split"] != "test")
    assert report["train_images"] + report["val_images"] == 12 and report["val_images"] > 0
    assert json.loads((out / "settings.json").read_text())["test_subfolder"] == "heldout"


def test_a_missing_test_subfolder_is_named(tmp_path):
    from colorizer.data.preparation import check_params
    from colorizer.params import ParamError

    write_photos(tmp_path / "photos", 1)
    params = {
        "images": str(tmp_path / "photos"),
        "train_size": [16, 16],
        "test_size": [16, 16],
        "crop_scale": 0.5,
        "splits": {"train": 0.6, "val": 0.2, "test": 0.2},
        "test_subfolder": "cbsd68",
        "split_seed": 0,
        "shard_size": 4,
        "workers": 0,
    }
    with pytest.raises(ParamError, match="prepare.test_subfolder: folder .*cbsd68' does not exist"):
        check_params(params)
    params["test_subfolder"] = None
    assert check_params(params)["test_subfolder"] is None


def test_linked_folders_are_followed_once(tmp_path):
    from colorizer.data.images import find_images

    write_photos(tmp_path / "elsewhere", 2)
    folder = tmp_path / "photos"
    write_photos(folder, 1)
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    (folder / "loop").symlink_to(folder)
    assert [p.as_posix() for p in find_images(folder)] == [
        "linked/photo_000.png",
        "linked/photo_001.png",
        "photo_000.png",
    ]


def test_every_manifest_row_holds_its_source_even_around_skipped_files(tmp_path):
    # Unreadable files between readable ones leave rows that prepare must close up: each manifest row must
    # still hold the Lab of the image it names, and 1 or 3 worker processes must write the same bytes.
    from colorizer.color import lab_to_codes, srgb_to_lab
    from colorizer.data.images import read_rgb, resize
    from colorizer.data.preparation import split_size

    folder = tmp_path / "photos"
    write_photos(folder, 14)
    for i in (2, 5, 6, 11):
        (folder / f"photo_{i:03d}.png").write_bytes(b"broken")
    cfg = config(folder, shard_size=4, splits={"train": 0.5, "val": 0.25, "test": 0.25})
    one, three = tmp_path / "one", tmp_path / "three"
    report = prepare(dict(cfg, workers=1), one)
    assert report["skipped"] == 4 and report["used"] == 10
    prepare(dict(cfg, workers=3), three)
    rows = read_manifest(one)
    assert rows == read_manifest(three)
    assert len(rows) == report["train_images"] + report["val_images"] + report["test_images"]
    for split in ("train", "val", "test"):
        a, b = LabSplit(one, split), LabSplit(three, split)
        np.testing.assert_array_equal(a.take(np.arange(len(a))), b.take(np.arange(len(b))))
        assert all(len(s) <= 4 for s in a.shards)
    for row in rows:
        shard = np.load(one / row["shard"])
        expected = srgb_to_lab(resize(read_rgb(folder / row["source"]), split_size(row["split"], cfg)))
        np.testing.assert_array_equal(shard[row["row"]], lab_to_codes(expected))
    broken = {f"photo_{i:03d}.png" for i in (2, 5, 6, 11)}
    assert not broken & {r["source"] for r in rows}


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_that_keeps_the_output_sharp(tmp_path):
    from colorizer.color import srgb_to_lab
    from colorizer.data.images import read_rgb, resize
    from colorizer.data.preparation import decode_size

    folder = tmp_path / "photos"
    folder.mkdir()
    big = Image.fromarray(
        np.repeat(np.repeat(np.asarray(Image.open(write_photos(tmp_path / "small", 1, size=(96, 128))[0])), 8, 0), 8, 1)
    )
    big.save(folder / "big.jpg", quality=95)  # 1024x768
    assert read_rgb(folder / "big.jpg", at_least=100).size == (256, 192)  # 1/4: both sides stay >= 100
    assert read_rgb(folder / "big.jpg", at_least=300).size == (512, 384)  # 1/2
    assert read_rgb(folder / "big.jpg", at_least=400).size == (1024, 768)  # 1/2 would make 384 < 400
    assert read_rgb(folder / "big.jpg").size == (1024, 768)
    cfg = config(folder, train_size=(48, 64), test_size=(48, 64))
    assert decode_size("test", cfg) == 64 and decode_size("train", cfg) == 128  # crop_scale 0.5
    full = srgb_to_lab(resize(read_rgb(folder / "big.jpg"), (48, 64)))
    reduced = srgb_to_lab(resize(read_rgb(folder / "big.jpg", at_least=decode_size("test", cfg)), (48, 64)))
    assert not np.array_equal(full, reduced)
    assert np.abs(full - reduced).mean() < 1.0, "the reduced decode must give (nearly) the same picture"
