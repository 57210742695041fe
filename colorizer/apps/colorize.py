"""Command ``colorize``: colour your own black-and-white photographs, at their own size.

    colorize old-photos/ scan.tif -o coloured/ [--model runs:/<run id>/model] [--saturation 1.2]

The network predicts the colour (ab) of a copy of each photograph shrunk to a working size near the scale it
was trained at; the colour is enlarged back to the photograph's size and joined to the photograph's own
full-resolution lightness (L). So the output has the input's exact pixel size, and its lightness is the
input's up to 8-bit rounding: colorization adds colour, never changes brightness. Colours the sRGB gamut
cannot show at that lightness are desaturated towards grey at the same luminance, not clipped.

Grayscale, RGB (its colour is dropped first), RGBA/LA (alpha kept), 16-bit, palette and EXIF-rotated
photographs (written upright) are taken. Outputs keep the input's format (JPEG at quality 95), except BMP
and unknown formats, written as PNG; they are always 8 bits per channel, and no metadata is copied.
Folders are walked recursively and mirrored under the output folder. A file that cannot be read is reported
and skipped; a write that fails (a full disk, a read-only folder) stops the run there, and so does Ctrl-C,
each with a one-line summary. The exit status is 0 when every photograph was coloured, 1 when any could not
be or a write failed, 2 for bad arguments (a missing input, an output that is a file or would overwrite an
input, a file that is not a model), 130 on Ctrl-C. Outputs are written atomically.

The conversions (`colorizer.color.lightness_of` and `colorizer.color.lab_to_srgb8`) are sRGB (D65) <-> CIE Lab
exactly as scikit-image does them, but in float32, in strips of rows and through lookup tables:
scikit-image's float64 ``rgb2lab`` alone takes 4.5 s and 1 GB on a 12-megapixel photograph.
"""

import argparse
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from colorizer import DOWNSAMPLING
from colorizer.atomic import replacing
from colorizer.color import AB_SCALE, lab_to_srgb8, lightness_of
from colorizer.hints import BadHints, hint_map, is_sidecar, read_sidecar, sidecar_of
from colorizer.data.images import WIDE_GRAY_MODES, UnreadableImage, find_images, open_upright, wide_gray_levels

DEFAULT_MODEL = "models/colorizer.keras"
DEFAULT_SIZE = 256  # long side of the working resolution, in pixels (see docs/colorize.md for the choice)
DEFAULT_BATCH = 4
MAX_SATURATION = 4.0  # as export.saturation
STRIP = 256  # rows converted at a time: memory does not grow with the photograph
JPEG_QUALITY = 95
SAVE_AS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
SAVE_OPTIONS = {"JPEG": {"quality": JPEG_QUALITY}, "WEBP": {"quality": JPEG_QUALITY},
                "TIFF": {"compression": "tiff_lzw"},
                "PNG": {"compress_level": 1}}  # zlib level 1: 2.5x faster than 6 on 12 MP, files 13% larger


# ---------------------------------------------------------------------------------------------------------
# Photographs in, photographs out


@dataclass
class Photo:
    pixels: np.ndarray  # (H, W) gray or (H, W, 3) RGB, uint8 or uint16, upright
    alpha: np.ndarray | None  # (H, W) uint8, kept as it was
    small: np.ndarray  # (h, w) L at the working size, what the network sees
    hints: np.ndarray | None = None  # (h, w, 3) the hint map at the working size (`colorizer.hints`), if any


