"""The model users colour with (the ``export`` stage): the trained network with its read-out set.

The read-out is ``rebalance`` and ``temperature`` of the annealed mean for a distribution head, and
``saturation`` for any head (`colorizer.network.readout.set_vividness`). It is not learnt, so changing it reruns
export, evaluate and render in seconds, never train. The same model as an ONNX file: `colorizer.inference.onnx_export`.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from colorizer import params as P
from colorizer.atomic import replacing
from colorizer.inference.loading import load_model
from colorizer.network.readout import has_distribution_head, set_vividness

if TYPE_CHECKING:
    import keras

SECTION = "export"


def check_params(p: dict) -> dict:
    """Validated export parameters (the read-out); raises `ParamError` naming the first bad key."""
    return P.only_known(
        p,
        SECTION,
        {
            "rebalance": P.number(p, SECTION, "rebalance", minimum=0.0, maximum=1.0),
            "temperature": P.number(p, SECTION, "temperature", minimum=0.0, maximum=10.0, exclusive_minimum=True),
            "saturation": P.number(p, SECTION, "saturation", minimum=0.0, maximum=4.0),
        },
    )


def export(network_path: str | Path, cfg: dict, output: str | Path) -> "keras.Model":
    """Load the network, set its read-out, save it atomically to ``output``; returns the model."""
    model = load_model(network_path)
    if has_distribution_head(model):
        set_vividness(model, temperature=cfg["temperature"], rebalance=cfg["rebalance"])
    elif (cfg["temperature"], cfg["rebalance"]) != (1.0, 0.0):
        print(
            f"export: temperature {cfg['temperature']} and rebalance {cfg['rebalance']} ignored: the "
            f"network has a regression head",
            file=sys.stderr,
        )
    set_vividness(model, saturation=cfg["saturation"])
    with replacing(output) as tmp:
        model.save(tmp)
    return model
