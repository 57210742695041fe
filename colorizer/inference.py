"""Running a trained colorizer: L in, Lab out, in batches."""

import numpy as np

from colorizer.color import merge_lab


def load(path):
    """A saved colorizer (``.keras`` file)."""
    import keras

    import colorizer.model  # noqa: F401  registers the read-out layers the saved model uses

    return keras.saving.load_model(path, compile=False)


def predict_lab(model, lab_or_l: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Colorize images of equal size: [n, H, W, 1 or 3] (only L is used) -> predicted Lab [n, H, W, 3]."""
    lightness = np.ascontiguousarray(lab_or_l[..., :1], dtype=np.float32)
    ab = model.predict(lightness, batch_size=batch_size, verbose=0)
    return merge_lab(lightness, np.asarray(ab, np.float32))


def open_test_split(prepared, model_path):
    """What evaluate and render start from: the test split, its source file names, and the colorizer."""
    from colorizer.shards import LabSplit, read_manifest

    test = LabSplit(prepared, "test")
    sources = [row["source"] for row in read_manifest(prepared, "test")]
    return test, sources, load(model_path)
