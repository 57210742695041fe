"""Colour hints: the sidecar format and its errors, hint maps, the simulated and swept points, and a network
that learns to follow them (trained here on generated scenes whose colours lightness cannot tell)."""

import json

import numpy as np
import pytest
from PIL import Image

from colorizer import hints as H
from colorizer.apps import colorize as C
from colorizer.color import AB_SCALE, srgb_to_lab
from colorizer.evaluation import hint_sweep as S
from colorizer.inference.photo import read_photo
from colorizer.training import simulated_hints as T
from conftest import scenes

RED = "#c82828"


def write(path, data):
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# ---------------------------------------------------------------------------------------------------------
# The sidecar


def test_a_sidecar_is_read_with_its_colours_and_sizes(tmp_path):
    path = write(
        tmp_path / "photo.jpg.hints.json",
        {"points": [{"x": 120, "y": 64, "color": "#a03c28"}, {"x": 3, "y": 5.5, "color": "#0f0", "size": 3}]},
    )
    assert H.sidecar_of(tmp_path / "photo.jpg") == path and H.is_sidecar(path)
    first, second = H.read_sidecar(path, 200, 400)
    lab = srgb_to_lab(np.array([[[0xA0, 0x3C, 0x28]]], np.uint8))[0, 0]
    assert first.ab == pytest.approx((lab[1], lab[2]), abs=1e-4) and first.ab[0] > 30  # red: a > 0
    assert first.size == H.default_size(200, 400) == 10  # 1/40 of the long side
    assert (second.x, second.y, second.size) == (3, 5.5, 3) and second.ab[0] < -50  # green: a < 0
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark, as some editors write
    assert H.read_sidecar(path, 200, 400)[0] == first


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"points": [{"x": 1, "y": 2, "color": "#fff"}', r"not valid JSON: .* line 1 column"),
        (
            {"points": [{"x": 1, "y": 2, "color": "#fff"}, {"x": 400, "y": 2, "color": "#fff"}]},
            r"point 2: \(400, 2\) is outside the photograph, which is 400x200",
        ),
        ({"points": [{"x": 1, "y": -1, "color": "#fff"}]}, r"point 1: \(1, -1\) is outside"),
        ({"points": [{"x": 1, "y": 2, "color": "red"}]}, r"point 1: color 'red' is not an sRGB hex colour"),
        ({"points": [{"x": 1, "y": 2, "color": "#12345"}]}, r"point 1: color '#12345'"),
        ({"points": [{"x": 1, "y": 2, "colour": "#fff"}]}, r"point 1: unknown key 'colour'"),
        ({"points": [{"x": 1, "y": 2}]}, r"point 1: no 'color'"),
        ({"points": [{"x": "1", "y": 2, "color": "#fff"}]}, r"point 1: x '1' is not a number"),
        ({"points": [{"x": 1, "y": 2, "color": "#fff", "size": 0}]}, r"point 1: size 0 is below 1 pixel"),
        ({"point": []}, r"unknown key 'point'"),
        ([1, 2], r"expected \{\"points\""),
    ],
)
def test_bad_hints_name_the_file_and_the_point(tmp_path, content, message):
    path = write(tmp_path / "p.png.hints.json", content)
    with pytest.raises(H.BadHints, match=message) as raised:
        H.read_sidecar(path, 200, 400)
    assert str(raised.value).startswith(str(path))


# ---------------------------------------------------------------------------------------------------------
# Hint maps: where the squares land, in the network's input


def test_a_hint_map_scales_each_square_to_the_working_size_and_averages_overlaps():
    red, blue = (60.0, 40.0), (0.0, -60.0)
    hints = [H.Hint(100, 50, red, 20), H.Hint(105, 50, blue, 20), H.Hint(0, 0, red, 1)]
    out = H.hint_map(hints, (200, 400), (100, 200))  # half the size
    mask = out[..., 2]
    assert out.shape == (100, 200, 3) and set(np.unique(mask)) == {0.0, 1.0}
    # The first square spans x 90..110, y 40..60 of the photograph: 45..55 and 20..30 here.
    assert mask[20:30, 45:55].all() and not mask[19, 50] and not mask[30, 50] and not mask[25, 44]
    np.testing.assert_allclose(out[25, 46, :2] * AB_SCALE, red, atol=1e-4)  # only the first square
    np.testing.assert_allclose(out[25, 50, :2] * AB_SCALE, np.mean([red, blue], 0), atol=1e-4)  # both
    np.testing.assert_allclose(out[25, 56, :2] * AB_SCALE, blue, atol=1e-4)  # only the second
    # The second spans x 95..115: 47.5..57.5 here, so columns 47..57 (a pixel it touches is in). Together
    # 13 columns of 10 rows, and a 1-pixel square stays 1 pixel, not 0.
    assert mask[0, 0] and mask.sum() == 13 * 10 + 1