def working_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(h, w): the long side ``size`` (or the photograph's own, if smaller), the aspect kept, both sides
    rounded to multiples of `DOWNSAMPLING`."""
    scale = min(1.0, size / max(height, width))
    return tuple(max(DOWNSAMPLING, round(side * scale / DOWNSAMPLING) * DOWNSAMPLING) for side in (height, width))


def split_channels(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode as (pixels, alpha): gray or RGB integer codes, and the alpha channel if there is one."""
    if image.mode in WIDE_GRAY_MODES:
        return (wide_gray_levels(image) * 65535.0 + 0.5).astype(np.uint16), None
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L")), None
    if image.mode in ("LA", "La"):
        gray_alpha = np.asarray(image.convert("LA"))
        return gray_alpha[..., 0], gray_alpha[..., 1]
    if image.mode in ("RGBA", "RGBa", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"))
        return rgba[..., :3], rgba[..., 3]
    return np.asarray(image.convert("RGB")), None


def read_photo(path, size: int, hints_file=None) -> Photo:
    """The photograph at ``path``, upright, with its lightness at the working size, and the hint map of
    ``hints_file`` when one is given; `UnreadableImage` if the photograph cannot be read, `BadHints` if the
    hints cannot be used."""
    image = open_upright(path)
    try:
        pixels, alpha = split_channels(image)
    except (OSError, ValueError) as error:
        raise UnreadableImage(f"cannot convert a {image.mode} image: {error}") from None
    height, width = pixels.shape[:2]
    h, w = working_size(height, width, size)
    # Pillow resizes 8-bit gray, RGB and 16-bit gray (I;16) with antialiasing, like `colorizer.data.images.resize`.
    small = np.asarray(Image.fromarray(pixels).resize((w, h), Image.Resampling.BILINEAR))
    hints = None
    if hints_file is not None:  # points in pixels of the photograph as displayed: upright, as `pixels` is
        hints = hint_map(read_sidecar(hints_file, height, width), (height, width), (h, w))
    return Photo(pixels, alpha, lightness_of(small), hints)


def enlarge(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of one float32 channel to (height, width)."""
    return np.asarray(Image.fromarray(channel).resize((width, height), Image.Resampling.BILINEAR))


def colorize_photo(photo: Photo, ab_scaled: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    """The full-resolution colour photograph (uint8 RGB, or RGBA when the input had alpha) from the network's
    ab / 128 at the working size and the photograph's own lightness."""
    height, width = photo.pixels.shape[:2]
    scale = np.float32(AB_SCALE * saturation)
    a, b = (enlarge(np.ascontiguousarray(ab_scaled[..., i]) * scale, height, width) for i in range(2))
    out = np.empty((height, width, 3 if photo.alpha is None else 4), np.uint8)
    for top in range(0, height, STRIP):
        rows = slice(top, top + STRIP)
        out[rows, :, :3] = lab_to_srgb8(lightness_of(photo.pixels[rows]), a[rows], b[rows])
    if photo.alpha is not None:
        out[..., 3] = photo.alpha
    return out


def output_name(relative: Path) -> Path:
    """The output's path: the input's, with BMP (and any format Pillow cannot write back) as PNG."""
    return relative if relative.suffix.lower() in SAVE_AS else relative.with_suffix(".png")


def save(pixels: np.ndarray, path: Path) -> None:
    """Write atomically: a crash or Ctrl-C never leaves a half-written file at ``path``."""
    fmt = SAVE_AS[path.suffix.lower()]
    with replacing(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt, **SAVE_OPTIONS[fmt])


# ---------------------------------------------------------------------------------------------------------
# The model


def load_model(spec: str):
    """A colorizer from a ``.keras`` file, from an ``.onnx`` file (ONNX Runtime, no TensorFlow:
    `colorizer.inference.onnx_model`), or from MLflow for a URI (``runs:/<run id>/model``, ``models:/colorizer@champion``)
    resolved against this project's tracking store (``MLFLOW_TRACKING_URI`` or ``mlflow.db``)."""
    if ":/" in spec:
        import mlflow

        import colorizer.network.model  # noqa: F401  registers the read-out layers, for a model logged with mlflow.keras
        from colorizer.tracking import store as tracking

        mlflow.set_tracking_uri(tracking.tracking_uri())
        logged = mlflow.pyfunc.load_model(spec)
        if "keras" in logged.metadata.flavors:  # logged with mlflow.keras, as export did before
            return logged.get_raw_model()
        return logged.unwrap_python_model().network  # export's pyfunc model, colorizer.tracking.pyfunc.Colorizer
    if not Path(spec).is_file():
        raise FileNotFoundError(f"no model file {spec} (train one with `dvc repro`, or give --model)")
    from colorizer.inference import onnx_model

    if onnx_model.is_onnx(spec):
        return onnx_model.load(spec)
    from colorizer.inference.predict import load

    if not zipfile.is_zipfile(spec):
        raise ValueError(f"{spec} is not a Keras model (a .keras file is a zip archive; this one is not)")
    return load(spec)


# ---------------------------------------------------------------------------------------------------------
# Many files


def plan(inputs: list, output) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, target) pairs for the files and folders in ``inputs``, and the inputs that do not exist.

    A folder is walked recursively and mirrored under ``output``; when ``output`` is inside it, what is
    already in ``output`` (an earlier run's results) is not an input. Raises ValueError when a target would
    overwrite an input, or when two inputs would share a target.
    """
    output = Path(output)
    pairs, missing = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            nested = item.resolve() in output.resolve().parents  # the output folder is inside this one
            for relative in find_images(item):
                if is_sidecar(relative):  # a photograph's hints, read with it
                    continue
                if not (nested and output.resolve() in (item / relative).resolve().parents):
                    pairs.append((item / relative, output / output_name(relative)))
        elif item.is_file():
            pairs.append((item, output / output_name(Path(item.name))))
        else:
            missing.append(str(item))
    identities = {_identity(src) for src, _ in pairs}
    unique, seen = [], {}  # resolved target -> the identity of its source
    for src, target in pairs:
        if target.resolve() in seen:
            if seen[target.resolve()] == _identity(src):  # the same file named twice
                continue
            raise ValueError(f"two inputs would both be written to {target}, one of them {src}")
        seen[target.resolve()] = _identity(src)
        if target.exists() and _identity(target) in identities:
            raise ValueError(f"{target} is an input: choose an output folder that holds no input file")
        unique.append((src, target))
    return unique, missing


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()  # follows symbolic links; hard links share the inode
    return stat.st_dev, stat.st_ino


class Stopped(Exception):
    """The run ended before its last photograph: an output could not be written (a full disk, a read-only
    folder: every later write would fail too), or Ctrl-C. Says how far it got."""

    def __init__(self, reason: str, coloured: int, failed: list):
        super().__init__(reason)
        self.reason, self.coloured, self.failed = reason, coloured, failed


def hints_file_of(source: Path, hints="sidecar") -> Path | None:
    """The hints for ``source``: its sidecar (``photo.jpg.hints.json``) when ``hints`` is "sidecar" and there is
    one, the file ``hints`` names, or none when ``hints`` is None (``--no-hints``)."""
    if hints is None:
        return None
    if hints != "sidecar":
        return Path(hints)
    sidecar = sidecar_of(source)
    return sidecar if sidecar.is_file() else None


def colorize_files(model, pairs, size: int = DEFAULT_SIZE, saturation: float = 1.0,
                   batch_size: int = DEFAULT_BATCH, progress: bool | None = None, hints="sidecar",
                   hinted: list | None = None) -> list[tuple[Path, str]]:
    """Colour every (source, target) pair; returns the (source, reason) of those that could not be read.

    ``hints``: "sidecar" reads each photograph's hints file when it has one (`colorizer.hints`), None reads
    none, and a path reads that file (for a single photograph). A photograph whose hints cannot be used is
    skipped like an unreadable one, with the reason; the sources coloured with hints are appended to
    ``hinted``.

    Consecutive photographs with the same working size go through the network together, up to
    ``batch_size``; only their working-size lightness and decoded pixels wait in memory. The first write
    that fails, and Ctrl-C, end the run with `Stopped`.
    """
    from colorizer.inference.predict import network_input, takes_hints

    with_hints = takes_hints(model)
    hinted = [] if hinted is None else hinted
    failed, coloured = [], 0
    bar = tqdm(total=len(pairs), unit="photo", file=sys.stderr,
               disable=None if progress is None else not progress)  # None: shown on a terminal only

    def fail(source, reason):
        failed.append((source, reason))
        tqdm.write(f"colorize: skipped {source}: {reason}", file=sys.stderr)
        bar.update()

    def flush(batch):
        nonlocal coloured
        if not batch:
            return
        lightness = np.stack([photo.small for _, _, photo in batch])[..., None]
        maps = None
        if with_hints:
            maps = np.stack([np.zeros((*photo.small.shape, 3), np.float32) if photo.hints is None else photo.hints
                             for _, _, photo in batch])
        ab = np.asarray(model.predict_on_batch(network_input(model, lightness, maps)), np.float32)
        for (source, target, photo), ab_scaled in zip(batch, ab):
            try:
                save(colorize_photo(photo, ab_scaled, saturation), target)
            except OSError as error:
                raise Stopped(f"cannot write {target}: {error.strerror or error}", coloured, failed) from None
            coloured += 1
            if photo.hints is not None:
                hinted.append(source)
            bar.update()
        batch.clear()

    batch = []
    try:
        for source, target in pairs:
            hints_file = hints_file_of(source, hints)
            if hints_file is not None and not with_hints:
                fail(source, f"it has hints ({hints_file}) but the model takes none (trained without them); "
                             f"use a model trained with train.hints: true, or --no-hints")
                continue
            try:
                photo = read_photo(source, size, hints_file)
            except (UnreadableImage, OSError) as error:
                fail(source, str(error))
                continue
            except BadHints as error:
                fail(source, f"bad hints: {error}")
                continue
            if batch and (len(batch) == batch_size or batch[0][2].small.shape != photo.small.shape):
                flush(batch)
            batch.append((source, target, photo))
        flush(batch)
    except KeyboardInterrupt:
        raise Stopped("interrupted", coloured, failed) from None
    finally:
        bar.close()
    return failed


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("colorizer")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --size, --saturation and --temperature: which model colours, and how (colorize-studio too)."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"a .keras file, an .onnx file (ONNX Runtime, no TensorFlow needed) or an MLflow "
                             f"model URI such as runs:/<run id>/model (default {DEFAULT_MODEL})")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE,
                        help=f"long side in pixels at which colour is predicted, rounded to a multiple of "
                             f"{DOWNSAMPLING}; the photograph keeps its own size (default {DEFAULT_SIZE})")
    parser.add_argument("--saturation", type=float, default=1.0,
                        help="colour strength: 1 as predicted, 0 grey, 1.5 half as strong again (default 1)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="distribution-head models: the read-out temperature, 1 safe and greyer, 0.38 "
                             "vivid (default: the model's own, export.temperature in params.yaml)")


def check_model_options(parser: argparse.ArgumentParser, args) -> None:
    """A parser error for a value of `add_model_options`' options out of its range."""
    if args.size < DOWNSAMPLING:
        parser.error(f"--size must be at least {DOWNSAMPLING}")
    if not 0 <= args.saturation <= MAX_SATURATION:  # NaN fails too
        parser.error(f"--saturation must be between 0 and {MAX_SATURATION:g} (export.saturation's range)")
    if args.temperature is not None and not (0 < args.temperature <= 10):
        parser.error("--temperature must be in (0, 10]")


def point(text: str) -> tuple[float, float]:
    """``X,Y`` -> (x, y), for --suggest."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in pixels, such as 120,64; got {text!r}") from None
    return x, y


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="colorize", description="Colour black-and-white photographs at their full resolution.",
        usage="colorize [options] -o OUTPUT INPUT [INPUT ...]\n       colorize [options] --suggest X,Y PHOTO",
        epilog="Exit status: 0 all coloured, 1 some could not be, 2 bad arguments or no usable model.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photographs, or folders walked recursively")
    parser.add_argument("-o", "--output", help="folder for the coloured photographs (required, except with --suggest)")
    add_model_options(parser)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help=f"photographs of one working size predicted together (default {DEFAULT_BATCH})")
    hints = parser.add_mutually_exclusive_group()
    hints.add_argument("--hints", metavar="FILE",
                       help="the colour hints of the one photograph given (JSON: {\"points\": [{\"x\": 120, "
                            "\"y\": 64, \"color\": \"#a03c28\"}]}); by default each photograph's sidecar "
                            "PHOTO.hints.json is read when there is one")
    hints.add_argument("--no-hints", action="store_true", help="ignore hints sidecars")
    parser.add_argument("--suggest", metavar="X,Y", type=point,
                        help="print the most likely colours at pixel X,Y of the one photograph given (sRGB hex "
                             "and probability; distribution-head models), given its hints; colours nothing")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"colorize {_version()}")
    args = parser.parse_args(argv)
    if args.output is None and args.suggest is None:
        parser.error("the following arguments are required: -o/--output")
    check_model_options(parser, args)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return colorize_command(args)
    except KeyboardInterrupt:  # before the first photograph (while loading the model)
        print("colorize: interrupted, nothing coloured", file=sys.stderr)
        return 130


def suggest_command(args) -> int:
    """--suggest X,Y PHOTO: the most likely colours there, one line each: hex and probability."""
    from colorizer.inference.suggestions import NoDistribution, suggest

    if len(args.inputs) != 1 or not Path(args.inputs[0]).is_file():
        print("colorize: --suggest X,Y takes one photograph", file=sys.stderr)
        return 2
    source = Path(args.inputs[0])
    from colorizer.inference.onnx_model import is_onnx

    if is_onnx(args.model):  # the file gives the colour only; the distribution is the Keras model's
        print(f"colorize: --suggest needs the Keras model (models/colorizer.keras): an ONNX file such as "
              f"{args.model} gives the colour, not the distribution over colours to suggest from", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model)
    except Exception as error:
        print(f"colorize: cannot load the model {args.model}: {error}", file=sys.stderr)
        return 2
    from colorizer.inference.predict import takes_hints

    hints_file = hints_file_of(source, None if args.no_hints or not takes_hints(model) else args.hints or "sidecar")
    try:
        photo = read_photo(source, args.size, hints_file)
    except (UnreadableImage, OSError, BadHints) as error:
        print(f"colorize: {source}: {error}", file=sys.stderr)
        return 1
    (x, y), (height, width), (h, w) = args.suggest, photo.pixels.shape[:2], photo.small.shape
    if not (0 <= x < width and 0 <= y < height):
        print(f"colorize: --suggest {x:g},{y:g} is outside {source}, which is {width}x{height}", file=sys.stderr)
        return 2
    try:
        found = suggest(model, photo.small, x * w / width, y * h / height, photo.hints)
    except NoDistribution as error:
        print(f"colorize: {error}", file=sys.stderr)
        return 2
    for item in found:
        print(f"{item.colour}  {item.probability:.3f}")
    return 0


def colorize_command(args) -> int:
    if args.suggest is not None:
        return suggest_command(args)
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        print(f"colorize: the output {output} is a file; give a folder (-o)", file=sys.stderr)
        return 2
    try:
        pairs, missing = plan(args.inputs, output)
    except (ValueError, OSError) as error:
        print(f"colorize: {error}", file=sys.stderr)
        return 2
    if missing:
        for item in missing:
            print(f"colorize: no such file or folder: {item}", file=sys.stderr)
        return 2
    hints = None if args.no_hints else args.hints or "sidecar"
    if args.hints is not None:
        if len(pairs) != 1 or not Path(args.inputs[0]).is_file():
            print("colorize: --hints gives the hints of one photograph; name one photograph, or put a sidecar "
                  "PHOTO.hints.json beside each", file=sys.stderr)
            return 2
        if not Path(args.hints).is_file():
            print(f"colorize: no hints file {args.hints}", file=sys.stderr)
            return 2
    if not pairs:
        print("colorize: no photographs found", file=sys.stderr)
        return 1
    from colorizer.inference.onnx_model import is_onnx

    if args.temperature is not None and is_onnx(args.model):
        print(f"colorize: --temperature needs the Keras model (models/colorizer.keras): the read-out of an ONNX "
              f"file such as {args.model} is fixed when it is exported (export.temperature in params.yaml)",
              file=sys.stderr)
        return 2
    try:
        model = load_model(args.model)
        if args.temperature is not None:
            from colorizer.network.model import set_vividness

            set_vividness(model, temperature=args.temperature)
    except Exception as error:  # a missing file, a bad URI, an unreachable MLflow store: all say why
        print(f"colorize: cannot load the model {args.model}: {error}", file=sys.stderr)
        return 2
    if args.hints is not None:
        from colorizer.inference.predict import takes_hints

        if not takes_hints(model):
            print(f"colorize: the model {args.model} takes no hints (it was trained without them); use a model "
                  f"trained with train.hints: true, or leave out --hints", file=sys.stderr)
            return 2
    hinted = []
    try:
        failed = colorize_files(model, pairs, args.size, args.saturation, args.batch_size,
                                progress=False if args.quiet else None, hints=hints, hinted=hinted)
    except Stopped as stop:
        print(f"colorize: stopped ({stop.reason}): {stop.coloured} of {len(pairs)} photographs coloured into "
              f"{output}" + (f", {len(stop.failed)} skipped" if stop.failed else ""), file=sys.stderr)
        return 130 if stop.reason == "interrupted" else 1
    print(f"colorize: {len(pairs) - len(failed)} of {len(pairs)} photographs coloured into {output}"
          + (f" ({len(hinted)} with hints)" if hinted else "")
          + (f"; {len(failed)} skipped, listed above" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
