"""The benchmark scripts' own logic, where a wrong figure would pass unnoticed (they are run by hand)."""

import sys

import keras
import numpy as np

from colorizer.network.builder import build
from colorizer.network.readout import set_vividness
from conftest import REPO

sys.path.append(str(REPO / "benchmarks"))  # after everything else: its names never shadow a library
import ensemble as ensemble_py  # noqa: E402  benchmarks/ensemble.py
import quality as quality_py  # noqa: E402  benchmarks/quality.py


def test_a_read_out_is_rebalance_temperature_and_saturation():
    assert quality_py.read_out("0.25/0.9") == {"rebalance": 0.25, "temperature": 0.9, "saturation": 1.0}
    assert quality_py.read_out("0/1/1.2") == {"rebalance": 0.0, "temperature": 1.0, "saturation": 1.2}


def test_the_default_models_parameters_take_crops_then_set_over_params_yaml():
    """--crops was once overwritten by params.yaml's train.crops_per_image, so a data-scaling run trained half
    the steps it said it did."""
    merged = quality_py.default_params(
        {"crops_per_image": 16, "seed": 42, "epochs": 40},
        {"train.crops_per_image": 32, "prepare.test_size": [256, 256]},
        {"export.temperature": 0.9},
        6,
        {"train.seed": 7},
    )
    assert merged["train.crops_per_image"] == 32 and merged["train.epochs"] == 6 and merged["train.seed"] == 7
    assert merged["prepare.test_size"] == [256, 256] and merged["export.temperature"] == 0.9


def test_an_ensemble_of_one_network_is_that_network(tmp_path):
    """benchmarks/ensemble.py rebuilds the read-out from the networks' layers; one network alone must give
    exactly what the network gives (its guided enlarging included), or every ensemble figure is off."""
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 32, 48, 1)).astype(np.float32)
    paths = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        network = set_vividness(build("unet", width=4, head="distribution"), temperature=0.9, rebalance=0.25)
        network.save(tmp_path / f"net{seed}.keras")
        paths.append(tmp_path / f"net{seed}.keras")
    alone, first = ensemble_py.ensemble(paths[:1])
    np.testing.assert_allclose(alone.predict(lightness, verbose=0), first.predict(lightness, verbose=0), atol=1e-5)
    both, _ = ensemble_py.ensemble(paths)
    mixed = both.predict(lightness, verbose=0)
    assert mixed.shape == (2, 32, 48, 2) and not np.allclose(mixed, alone.predict(lightness, verbose=0))
    # A network trained with train.members is its own ensemble; --members 1 keeps its first network only.
    keras.utils.set_random_seed(3)
    pair = set_vividness(build("unet", width=4, head="distribution", members=2), temperature=0.9, rebalance=0.25)
    pair.save(tmp_path / "pair.keras")
    itself, _ = ensemble_py.ensemble([tmp_path / "pair.keras"])
    np.testing.assert_allclose(itself.predict(lightness, verbose=0), pair.predict(lightness, verbose=0), atol=1e-5)
    first_member, _ = ensemble_py.ensemble([tmp_path / "pair.keras"], members=1)
    difference = np.abs(first_member.predict(lightness, verbose=0) - pair.predict(lightness, verbose=0)).max()
    assert difference > 1e-4  # untrained networks differ little, but far more than rounding (1e-7)
