"""Training learns colour from lightness, and an interrupted training resumes where it stopped."""

import json
import shutil

import keras
import numpy as np
import pytest

from colorizer.data.shards import LabSplit
from colorizer.inference.predict import predict_ab  # L, and empty hints for a hint-taking network
from colorizer.network import readout
from colorizer.network.builder import CONTEXT_OUT
from colorizer.params import load
from colorizer.training.checkpoints import prepare_checkpoints
from colorizer.training.fit import fit, learning_rate
from colorizer.training.history import zero_chroma_loss
from colorizer.training.settings import check_params
from conftest import REPO

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out


# params.yaml's train section, made small and quick.
PARAMS = load("train", REPO / "params.yaml")
CFG = check_params(
    {
        **PARAMS,
        "width": 8,
        "members": 1,
        "head": "regression",
        "rebalance": 0,
        "colour_loss": 0,
        "epochs": 6,
        "crops_per_image": 4,
        "batch_size": 8,
        "learning_rate": 0.003,
        "lr_schedule": "constant",
        "global_context": False,
        "restore_best": False,
        "seed": 1,
    }
)


@pytest.fixture(scope="module")
def prepared(prepared_data):
    """conftest's 24 small photographs, prepared once for the session (read only)."""
    return prepared_data


@pytest.fixture(scope="module")
def short_training(prepared, tmp_path_factory):
    """CFG's short training, keeping its best epoch (restore_best): the network and its history."""
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    return fit(dict(CFG, restore_best=True), train, val, checkpoints=tmp_path_factory.mktemp("short") / "ckpt")


def test_short_training_beats_the_zero_chroma_baseline(prepared, short_training):
    val = LabSplit(prepared, "val")
    baseline = zero_chroma_loss(val, "mse")
    _, history = short_training
    assert [int(r["epoch"]) for r in history] == list(range(CFG["epochs"]))
    best = min(float(r["val_loss"]) for r in history)
    assert best < 0.3 * baseline, f"val loss {best:.5f} is not clearly below zero chroma {baseline:.5f}"


class StopAfter(keras.callbacks.Callback):
    """Simulates Ctrl-C once ``epochs`` epochs have finished (and been checkpointed)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epochs:
            raise KeyboardInterrupt


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ran = []

    def on_epoch_begin(self, epoch, logs=None):
        self.ran.append(epoch)


def test_interrupted_training_resumes_from_its_last_finished_epoch(prepared, tmp_path):
    cfg = dict(CFG, epochs=4, width=4, lr_schedule="cosine")
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    checkpoints = tmp_path / "ckpt"
    assert prepare_checkpoints(cfg, checkpoints, prepared) is None
    (checkpoints / "mlflow_run_id").write_text("run-123")
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, train, val, checkpoints=checkpoints, extra_callbacks=[StopAfter(2)])

    assert prepare_checkpoints(cfg, checkpoints, prepared) == "run-123"
    counter = CountEpochs()
    _, history = fit(cfg, train, val, checkpoints=checkpoints, extra_callbacks=[counter])
    assert counter.ran == [2, 3], "the resumed training must start after the last finished epoch"
    assert [int(r["epoch"]) for r in history] == [0, 1, 2, 3]


class StopInEpoch(keras.callbacks.Callback):
    """Simulates a killed process after batch ``batch`` (counted from 1) of epoch ``epoch`` (from 0)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch + 1 == self.batch:
            raise KeyboardInterrupt


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ran, self.current = {}, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.ran[self.current] = self.ran.get(self.current, 0) + 1


