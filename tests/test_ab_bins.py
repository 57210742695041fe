import numpy as np
from keras import ops

from colorizer.color import lab_to_codes
from colorizer.data.shards import LabSplit, create_shard, shard_name, write_rows
from colorizer.network import ab_bins


def test_bins_cover_the_gamut_on_a_10_unit_grid():
    centers = ab_bins.centers()
    assert 150 < len(centers) < 400
    assert np.all(centers % 10 == 0)
    assert [0, 0] in centers.tolist() and [80, 70] in centers.tolist()  # grey, and a saturated red
    assert [-110, -110] not in centers.tolist()  # no sRGB colour is that far green-blue


def test_soft_targets_peak_at_the_true_colour_and_sum_to_one():
    centers = ab_bins.centers()
    ab = np.zeros((1, 4, 4, 2), np.float32)
    ab[..., 0], ab[..., 1] = 20 / 128, -30 / 128
    target = np.asarray(ops.convert_to_numpy(ab_bins.soft_targets(ab, ops.convert_to_tensor(centers))))
    assert target.shape == (1, 1, 1, len(centers))
    np.testing.assert_allclose(target.sum(-1), 1.0, rtol=1e-5)
    assert centers[target[0, 0, 0].argmax()].tolist() == [20, -30]


def test_the_colour_loss_adds_the_squared_error_of_the_mean_colour():
    centers = ab_bins.centers()
    ab = np.zeros((2, 8, 8, 2), np.float32)
    ab[..., 0], ab[..., 1] = 20 / 128, -30 / 128
    weights = np.ones(len(centers), np.float32)
    vague = np.random.default_rng(0).normal(size=(2, 2, 2, len(centers))).astype(np.float32)
    sure = np.full((2, 2, 2, len(centers)), -30.0, np.float32)
    sure[..., centers.tolist().index([20, -30])] = 30.0  # all the probability on the true colour's bin
    for logits, error in ((vague, ab_bins.mean_colour_error(ab, vague)), (sure, 0.0)):
        plain = np.asarray(ab_bins.distribution_loss(weights)(ab, logits))
        mixed = np.asarray(ab_bins.distribution_loss(weights, 2.0)(ab, logits))
        np.testing.assert_allclose(
            mixed - plain, 2.0 * np.asarray(error) / ab_bins.COLOUR_LOSS_UNIT, rtol=1e-4, atol=1e-5
        )
    assert np.all(np.asarray(ab_bins.mean_colour_error(ab, vague)) > 100)  # the vague mean is far from the truth


def test_an_ensembles_loss_is_the_sum_of_its_networks_own_losses():
    """Logits of several networks side by side (train.members): each is fitted to the targets on its own, so
    the loss is the sum of their losses (each network's gradient as if alone), not the loss of their mean; the
    metric is the ensemble's colour."""
    centers = ab_bins.centers()
    rng = np.random.default_rng(1)
    ab = rng.uniform(-0.3, 0.3, size=(2, 8, 8, 2)).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, size=len(centers)).astype(np.float32)
    members = [rng.normal(size=(2, 2, 2, len(centers))).astype(np.float32) for _ in range(3)]
    both = np.concatenate(members, axis=-1)
    loss = ab_bins.distribution_loss(weights, 1.0)
    np.testing.assert_allclose(
        np.asarray(loss(ab, both)), np.sum([np.asarray(loss(ab, m)) for m in members], 0), rtol=1e-5
    )
    mean_log_probs = np.mean([np.asarray(ops.log_softmax(m, axis=-1)) for m in members], axis=0)
    np.testing.assert_allclose(
        np.asarray(ab_bins.mean_colour_error(ab, both)),
        np.asarray(ab_bins.mean_colour_error(ab, mean_log_probs)),
        rtol=1e-5,
    )


def split_of(tmp_path, lab_images):
    """A train split of ``lab_images``, in one shard."""
    (tmp_path / "train").mkdir()
    create_shard(tmp_path / shard_name("train", 0), len(lab_images), lab_images[0].shape)
    write_rows(tmp_path / shard_name("train", 0), 0, lab_to_codes(np.stack(lab_images)))
    return LabSplit(tmp_path, "train")


def test_rebalancing_weighs_rare_colours_up(tmp_path):
    grey = np.zeros((8, 8, 3), np.float32)
    grey[..., 0] = 50
    red = grey.copy()
    red[..., 1], red[..., 2] = 60, 50
    split = split_of(tmp_path, [grey] * 9 + [red])
    centers = ab_bins.centers().tolist()
    weights = ab_bins.rebalancing_weights(split, strength=0.5)
    assert weights[centers.index([60, 50])] > 2 * weights[centers.index([0, 0])]
    np.testing.assert_allclose(ab_bins.rebalancing_weights(split, strength=0.0), 1.0, rtol=1e-5)


def test_distribution_loss_is_lowest_for_the_true_colour():
    centers = ab_bins.centers()
    loss = ab_bins.distribution_loss(np.ones(len(centers), np.float32))
    ab = np.full((1, 8, 8, 2), 0.0, np.float32)
    ab[..., 0] = 40 / 128
    right = np.full((1, 2, 2, len(centers)), -10.0, np.float32)
    right[..., centers.tolist().index([40, 0])] = 10.0
    wrong = np.full((1, 2, 2, len(centers)), -10.0, np.float32)
    wrong[..., centers.tolist().index([-40, 0])] = 10.0
    assert float(ops.convert_to_numpy(loss(ab, right))[0]) < float(ops.convert_to_numpy(loss(ab, wrong))[0])
