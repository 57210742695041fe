import numpy as np
import pytest

from colorizer.inference.export import check_params, export
from colorizer.inference.loading import load_model as load
from colorizer.network import readout
from colorizer.network.builder import build
from colorizer.params import ParamError


def test_export_sets_the_read_out_of_the_saved_model(tmp_path):
    network = build("unet", width=4, head="distribution")
    network.save(tmp_path / "network.keras")
    cfg = {"rebalance": 0.3, "temperature": 0.4, "saturation": 1.3}
    export(tmp_path / "network.keras", cfg, tmp_path / "colorizer.keras")
    saved = load(tmp_path / "colorizer.keras")
    assert float(readout.annealed_mean(saved).temperature.numpy()) == pytest.approx(0.4)
    assert float(readout.annealed_mean(saved).rebalance.numpy()) == pytest.approx(0.3)
    assert float(readout.saturation(saved).factor.numpy()) == pytest.approx(1.3)
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 32, 32, 1)).astype(np.float32)
    assert not np.allclose(saved.predict(lightness, verbose=0), network.predict(lightness, verbose=0))


def test_a_regression_network_ignores_temperature_and_takes_saturation(tmp_path, capsys):
    build("seed").save(tmp_path / "network.keras")
    cfg = {"rebalance": 0.0, "temperature": 0.5, "saturation": 0.0}
    saved = export(tmp_path / "network.keras", cfg, tmp_path / "c.keras")
    assert "temperature 0.5 and rebalance 0.0 ignored" in capsys.readouterr().err
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 16, 16, 1)).astype(np.float32)
    assert not np.any(saved.predict(lightness, verbose=0))  # saturation 0: grey


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("temperature", 0, "export.temperature must be greater than 0"),
        ("saturation", -1, "export.saturation must be at least 0"),
        ("rebalance", 1.5, "export.rebalance must be at most 1"),
    ],
)
def test_bad_export_params_are_named(key, value, message):
    params = {"rebalance": 0.0, "temperature": 1.0, "saturation": 1.0, key: value}
    with pytest.raises(ParamError, match=message):
        check_params(params)
