"""The colour photographs that ship inside scikit-image, written as PNG files (the ``samples`` stage).

They are the default images folder, so the pipeline runs offline with no photographs of the user's.
"""

from pathlib import Path

from PIL import Image
from skimage import data

from colorizer.atomic import replacing

# Colour photographs bundled in scikit-image's wheel (no download). One of the stereo motorcycle pair only,
# so no near-duplicate can land in both training and test.
PHOTOGRAPHS = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "rocket": data.rocket,
    "hubble_deep_field": data.hubble_deep_field,
    "immunohistochemistry": data.immunohistochemistry,
    "retina": data.retina,
    "motorcycle": lambda: data.stereo_motorcycle()[0],
}


def write_samples(folder: str | Path) -> list[str]:
    """Write every photograph in `PHOTOGRAPHS` into ``folder`` (replaced whole); returns the file names."""
    names = []
    with replacing(folder) as tmp:
        tmp.mkdir()
        for name, load in PHOTOGRAPHS.items():
            Image.fromarray(load()).save(tmp / f"{name}.png")
            names.append(f"{name}.png")
    return names
