from pathlib import Path

import keras
import numpy as np
import pytest

from colorizer.color import AB_SCALE
from colorizer.network import readout
from colorizer.network.ab_bins import centers
from colorizer.network.builder import CONTEXT_OUT, build
from colorizer.network.follow_hints import FollowHints
from colorizer.network.layers import BilinearEnlarge, GuidedEnlarge, Saturation

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("arch", ["seed", "unet"])
def test_networks_map_raw_lightness_to_ab_in_unit_range(arch):
    model = build(arch, width=4)
    lightness = np.random.default_rng(0).uniform(0, 100, size=(2, 40, 56, 1)).astype(np.float32)
    ab = np.asarray(model.predict(lightness, verbose=0))
    assert ab.shape == (2, 40, 56, 2)
    assert np.abs(ab).max() <= 1.0
    assert model.layers[-2].activation.__name__ == "tanh"
    assert isinstance(readout.saturation(model), Saturation) and model.layers[-1] is readout.saturation(model)


def test_the_distribution_head_reads_out_ab_at_full_resolution():
    model = build("unet", width=4, head="distribution")
    lightness = np.random.default_rng(0).uniform(0, 100, size=(2, 40, 56, 1)).astype(np.float32)
    ab = np.asarray(model.predict(lightness, verbose=0))
    assert ab.shape == (2, 40, 56, 2) and np.abs(ab).max() <= 1.0
    assert readout.logits(model).output.shape[-1] == len(centers())
    with pytest.raises(ValueError, match="only the regression head"):
        build("seed", head="distribution")


def test_seed_network_is_the_articles():
    model = build("seed")
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [8, 8, 16, 16, 32, 32, 32, 16, 2]
    assert [c.strides for c in convs] == [(2, 2), (1, 1), (1, 1), (2, 2), (1, 1), (2, 2), (1, 1), (1, 1), (1, 1)]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    assert sum(layer.__class__.__name__ == "UpSampling2D" for layer in model.layers) == 3


def test_unet_has_skip_connections():
    model = build("unet", width=8)
    assert sum(layer.__class__.__name__ == "Concatenate" for layer in model.layers) == 3


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="unknown arch 'resnet'"):
        build("resnet")


@pytest.mark.parametrize("arch, head", [("seed", "regression"), ("unet", "regression"), ("unet", "distribution")])
def test_one_model_predicts_one_size_after_another(arch, head):
    model = build(arch, width=4, head=head)
    for height, width in [(16, 24), (40, 32), (8, 64)]:
        ab = np.asarray(model.predict(np.full((1, height, width, 1), 50.0, np.float32), verbose=0))
        assert ab.shape == (1, height, width, 2)


def test_global_context_lets_the_whole_image_decide_each_colour():
    """A change in one corner reaches the opposite corner only through the global context (far beyond
    the convolutions' reach at 256x256), at any image size."""
    lightness = np.full((1, 256, 256, 1), 50.0, np.float32)
    far = lightness.copy()
    far[:, 192:, 192:] = 90.0
    keras.utils.set_random_seed(0)  # some random weights leave the context's effect below 1e-7: seeded
    for context in (False, True):
        model = build("unet", width=4, head="distribution", global_context=context)
        corner = [np.asarray(model.predict(x, verbose=0))[0, :16, :16] for x in (lightness, far)]
        assert (not np.allclose(*corner, rtol=0, atol=1e-7)) == context
        assert model.predict(lightness[:, :40, :56], verbose=0).shape == (1, 40, 56, 2)


