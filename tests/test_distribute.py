"""train.distribute: mirrored, on two logical CPU devices, learns like one device.

Logical devices must be configured before TensorFlow initialises, so the training runs in a fresh
interpreter (the test process may have initialised TensorFlow already).
"""

import json
import subprocess
import sys

import pytest
import yaml

from colorizer.data.shards import LabSplit
from colorizer.params import ParamError
from conftest import REPO, prepared_shards, venv_env

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out

SCRIPT = """
import json, sys
from pathlib import Path
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np
import yaml
from colorizer.inference.predict import predict_ab
from colorizer.params import ParamError
from colorizer.data.shards import LabSplit
from colorizer.training.fit import fit
from colorizer.training.settings import check_params


prepared, work, params_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
params = yaml.safe_load(params_file.read_text())["train"]
params.update(arch="unet", width=8, epochs=1, crops_per_image=1, batch_size=8, optimizer="adam",
              learning_rate=0.003, loss="mse", flip=False, seed=1, head="regression", colour_loss=0,
              members=1)
cfg = check_params(dict(params, distribute="none"))
train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
out = {"checked": check_params(dict(params, distribute="mirrored"))["distribute"]}
try:
    check_params(dict(params, batch_size=7, distribute="mirrored"))
except ParamError as error:
    out["odd_batch"] = str(error)
lightness = val.take(np.arange(len(val)))[..., :1]
# One batch per epoch: the same gradient steps whatever order Keras and the input pipeline fetch in.
full_batch = dict(cfg, batch_size=len(train), epochs=4)
for mode in ("none", "mirrored"):
    model, history = fit(dict(full_batch, distribute=mode), train, val, checkpoints=work / mode)
    out[mode] = {"replicas": model.distribute_strategy.num_replicas_in_sync,
                 "loss": [float(r["loss"]) for r in history], "val_loss": [float(r["val_loss"]) for r in history],
                 "prediction": np.asarray(predict_ab(model, lightness)).ravel().tolist()}
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    # Seed 3, not conftest's `prepared_data` (seed 0): mirrored needs a validation split that divides evenly.
    return prepared_shards(tmp_path_factory.mktemp("distribute"), split_seed=3)


def test_mirrored_on_two_devices_learns_like_one_device(prepared, tmp_path):
    train, val = LabSplit(prepared, "train"), LabSplit(prepared, "val")
    # Every batch splits evenly between the two devices, so both trainings see exactly the same batches.
    assert len(train) % 8 % 2 == 0 and len(val) % 2 == 0, (len(train), len(val))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(prepared), str(tmp_path), str(REPO / "params.yaml")],
        cwd=tmp_path,
        env=venv_env(PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT ", 1)[1])
    assert "mirrored across 2 devices" in result.stdout
    assert out["checked"] == "mirrored"
    assert "train.batch_size must be a multiple of the 2 devices" in out["odd_batch"]
    one, two = out["none"], out["mirrored"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    # Same initial weights, same data, one full batch per step: each device takes half and the halves'
    # mean gradients, scaled by 1/2, are summed, which is the whole batch's gradient. Only the order of
    # float additions differs (measured: a relative 1e-7 after four Adam steps), so 1e-4 leaves room for
    # other CPUs' rounding yet catches a real difference: a loss reported per replica instead of per
    # batch is off by half, a replica left out of the update drifts by percents within a step or two.
    assert len(one["loss"]) == len(two["loss"]) == 4
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-4)
    assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
    assert one["loss"][-1] < one["loss"][0], "the comparison must span real learning steps"
    difference = max(abs(a - b) for a, b in zip(one["prediction"], two["prediction"]))
    assert difference < 1e-4, f"predictions differ by {difference} (ab / 128)"


def test_each_distribution_is_refused_on_the_other_backend(monkeypatch):
    import keras

    from colorizer.training.settings import check_params

    params = yaml.safe_load((REPO / "params.yaml").read_text())["train"]
    assert check_params(dict(params, distribute="none"))["distribute"] == "none"
    with pytest.raises(ParamError, match="train.distribute: data_parallel needs the JAX backend"):
        check_params(dict(params, distribute="data_parallel"))  # this test process runs TensorFlow
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ParamError, match="train.distribute: mirrored needs the TensorFlow backend"):
        check_params(dict(params, distribute="mirrored"))
