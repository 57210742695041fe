"""Stage ``samples``: write the colour photographs that ship inside scikit-image as PNG files
(`colorizer.data.samples`), the default images folder.

Usage: ``python -m stages.samples OUTPUT_FOLDER``.
"""

from colorizer.data.samples import write_samples
from stages import stage_paths


def main(argv=None) -> None:
    paths = stage_paths("samples", argv, samples="the folder to write the sample photographs in")
    names = write_samples(paths.samples)
    print(f"samples: {len(names)} sample photographs in {paths.samples}")


if __name__ == "__main__":
    main()