def test_training_paints_the_truths_mean_colour_exactly_as_a_users_hint_map_would():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-0.5, 0.5, (3, 24, 32, 2)).astype(np.float32)
    points = T.draw_training_points(rng, 3, (24, 32), stop=0.1, sides=(1, 9), spread=0.25)
    painted = np.asarray(T.paint_from_truth(ab, points))
    for n in range(3):
        hints = []
        for top, left, side, valid in points[n]:
            if valid:
                patch = ab[n, int(top) : int(top + side), int(left) : int(left + side)] * AB_SCALE
                hints.append(H.Hint(left + side // 2, top + side // 2, tuple(patch.reshape(-1, 2).mean(0)), side))
        np.testing.assert_allclose(painted[n], H.hint_map(hints, (24, 32), (24, 32)), atol=1e-5)
        assert painted[n, ..., 2].any() == bool(hints)


def test_simulated_points_follow_zhang_et_als_draw():
    rng = np.random.default_rng(1)
    points = T.draw_training_points(rng, 4000, (64, 48), stop=0.125, sides=(1, 9), spread=0.25)
    counts = points[..., 3].sum(axis=1)
    assert 0.10 < np.mean(counts == 0) < 0.15 and 6.5 < counts.mean() < 7.5  # 12.5% none, 7 on average
    valid = points[points[..., 3] > 0]
    assert valid[:, 2].min() == 1 and valid[:, 2].max() == 9
    assert (valid[:, 0] >= 0).all() and (valid[:, 0] + valid[:, 2] <= 64).all()
    assert (valid[:, 1] + valid[:, 2] <= 48).all()
    assert abs(np.mean(valid[:, 0] + valid[:, 2] / 2) - 32) < 1.5  # around the centre
    again = T.draw_training_points(np.random.default_rng(1), 4000, (64, 48), 0.125, (1, 9), 0.25)
    np.testing.assert_array_equal(points, again)  # seeded: a resumed training draws the same hints
    none = T.draw_training_points(rng, 50, (64, 48), stop=1.0, sides=(1, 9), spread=0.25)
    assert not none[..., 3].any()


def test_the_sweeps_n_points_are_the_first_of_its_n_plus_1_and_each_photograph_has_its_own():
    fifty = S.sweep_points(S.photo_seed("a.png"), 50, (256, 200))
    for n in (0, 1, 2, 5, 10, 20):
        np.testing.assert_array_equal(S.sweep_points(S.photo_seed("a.png"), n, (256, 200)), fifty[:n])
    assert not np.array_equal(S.sweep_points(S.photo_seed("b.png"), 5, (256, 200)), fifty[:5])
    assert (fifty >= 0).all() and (fifty[:, 0] <= 250).all() and (fifty[:, 1] <= 194).all()
    assert abs(fifty[:, 0].mean() + 3 - 128) < 20


def test_nearest_point_propagation_gives_each_pixel_its_nearest_points_colour():
    lab = np.zeros((20, 30, 3), np.float32)
    lab[:, :15, 1], lab[:, 15:, 2] = 40.0, -30.0
    hints = S.truth_hints(lab, np.array([[7, 2], [7, 22]]))
    assert hints[0].ab == pytest.approx((40, 0)) and hints[1].ab == pytest.approx((0, -30))
    ab = S.nearest_point_colours((20, 30), hints)
    np.testing.assert_allclose(ab[0, 0], (40, 0), atol=1e-4)
    np.testing.assert_allclose(ab[19, 29], (0, -30), atol=1e-4)
    assert not S.nearest_point_colours((20, 30), []).any()


# ---------------------------------------------------------------------------------------------------------
# The sidecar in colorize: read at the right place, EXIF rotation included


def test_a_sidecar_is_placed_on_the_photograph_as_displayed_after_its_exif_rotation(tmp_path):
    stored = np.full((40, 80), 128, np.uint8)  # stored landscape; EXIF orientation 6 displays it portrait
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(photo, exif=exif)
    # Displayed it is 40 wide and 80 high; a point at the top-left corner of what the user sees.
    write(H.sidecar_of(photo), {"points": [{"x": 2, "y": 3, "color": RED, "size": 4}]})
    read = read_photo(photo, 256, H.sidecar_of(photo))
    assert read.small.shape == (80, 40) and read.hints.shape == (80, 40, 3)
    ys, xs = np.nonzero(read.hints[..., 2])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (1, 4, 0, 3)
    assert read.hints[2, 2, 0] * AB_SCALE > 30
    with pytest.raises(H.BadHints, match=r"point 1: \(60, 3\) is outside the photograph, which is 40x80"):
        write(H.sidecar_of(photo), {"points": [{"x": 60, "y": 3, "color": RED}]})  # inside the stored 80x40
        read_photo(photo, 256, H.sidecar_of(photo))


# ---------------------------------------------------------------------------------------------------------
# A network that follows hints


def test_a_network_trained_with_simulated_hints_turns_a_hinted_grey_square_towards_the_hint(hint_model, tmp_path):
    """colorize with a sidecar: the hinted square turns red and the background across its edge does not; without
    the sidecar (or with --no-hints) the square stays grey-ish; a hint-free model refuses hints clearly."""
    lightness = np.full((32, 32), 50.0, np.float32)
    lightness[8:24, 8:24] = 75.0
    gray = np.asarray(
        Image.fromarray((np.clip(((lightness + 16) / 116) ** 3, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8))
    )
    photo = tmp_path / "in" / "square.png"
    photo.parent.mkdir()
    Image.fromarray(gray).save(photo)
    write(H.sidecar_of(photo), {"points": [{"x": 15, "y": 15, "color": RED, "size": 3}]})
    plain = tmp_path / "in" / "plain.png"
    Image.fromarray(gray).save(plain)

    assert C.main([str(photo.parent), "-o", str(tmp_path / "out"), "--model", str(hint_model), "-q"]) == 0
    from skimage import color as skcolor

    hinted = skcolor.rgb2lab(np.asarray(Image.open(tmp_path / "out" / "square.png").convert("RGB")))
    alone = skcolor.rgb2lab(np.asarray(Image.open(tmp_path / "out" / "plain.png").convert("RGB")))
    assert hinted[10:22, 10:22, 1].mean() > 25  # the whole square, not only the hinted pixels, is red
    assert abs(alone[10:22, 10:22, 1:]).mean() < 12  # no hint, no idea: close to grey
    assert hinted[1:6, 1:6, 1].mean() < 0.4 * hinted[10:22, 10:22, 1].mean()  # the edge stops the colour

    assert C.main([str(photo), "-o", str(tmp_path / "none"), "--model", str(hint_model), "-q", "--no-hints"]) == 0
    ignored = skcolor.rgb2lab(np.asarray(Image.open(tmp_path / "none" / "square.png").convert("RGB")))
    np.testing.assert_allclose(ignored, alone, atol=1)

    other = write(tmp_path / "other.json", {"points": [{"x": 15, "y": 15, "color": "#3060c0", "size": 3}]})
    assert (
        C.main([str(plain), "-o", str(tmp_path / "blue"), "--model", str(hint_model), "-q", "--hints", str(other)]) == 0
    )
    blue = skcolor.rgb2lab(np.asarray(Image.open(tmp_path / "blue" / "plain.png").convert("RGB")))
    assert blue[10:22, 10:22, 2].mean() < -20  # --hints FILE: its blue, not the sidecar's red


def test_bad_hints_skip_that_photograph_with_one_line_and_the_rest_go_on(hint_model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.full((24, 24), 120, np.uint8)).save(folder / name)
    write(H.sidecar_of(folder / "a.png"), {"points": [{"x": 5, "y": 5, "color": RED}, {"x": 30, "y": 5, "color": RED}]})
    write(H.sidecar_of(folder / "b.png"), {"points": [{"x": 5, "y": 5, "color": RED}]})
    assert C.main([str(folder), "-o", str(tmp_path / "out"), "--model", str(hint_model), "-q"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "a.png" in line]
    assert len(lines) == 1 and "point 2: (30, 5) is outside the photograph, which is 24x24" in lines[0]
    assert str(H.sidecar_of(folder / "a.png")) in lines[0]
    assert "hints.json" not in err.replace(lines[0], "")  # a sidecar is never taken for a photograph
    assert "2 of 3 photographs coloured" in err and "(1 with hints)" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png", "c.png"]


def test_hints_for_a_model_without_a_hint_input_get_a_clear_error(tmp_path, capsys):
    import keras

    from colorizer.network.builder import build

    keras.utils.set_random_seed(0)
    path = tmp_path / "plain.keras"
    build("unet", width=4, head="regression").save(path)
    photo = tmp_path / "in" / "a.png"
    photo.parent.mkdir()
    Image.fromarray(np.full((24, 24), 120, np.uint8)).save(photo)
    Image.fromarray(np.full((24, 24), 120, np.uint8)).save(photo.parent / "b.png")
    sidecar = write(H.sidecar_of(photo), {"points": [{"x": 5, "y": 5, "color": RED}]})
    assert C.main([str(photo), "-o", str(tmp_path / "o1"), "--model", str(path), "-q", "--hints", str(sidecar)]) == 2
    assert "takes no hints" in capsys.readouterr().err
    assert C.main([str(photo.parent), "-o", str(tmp_path / "o2"), "--model", str(path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "skipped" in err and "has hints" in err and "--no-hints" in err and "1 of 2 photographs" in err
    assert C.main([str(photo.parent), "-o", str(tmp_path / "o3"), "--model", str(path), "-q", "--no-hints"]) == 0
    assert (
        C.main([str(photo.parent), "-o", str(tmp_path / "o4"), "--model", str(path), "-q", "--hints", str(sidecar)])
        == 2
    )  # --hints names one photograph's


# ---------------------------------------------------------------------------------------------------------
# Colour suggestions


def test_suggestions_are_the_distributions_heaviest_colours_at_the_point(tmp_path, capsys):
    """A two-network ensemble whose every pixel predicts 60% a red bin, 30% a green one and 10% spread over the
    rest: the palette leads with those two, with their probabilities, at the photograph's lightness."""
    import keras

    from colorizer.inference.suggestions import suggest
    from colorizer.network import ab_bins, readout
    from colorizer.network.builder import build

    keras.utils.set_random_seed(0)
    model = build("unet", width=4, head="distribution", global_context=True, members=2, with_hints=True)
    centres = ab_bins.centers()
    red, green = (int(np.argmin(((centres - c) ** 2).sum(1))) for c in ((60, 40), (-50, 50)))
    probabilities = np.full(len(centres), 0.1 / (len(centres) - 2))
    probabilities[red], probabilities[green] = 0.6, 0.3
    for i in range(2):
        layer = readout.member_logits(model, i)
        kernel, _ = layer.get_weights()
        layer.set_weights([np.zeros_like(kernel), np.log(probabilities).astype(np.float32)])
    lightness = np.full((32, 48), 60.0, np.float32)
    found = suggest(model, lightness, 40, 20)
    assert 2 <= len(found) <= 9 and found[0].probability >= found[1].probability
    assert np.hypot(*(np.subtract(found[0].ab, centres[red]))) < 8 and 0.6 <= found[0].probability < 0.7
    assert np.hypot(*(np.subtract(found[1].ab, centres[green]))) < 8 and 0.3 <= found[1].probability < 0.4
    assert sum(s.probability for s in found) <= 1.0 + 1e-6
    lab = srgb_to_lab(np.array([[[int(found[0].colour[i : i + 2], 16) for i in (1, 3, 5)]]], np.uint8))[0, 0]
    assert abs(lab[0] - 60) < 1.5  # at the photograph's lightness

    path = tmp_path / "ensemble.keras"
    model.save(path)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 96), 150, np.uint8)).save(photo)
    assert C.main(["--suggest", "80,40", str(photo), "--model", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("#") and float(lines[0].split()[1]) == pytest.approx(found[0].probability, abs=0.01)
    assert C.main(["--suggest", "96,40", str(photo), "--model", str(path)]) == 2
    assert "outside" in capsys.readouterr().err


def test_evaluate_scores_the_sweep_beside_the_nearest_point_propagation(hint_model):
    """evaluate's curve on generated scenes: the model given points colours better than without, the
    propagation with no points is the grayscale input, and a model without a hint input gets no curve."""
    from colorizer.color import gray_lab
    from colorizer.evaluation.hint_sweep import hint_curve
    from colorizer.evaluation.quality import psnr_of_lab
    from colorizer.inference.loading import load_model as load

    class Split:  # what evaluate reads of a LabSplit
        def __init__(self, lab):
            self.lab = lab

        def __len__(self):
            return len(self.lab)

        def take(self, rows):
            return self.lab[list(rows)]

    lab = scenes(np.random.default_rng(5), 6)
    test, names = Split(lab), [f"scene-{i}.png" for i in range(6)]
    rows = hint_curve(load(hint_model), test, names, [0, 5, 50], batch_size=4)
    assert [r["points"] for r in rows] == [0, 5, 50], rows
    # (50 overlapping 6x6 squares cover these 32x32 scenes whole: more than the tiny model was trained on.)
    assert rows[1]["psnr"] > rows[0]["psnr"] + 2 and rows[2]["psnr"] > rows[0]["psnr"] + 2
    grey = np.mean([psnr_of_lab(t, gray_lab(t[..., :1])) for t in lab])
    assert rows[0]["nearest_point_psnr"] == pytest.approx(grey, abs=1e-3)
    assert rows[2]["nearest_point_psnr"] > rows[0]["nearest_point_psnr"] + 3

    import keras

    from colorizer.network.builder import build

    keras.utils.set_random_seed(0)
    plain = hint_curve(build("unet", width=4, head="regression"), test, names, [0, 5], batch_size=4)
    assert plain[0]["psnr"] is not None and plain[1]["psnr"] is None
    assert plain[1]["nearest_point_psnr"] == rows[1]["nearest_point_psnr"]
