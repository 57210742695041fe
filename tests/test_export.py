import numpy as np
import pytest

from colorizer.inference import load
from colorizer.model import build, find_layer
from colorizer.params import ParamError
from stages.export import check_params, export


def test_export_sets_the_read_out_of_the_saved_model(tmp_path):
    network = build("unet", width=4, head="distribution")
    network.save(tmp_path / "network.keras")
    cfg = {"rebalance": 0.3, "temperature": 0.4, "saturation": 1.3, "mirror_border": 16}
    export(tmp_path / "network.keras", cfg, tmp_path / "colorizer.keras")
    saved = load(tmp_path / "colorizer.keras")
    assert float(find_layer(saved, "annealed_mean").temperature.numpy()) == pytest.approx(0.4)
    assert float(find_layer(saved, "annealed_mean").rebalance.numpy()) == pytest.approx(0.3)
    assert float(find_layer(saved, "saturation").factor.numpy()) == pytest.approx(1.3)
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 32, 32, 1)).astype(np.float32)
    assert not np.allclose(saved.predict(lightness, verbose=0), network.predict(lightness, verbose=0))


def test_a_regression_network_ignores_temperature_and_takes_saturation(tmp_path, capsys):
    build("seed").save(tmp_path / "network.keras")
    cfg = {"rebalance": 0.0, "temperature": 0.5, "saturation": 0.0, "mirror_border": 0}
    saved = export(tmp_path / "network.keras", cfg, tmp_path / "c.keras")
    assert "temperature 0.5 and rebalance 0.0 ignored" in capsys.readouterr().err
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 16, 16, 1)).astype(np.float32)
    assert not np.any(saved.predict(lightness, verbose=0))  # saturation 0: grey


def grey_fringe(model, size=(48, 64), lightness=70.0) -> float:
    """The largest distance (Lab units, ab) of any pixel's colour from the centre's, on a uniform grey photograph."""
    ab = model.predict(np.full((1, *size, 1), lightness, np.float32), verbose=0)[0] * 128
    return float(np.linalg.norm(ab - ab[size[0] // 2, size[1] // 2], axis=-1).max())


def test_the_mirrored_border_colours_a_grey_photograph_evenly_up_to_its_edges(tmp_path):
    network = build("unet", width=8, head="regression")  # untrained: its zero padding shows all the same
    network.save(tmp_path / "network.keras")
    cfg = {"rebalance": 0.0, "temperature": 1.0, "saturation": 4.0}
    plain = export(tmp_path / "network.keras", {**cfg, "mirror_border": 0}, tmp_path / "plain.keras")
    assert grey_fringe(plain) > 2.0  # the fringe this is about
    mirrored = export(tmp_path / "network.keras", {**cfg, "mirror_border": 16}, tmp_path / "mirrored.keras")
    assert grey_fringe(load(tmp_path / "mirrored.keras")) <= 2.0
    assert grey_fringe(mirrored, size=(8, 8)) <= 2.0  # smaller than the border: mirrored again and again
    # Inside, the photograph gets the colour it got before: only the frame the padding reached changes.
    lightness = np.random.default_rng(1).uniform(0, 100, (1, 64, 80, 1)).astype(np.float32)
    inside = (slice(None), slice(24, -24), slice(24, -24))
    np.testing.assert_allclose(mirrored.predict(lightness, verbose=0)[inside], plain.predict(lightness, verbose=0)[inside],
                               atol=0.02)


@pytest.mark.parametrize("key, value, message", [
    ("temperature", 0, "export.temperature must be greater than 0"),
    ("saturation", -1, "export.saturation must be at least 0"),
    ("rebalance", 1.5, "export.rebalance must be at most 1"),
    ("mirror_border", 12, "export.mirror_border must be a multiple of 8"),
    ("mirror_border", 16.0, "export.mirror_border must be an integer"),
])
def test_bad_export_params_are_named(key, value, message):
    params = {"rebalance": 0.0, "temperature": 1.0, "saturation": 1.0, "mirror_border": 16, key: value}
    with pytest.raises(ParamError, match=message):
        check_params(params)
