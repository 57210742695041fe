"""A wrong parameter stops the stage before any work, with a message naming the key and what is allowed."""


import pytest
import yaml

from conftest import REPO, run, write_photos
from stages import params as P
from stages.prepare import check_params as check_prepare
from stages.train import check_params as check_train

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def with_change(section, key, value):
    changed = dict(PARAMS[section])
    changed[key] = value
    return changed


@pytest.mark.parametrize("key, value, message", [
    ("epochs", -1, "train.epochs must be at least 1, got -1"),
    ("epochs", 2.5, "train.epochs must be an integer"),
    ("arch", "resnet", "train.arch must be one of seed, unet; got 'resnet'"),
    ("learning_rate", 0, "train.learning_rate must be greater than 0"),
    ("optimizer", "sgd", "train.optimizer must be one of"),
    ("flip", "yes", "train.flip must be true or false"),
    ("lr_schedule", "step", "train.lr_schedule must be one of constant, cosine; got 'step'"),
    ("global_context", "yes", "train.global_context must be true or false"),
    ("mixed_precision", "yes", "train.mixed_precision must be auto, true or false; got 'yes'"),
    ("jit_compile", 1, "train.jit_compile must be auto, true or false; got 1"),
    ("crops_per_image", 0, "train.crops_per_image must be at least 1, got 0"),
    ("checkpoint_every", -5, "train.checkpoint_every must be at least 0, got -5"),
])
def test_bad_train_params_are_named(key, value, message):
    with pytest.raises(P.ParamError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_train(with_change("train", key, value))


def test_the_seed_network_takes_no_global_context():
    with pytest.raises(P.ParamError, match="train.global_context: true needs arch unet"):
        check_train({**PARAMS["train"], "arch": "seed", "head": "regression", "global_context": True})


@pytest.mark.parametrize("key, value, message", [
    ("size", [100, 128], "prepare.size must be multiples of 8"),
    ("size", [128], "prepare.size must be [height, width]"),
    ("splits", {"train": 0.7, "val": 0.2, "test": 0.2}, "prepare.splits fractions must add up to 1, they add up to 1.1"),
    ("splits", {"train": 1.0}, "prepare.splits must map exactly train, val, test"),
    ("images", "no/such/folder", "prepare.images: folder 'no/such/folder' does not exist"),
    ("crop_scale", 0, "prepare.crop_scale must be greater than 0"),
])
def test_bad_prepare_params_are_named(key, value, message, tmp_path, monkeypatch):
    (tmp_path / PARAMS["prepare"]["images"]).mkdir(parents=True)  # the default folder exists
    monkeypatch.chdir(tmp_path)
    with pytest.raises(P.ParamError) as caught:
        check_prepare(with_change("prepare", key, value))
    assert message in str(caught.value)


def test_the_default_params_are_valid(monkeypatch, tmp_path):
    write_photos(tmp_path / "data" / "samples", 1)
    monkeypatch.chdir(tmp_path)
    assert check_prepare(PARAMS["prepare"])["size"] == tuple(PARAMS["prepare"]["size"])
    assert check_train(PARAMS["train"])["arch"] == PARAMS["train"]["arch"]


@pytest.mark.parametrize("stage, section, key, value, message", [
    ("train", "train", "epochs", -3, "train.epochs must be at least 1, got -3"),
    ("prepare", "prepare", "images", "missing", "prepare.images: folder 'missing' does not exist"),
])
def test_stage_stops_before_any_work(tmp_path, stage, section, key, value, message):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params[section][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run(["python", "-m", f"stages.{stage}"], cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    leftovers = {p.name for p in tmp_path.iterdir()} - {"params.yaml"}
    assert not leftovers, f"{stage} wrote {leftovers} although its params were wrong"