def colour_spread(model, lightness: float, size=(64, 96)) -> float:
    """The largest distance in ab (Lab units) between any pixel's colour and the centre's, for a photograph
    of one lightness."""
    from colorizer.inference.predict import predict_ab

    ab = predict_ab(model, np.full((1, *size, 1), lightness, np.float32))[0] * AB_SCALE  # no hints
    return float(np.linalg.norm(ab - ab[size[0] // 2, size[1] // 2], axis=-1).max())


@pytest.mark.parametrize("head", ["regression", "distribution"])
def test_a_uniform_photograph_gets_one_colour_up_to_its_borders(head):
    """Zero padding showed every convolution a frame of mid-grey around the photograph, and the distribution
    head's enlarging lost weight along the borders: a fringe of another colour. The unet of before, with
    these random weights, coloured a uniform photograph's borders 10 to 13 Lab units away from its centre."""
    keras.utils.set_random_seed(1)
    model = build("unet", width=4, head=head, global_context=True)
    for lightness in (15.0, 50.0, 85.0):
        assert colour_spread(model, lightness) < 2.0, lightness


def test_the_colour_is_enlarged_along_the_photographs_edges():
    """The distribution head predicts colour at 1/4 of the size. Enlarged bilinearly, a colour edge becomes a
    ramp 8 pixels wide whatever the photograph: here a red-to-blue edge at column 34 misses by 0.26 (34 Lab
    units) beside it. Guided by the full-resolution lightness, the colour keeps the lightness's edge."""
    lightness = np.full((1, 32, 64, 1), 30.0, np.float32)
    lightness[:, :, 34:] = 70.0
    red_left = np.where(lightness < 50, 0.3, -0.3).astype(np.float32)
    ab = np.concatenate([red_left, -red_left], -1)
    small = ab.reshape(1, 8, 4, 16, 4, 2).mean(axis=(2, 4))  # what a perfect 1/4-size prediction holds
    assert np.abs(np.asarray(BilinearEnlarge(4)(small)) - ab).max() > 0.25
    assert np.abs(np.asarray(GuidedEnlarge(4)([small, lightness])) - ab).max() < 0.01
    # radius 0 fits no slope: the bilinear enlarging, exactly.
    np.testing.assert_array_equal(GuidedEnlarge(4, radius=0)([small, lightness]), BilinearEnlarge(4)(small))
    model = build("unet", width=4, head="distribution")
    assert isinstance(readout.enlarge(model), GuidedEnlarge)


def test_a_hint_colours_the_pixels_of_its_lightness_around_it_and_stops_at_an_edge():
    """One red point on the dark left half of a photograph whose right half is light, where the network already
    gives the point its colour but fades to grey around it (what a network does): FollowHints carries the colour
    along the dark half and not across the edge, a near hint outweighs a far one, a lone hint reaches further than
    one among many, and nothing changes without hints."""
    lightness = np.full((1, 64, 96, 1), 30.0, np.float32)
    lightness[:, :, 48:] = 75.0
    predicted = np.zeros((1, 16, 24, 2), np.float32)  # ab / 128 at 1/4 of the size
    predicted[0, 7:9, 9:11] = (0.5, 0.2)  # right at the point, the hint's colour
    hints = np.zeros((1, 64, 96, 3), np.float32)
    hints[0, 30:36, 36:42] = (0.5, 0.2, 1.0)  # a red point 6 pixels left of the edge
    follow = FollowHints(4)
    np.testing.assert_array_equal(follow([predicted, np.zeros_like(hints), lightness]), predicted)
    ab = np.asarray(follow([predicted, hints, lightness]))[0] * AB_SCALE
    assert np.abs(ab[8, 9] - (64, 25.6)).max() < 4  # at the point: its colour
    assert ab[8, 3, 0] > 32  # 36 pixels to its left, the same lightness: still more than half of its red
    assert ab[1, 1, 0] > 16  # in the far corner of the dark half, 48 pixels away: a quarter of it
    assert abs(ab[8, 14:, :]).max() < 1  # across the edge, 8 pixels away: the network's grey
    hints[0, 2:8, 2:8] = (-0.4, 0.3, 1.0)  # a green point in the top-left corner, 40 pixels from the red
    ab = np.asarray(follow([predicted, hints, lightness]))[0] * AB_SCALE
    red_share = (ab[..., 0] - -51.2) / (64 + 51.2)  # 1: the red point's a, 0: the green one's
    assert red_share[8, 8] > 0.7 and red_share[1, 1] < 0.3  # each pixel near a point mostly takes its colour
    # A lone point reaches far along its lightness; once much of the photograph is hinted, each point keeps
    # to its neighbourhood (the far Gaussian's weight falls as the hints cover more).
    lightness, none = np.full((1, 64, 192, 1), 30.0, np.float32), np.zeros((1, 16, 48, 2), np.float32)
    lightness[:, :, 144:] = 75.0
    lone = np.zeros((1, 64, 192, 3), np.float32)
    lone[0, 30:36, 2:8] = (0.5, 0.2, 1.0)
    crowded = lone.copy()
    crowded[0, 2:62, 160:190] = (-0.3, 0.3, 1.0)  # a green stroke in the light end, a seventh of the photograph
    far_red = [float(np.asarray(follow([none, h, lightness]))[0, 8, 21, 0]) * AB_SCALE for h in (lone, crowded)]
    assert far_red[0] > 32 and far_red[1] < 8, far_red  # 80 pixels from the point: most of its red, then little
    model = build("unet", width=4, head="distribution", with_hints=True)
    assert isinstance(readout.follow_hints(model), FollowHints) and not readout.follow_hints(model).weights


def test_an_ensemble_colours_with_the_mean_of_its_networks_distributions(tmp_path):
    """``members`` networks in one model, each from its own initial weights; the read-out takes the mean of
    their log-probabilities over the bins (then the temperature, as for one network's logits)."""
    from colorizer.inference.loading import load_model
    from colorizer.network.readout import set_vividness, training_model

    keras.utils.set_random_seed(3)
    model = set_vividness(build("unet", width=4, head="distribution", global_context=True, members=3), temperature=0.5)
    lightness = np.random.default_rng(0).uniform(0, 100, size=(2, 32, 48, 1)).astype(np.float32)
    logits = np.asarray(training_model(model).predict(lightness, verbose=0))
    q = len(centers())
    assert logits.shape == (2, 8, 12, 3 * q)
    members = [logits[..., i * q : (i + 1) * q] for i in range(3)]
    assert min(np.abs(a - b).mean() for a in members for b in members if a is not b) > 1e-3  # not one network
    log_probs = np.mean([m - np.log(np.exp(m).sum(-1, keepdims=True)) for m in members], axis=0) / 0.5
    probs = np.exp(log_probs - log_probs.max(-1, keepdims=True))
    expected = (probs / probs.sum(-1, keepdims=True)) @ centers() / AB_SCALE
    read_out = keras.Model(model.inputs, readout.annealed_mean(model).output)
    np.testing.assert_allclose(read_out.predict(lightness, verbose=0), expected, atol=1e-5)
    model.save(tmp_path / "ensemble.keras")  # one file, loaded like any network
    again = load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(again.predict(lightness, verbose=0), model.predict(lightness, verbose=0), atol=1e-6)
    assert float(readout.annealed_mean(again).temperature.numpy()) == 0.5
    with pytest.raises(ValueError, match="needs the distribution head"):
        build("unet", width=4, members=2)


def test_a_seeded_network_starts_from_the_same_weights_as_before():
    """A layer draws its initial weights' seed when it is made, so building the default network's layers in
    another order (as adding ensembles first did) gives another network for the same train.seed, and every
    figure measured before silently stops reproducing. These are the weights that the figures in the README
    and docs/colour-quality.md were trained from (seed 42; Keras and TensorFlow as pinned)."""
    keras.utils.set_random_seed(42)
    model = build("unet", width=8, head="distribution", global_context=True)
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    np.testing.assert_allclose(np.asarray(first.kernel).ravel()[:3], [0.194973, 0.088524, -0.076908], atol=1e-6)
    for layer, expected in (
        (readout.layer(model, CONTEXT_OUT), [-0.208452, -0.039499, -0.042614]),
        (readout.logits(model), [0.105675, 0.056187, -0.082684]),
    ):
        np.testing.assert_allclose(np.asarray(layer.kernel).ravel()[:3], expected, atol=1e-6)


def test_the_read_out_layers_are_found_by_what_they_are():
    """Each layer the read-out and training look up is found by one function, in a model with all of them."""
    from colorizer.network.layers import AnnealedMean, EnsembleMean, HintGate

    model = build("unet", width=2, head="distribution", members=2, with_hints=True)
    assert readout.has_distribution_head(model) and readout.has_hint_branch(model) and readout.has_follow_hints(model)
    assert isinstance(readout.annealed_mean(model), AnnealedMean) and isinstance(readout.hinted_logits(model), HintGate)
    assert readout.distribution(model) is readout.hinted_logits(model)
    assert [readout.member_logits(model, i).name for i in range(2)] == ["m0_logits", "m1_logits"]
    assert readout.hint_logits(model).filters == len(centers())
    ensemble = build("unet", width=2, head="distribution", members=2)
    assert isinstance(readout.distribution(ensemble), EnsembleMean) and not readout.has_follow_hints(ensemble)
    regression = build("unet", width=2)
    assert not readout.has_distribution_head(regression) and not readout.has_hint_branch(regression)
    with pytest.raises(ValueError, match="regression head"):
        readout.distribution(regression)


def test_a_model_saved_by_version_0_10_loads_and_colours_as_it_did():
    """A ``.keras`` file names its layers' classes (``colorizer>AnnealedMean``, ...), not the module that held
    them: one saved by version 0.10, with every custom layer a default model has (an ensemble of two with hints,
    the read-out set to temperature 0.5 and saturation 1.1), loads and gives the colours it gave then."""
    from colorizer.inference.loading import load_model
    from colorizer.inference.predict import predict_ab

    model = load_model(DATA / "saved-0.10.keras")
    recorded = np.load(DATA / "saved-0.10.npz")
    found = {type(layer).__name__ for layer in model.layers}
    assert {
        "AnnealedMean",
        "EnsembleMean",
        "HintGate",
        "SpreadHints",
        "FollowHints",
        "GuidedEnlarge",
        "MirrorPadding",
        "Saturation",
    } <= found
    assert float(readout.annealed_mean(model).temperature.numpy()) == 0.5
    np.testing.assert_allclose(predict_ab(model, recorded["L"], recorded["hints"]), recorded["ab"], atol=1e-5)