def test_a_training_interrupted_inside_an_epoch_resumes_from_its_last_checkpoint_and_ends_the_same(prepared, tmp_path):
    # Fresh crops, flips and the cosine schedule: all must continue where they were.
    cfg = dict(CFG, epochs=2, width=4, lr_schedule="cosine", checkpoint_every=3)
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    per_epoch = -(-len(train) * cfg["crops_per_image"] // cfg["batch_size"])
    assert per_epoch >= 7
    whole, _ = fit(cfg, train, val, checkpoints=tmp_path / "whole")

    with pytest.raises(KeyboardInterrupt):  # killed after batch 5 of epoch 2: the checkpoint holds 3 batches
        fit(cfg, train, val, checkpoints=tmp_path / "ckpt", extra_callbacks=[StopInEpoch(1, 5)])
    counter = CountBatches()
    resumed, history = fit(cfg, train, val, checkpoints=tmp_path / "ckpt", extra_callbacks=[counter])
    assert counter.ran == {1: per_epoch - 3}, "only the batches after the checkpoint run again"
    assert [int(r["epoch"]) for r in history] == [0, 1]
    lightness = val.take(range(len(val)))[..., :1]
    np.testing.assert_allclose(
        predict_ab(resumed, lightness),
        predict_ab(whole, lightness),
        atol=1e-5,
        err_msg="the resumed training must see the batches an uninterrupted one sees, with the optimizer where it was",
    )


def test_the_cosine_schedule_decays_to_zero_over_the_whole_training(prepared):
    from colorizer.training.fit import epoch_batches

    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    per_epoch = epoch_batches(CFG, train, val)[0].batches_per_epoch
    assert per_epoch == -(-len(train) * CFG["crops_per_image"] // CFG["batch_size"])
    steps = 5 * per_epoch
    schedule = learning_rate(dict(CFG, lr_schedule="cosine", epochs=5), per_epoch)
    assert float(schedule(0)) == pytest.approx(CFG["learning_rate"])
    assert float(schedule(steps // 2)) == pytest.approx(CFG["learning_rate"] / 2, rel=0.1)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    assert learning_rate(dict(CFG, lr_schedule="constant"), per_epoch) == CFG["learning_rate"]


def test_a_checkpoint_from_other_params_or_other_data_is_discarded(prepared, tmp_path):
    checkpoints = tmp_path / "ckpt"
    prepare_checkpoints(CFG, checkpoints, prepared)
    (checkpoints / "mlflow_run_id").write_text("old-run")
    (checkpoints / "backup").mkdir()
    assert prepare_checkpoints(CFG, checkpoints, prepared) == "old-run"  # the same training: resumed
    assert prepare_checkpoints(dict(CFG, epochs=9), checkpoints, prepared) is None
    assert not (checkpoints / "backup").exists()
    # The same photographs in the same rows, prepared at another size: other data, another training.
    prepare_checkpoints(CFG, checkpoints, prepared)
    (checkpoints / "mlflow_run_id").write_text("old-run")
    other = tmp_path / "prepared-again"
    shutil.copytree(prepared, other)
    settings = json.loads((other / "settings.json").read_text())
    (other / "settings.json").write_text(json.dumps({**settings, "train_size": [48, 48]}))
    assert prepare_checkpoints(CFG, checkpoints, other) is None


def test_the_distribution_head_learns_colour_too(prepared, tmp_path):
    from colorizer.evaluation.quality import ab_mse
    from colorizer.inference.predict import predict_lab

    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    # 420 steps: on these tiny photographs the mirror-padded distribution head first predicts the mean colour
    # for 100 to 200 steps (a plateau its zero-padded predecessor left after about 70), then learns it.
    cfg = dict(CFG, head="distribution", colour_loss=PARAMS["colour_loss"], epochs=15, crops_per_image=16)
    model, _ = fit(cfg, train, val, checkpoints=tmp_path / "ckpt")
    truth = val.take(range(len(val)))
    predicted = predict_lab(model, truth)
    grey = truth.copy()
    grey[..., 1:] = 0
    assert ab_mse(truth, predicted) < 0.5 * ab_mse(truth, grey)


@pytest.mark.parametrize("mixed, jit", [(True, False), (False, True)])
def test_mixed_precision_and_xla_train_a_step_on_cpu(prepared, tmp_path, mixed, jit):
    from colorizer.inference.loading import load_model
    from colorizer.training.batches import CropBatches
    from colorizer.training.fit import compile_model

    train = LabSplit(prepared, "train")
    model, trainee = compile_model(dict(CFG, width=4, mixed_precision=mixed, jit_compile=jit), train, (32, 32))
    assert keras.config.dtype_policy().name == "float32", "the global policy must be restored"
    compute = {layer.compute_dtype for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    assert compute == ({"float16", "float32"} if mixed else {"float32"})  # float32: the tanh output layer
    assert isinstance(trainee.optimizer, keras.optimizers.LossScaleOptimizer) == mixed
    assert trainee.jit_compile is jit
    batch = CropBatches(train, 8, shuffle=True, crops_per_image=1, min_scale=0.6, flip=True)[0]
    assert np.all(np.isfinite(np.asarray(trainee.train_on_batch(batch), float)))  # loss and ab_mse
    if mixed:  # the saved model still returns float32 ab / 128
        model.save(tmp_path / "model.keras")
        ab = predict_ab(load_model(tmp_path / "model.keras"), np.full((2, 32, 32, 1), 50.0, np.float32))
        assert ab.dtype == np.float32 and ab.shape == (2, 32, 32, 2) and np.abs(ab).max() <= 1.0


def test_the_colour_loss_adds_the_mean_colours_error_to_the_training_loss(prepared):
    from colorizer.network.ab_bins import COLOUR_LOSS_UNIT
    from colorizer.training.batches import CropBatches
    from colorizer.training.fit import compile_model

    train = LabSplit(prepared, "train")
    batch = CropBatches(train, 8, shuffle=True, crops_per_image=1, min_scale=0.6, flip=True)[0]
    losses = {}
    for weight in (0.0, 3.0):
        keras.utils.set_random_seed(5)  # the same weights for both
        _, trainee = compile_model(
            dict(
                CFG,
                width=4,
                head="distribution",
                global_context=True,
                colour_loss=weight,
                mixed_precision=False,
                jit_compile=False,
            ),
            train,
            (32, 32),
        )
        losses[weight] = np.asarray(trainee.test_on_batch(batch), float)  # loss, then ab_mse: the mean's error
    np.testing.assert_allclose(losses[3.0][1], losses[0.0][1], rtol=1e-5)
    np.testing.assert_allclose(losses[3.0][0] - losses[0.0][0], 3.0 * losses[0.0][1] / COLOUR_LOSS_UNIT, rtol=1e-3)


def test_by_default_a_cpu_trains_in_float32_without_xla(prepared):
    from colorizer.training.devices import gpu_present
    from colorizer.training.fit import compile_model

    if gpu_present():
        pytest.skip("auto turns both on with a GPU")
    model, trainee = compile_model(
        dict(CFG, width=4, mixed_precision="auto", jit_compile="auto"), LabSplit(prepared, "train"), (32, 32)
    )
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float32"}
    assert trainee.jit_compile is False


def test_restore_best_keeps_the_epoch_with_the_lowest_validation_loss(prepared, short_training):
    val = LabSplit(prepared, "val")
    model, history = short_training
    lab = val.take(range(len(val)))
    error = float(np.mean((128.0 * predict_ab(model, lab[..., :1]) - lab[..., 1:]) ** 2))
    kept = min(history, key=lambda r: float(r["val_loss"]))
    assert error == pytest.approx(float(kept["val_ab_mse"]), rel=1e-3)


def test_keep_best_survives_an_interruption(tmp_path):
    from colorizer.network.builder import build
    from colorizer.training.fit import KeepBest

    model = build("seed")
    kernel = model.layers[2].kernel

    def epoch(keeper, number, error):
        kernel.assign(np.full(kernel.shape, float(number), np.float32))  # the weights of this epoch
        keeper.on_epoch_end(number, {"val_loss": error})
        with open(tmp_path / "history.csv", "a") as handle:
            handle.write(f"{number},1,{error},100\n")

    (tmp_path / "history.csv").write_text("epoch,loss,val_loss,val_ab_mse\n")
    first = KeepBest(model, tmp_path, tmp_path / "history.csv")
    for number, error in enumerate([0.9, 0.7, 0.8]):
        epoch(first, number, error)
    resumed = KeepBest(model, tmp_path, tmp_path / "history.csv")  # a new process after Ctrl-C
    assert (resumed.best, resumed.best_epoch) == (0.7, 1)
    epoch(resumed, 3, 0.75)
    assert resumed.restore() == 1
    assert np.all(np.asarray(kernel) == 1.0)


def test_an_ensemble_trains_its_networks_side_by_side_and_saves_as_one(prepared, tmp_path):
    """train.members: 2 fits two unets at once from different initial weights; the network saved is one file
    that colours with both, and export's read-out settings apply to it as to one network."""
    from colorizer.inference.loading import load_model
    from colorizer.network.readout import set_vividness

    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    cfg = dict(CFG, width=4, head="distribution", colour_loss=1.0, members=2, epochs=2, crops_per_image=2)
    model, history = fit(cfg, train, val, checkpoints=tmp_path / "ckpt")
    assert [int(r["epoch"]) for r in history] == [0, 1] and all(np.isfinite(float(r["val_loss"])) for r in history)
    kernels = [np.asarray(readout.member_logits(model, i).kernel) for i in range(2)]
    assert kernels[0].shape == kernels[1].shape and np.abs(kernels[0] - kernels[1]).mean() > 1e-3
    model.save(tmp_path / "network.keras")
    network = set_vividness(load_model(tmp_path / "network.keras"), temperature=0.9, rebalance=0.25)
    ab = predict_ab(network, np.full((1, 32, 32, 1), 50.0, np.float32))
    assert ab.shape == (1, 32, 32, 2) and np.all(np.isfinite(ab))


def test_each_network_of_an_ensemble_learns_exactly_as_it_would_alone(prepared):
    """The ensemble's loss adds its networks' losses, so each gets its own gradient: the first network of a
    two-network ensemble starts from the weights a lone network of the same seed starts from, and after the same
    batches it holds the same weights. (With the mean of the losses, Adam's epsilon made them 25% apart.)"""
    from colorizer.training.batches import CropBatches
    from colorizer.training.fit import compile_model

    train = LabSplit(prepared, "train")
    batches = CropBatches(train, 8, shuffle=True, crops_per_image=2, min_scale=0.6, flip=True)
    trained = {}
    for members in (1, 2):
        keras.utils.set_random_seed(5)
        model, trainee = compile_model(
            dict(
                CFG,
                width=4,
                head="distribution",
                global_context=True,
                colour_loss=1.0,
                members=members,
                mixed_precision=False,
                jit_compile=False,
            ),
            train,
            (32, 32),
        )
        for step in range(4):
            trainee.train_on_batch(batches[step])
        trained[members] = model
    alone, pair = trained[1], trained[2]
    np.testing.assert_allclose(
        np.asarray(readout.member_logits(pair, 0).kernel),
        np.asarray(readout.logits(alone).kernel),
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        np.asarray(readout.layer(pair, CONTEXT_OUT, member=0).kernel),
        np.asarray(readout.layer(alone, CONTEXT_OUT).kernel),
        rtol=1e-5,
        atol=1e-7,
    )
    assert not np.allclose(np.asarray(readout.member_logits(pair, 1).kernel), np.asarray(readout.logits(alone).kernel))


def test_a_model_with_hints_colours_without_them_exactly_as_the_same_training_without_hints(prepared):
    """The hint branch learns beside the hint-free networks and its loss never reaches them: after the same
    batches (crops with simulated hints for the one, the same crops bare for the other), a model with hints
    given none colours exactly as the model trained without hints, and given hints it colours otherwise."""
    from colorizer.training.batches import CropBatches
    from colorizer.training.fit import compile_model, hint_draw

    train = LabSplit(prepared, "train")
    trained = {}
    for hints in (False, True):
        cfg = dict(
            CFG,
            width=4,
            head="distribution",
            global_context=True,
            colour_loss=1.0,
            members=2,
            hints=hints,
            mixed_precision=False,
            jit_compile=False,
        )
        batches = CropBatches(
            train, 8, shuffle=True, crops_per_image=2, min_scale=0.6, flip=True, hints=hint_draw(cfg, (32, 32))
        )
        keras.utils.set_random_seed(5)
        model, trainee = compile_model(cfg, train, (32, 32))
        for step in range(4):
            trainee.train_on_batch(batches[step])
        trained[hints] = model
    plain, hinted = trained[False], trained[True]
    assert np.abs(np.asarray(readout.hint_logits(hinted).kernel)).max() > 0  # the branch learnt
    lightness = train.take(np.arange(4))[:, :32, :32, :1]
    alone = predict_ab(plain, lightness)
    np.testing.assert_allclose(predict_ab(hinted, lightness), alone, rtol=1e-5, atol=1e-6)
    hint_maps = np.zeros((4, *lightness.shape[1:3], 3), np.float32)  # no hints
    hint_maps[:, 8:14, 8:14] = (0.5, -0.3, 1.0)
    assert np.abs(predict_ab(hinted, lightness, hint_maps) - alone)[:, 8:14, 8:14].mean() > 1e-3
