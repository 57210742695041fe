"""Command ``colorize``: colour your own black-and-white photographs and films, at their own size.

    colorize old-photos/ scan.tif film.mp4 -o coloured/ [--model runs:/<run id>/model] [--saturation 1.2]

A video is coloured frame by frame with its colour held steady through each shot, and written as MP4 with its
audio (`colorizer.video`); everything below about photographs holds for each of its frames.

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

A photograph's path through the model is `colorizer.inference.photo`'s; the files and their hints are
`colorizer.apps.files`'; the model is loaded by `colorizer.inference.loading.load_model`. The conversions
(`colorizer.color.lightness_of` and `colorizer.color.lab_to_srgb8`) are sRGB (D65) <-> CIE Lab exactly as
scikit-image does them, but in float32, in strips of rows and through lookup tables: scikit-image's float64
``rgb2lab`` alone takes 4.5 s and 1 GB on a 12-megapixel photograph.
"""

import argparse
import sys
from pathlib import Path

from colorizer import DOWNSAMPLING
from colorizer.apps.files import DEFAULT_BATCH, DEFAULT_SIZE, NO_HINTS, HintsFrom, Stopped, colorize_files, plan
from colorizer.data.images import UnreadableImage
from colorizer.hints import BadHints
from colorizer.inference.loading import Network, load_model
from colorizer.inference.photo import read_photo
from colorizer.video.streams import is_video, missing_packages

DEFAULT_MODEL = "models/colorizer.keras"
MAX_SATURATION = 4.0  # as export.saturation


class Exit(Exception):
    """The command ends here with ``status``, after saying ``message`` (when there is one)."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# ---------------------------------------------------------------------------------------------------------
# Options


def version() -> str:
    """The installed package's version, "unknown" in a checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("colorizer")
    except PackageNotFoundError:
        return "unknown"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --size, --saturation and --temperature: which model colours, and how (colorize-studio too)."""
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"a .keras file, an .onnx file (ONNX Runtime, no TensorFlow needed) or an MLflow "
        f"model URI such as runs:/<run id>/model (default {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"long side in pixels at which colour is predicted, rounded to a multiple of "
        f"{DOWNSAMPLING}; the photograph keeps its own size (default {DEFAULT_SIZE})",
    )
    parser.add_argument(
        "--saturation",
        type=float,
        default=1.0,
        help="colour strength: 1 as predicted, 0 grey, 1.5 half as strong again (default 1)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="distribution-head models: the read-out temperature, 1 safe and greyer, 0.38 "
        "vivid (default: the model's own, export.temperature in params.yaml)",
    )


def check_model_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A parser error for a value of `add_model_options`' options out of its range."""
    if args.size < DOWNSAMPLING:
        parser.error(f"--size must be at least {DOWNSAMPLING}")
    if not 0 <= args.saturation <= MAX_SATURATION:  # NaN fails too
        parser.error(f"--saturation must be between 0 and {MAX_SATURATION:g} (export.saturation's range)")
    if args.temperature is not None and not (0 < args.temperature <= 10):
        parser.error("--temperature must be in (0, 10]")


def model_of(spec: str, temperature: float | None = None) -> Network:
    """The model ``spec`` (``--model``), its read-out at ``temperature`` (``--temperature``) when given."""
    model = load_model(spec)
    if temperature is not None:
        from colorizer.network.readout import set_vividness

        set_vividness(model, temperature=temperature)
    return model


def point(text: str) -> tuple[float, float]:
    """``X,Y`` -> (x, y), for --suggest."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in pixels, such as 120,64; got {text!r}") from None
    return x, y


def hints_from(args: argparse.Namespace) -> HintsFrom:
    """Where the photographs' hints come from: ``--hints FILE``, none for ``--no-hints``, else the sidecars."""
    return NO_HINTS if args.no_hints else HintsFrom(None if args.hints is None else Path(args.hints))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``colorize``; exits with status 2 and a message for a bad one."""
    parser = argparse.ArgumentParser(
        prog="colorize",
        description="Colour black-and-white photographs at their full resolution.",
        usage="colorize [options] -o OUTPUT INPUT [INPUT ...]\n       colorize [options] --suggest X,Y PHOTO",
        epilog="Exit status: 0 all coloured, 1 some could not be, 2 bad arguments or no usable model.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photographs, or folders walked recursively")
    parser.add_argument("-o", "--output", help="folder for the coloured photographs (required, except with --suggest)")
    add_model_options(parser)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"photographs of one working size predicted together (default {DEFAULT_BATCH})",
    )
    hints = parser.add_mutually_exclusive_group()
    hints.add_argument(
        "--hints",
        metavar="FILE",
        help='the colour hints of the one photograph given (JSON: {"points": [{"x": 120, '
        '"y": 64, "color": "#a03c28"}]}); by default each photograph\'s sidecar '
        "PHOTO.hints.json is read when there is one",
    )
    hints.add_argument("--no-hints", action="store_true", help="ignore hints sidecars")
    parser.add_argument(
        "--suggest",
        metavar="X,Y",
        type=point,
        help="print the most likely colours at pixel X,Y of the one photograph given (sRGB hex "
        "and probability; distribution-head models), given its hints; colours nothing",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"colorize {version()}")
    args = parser.parse_args(argv)
    if args.output is None and args.suggest is None:
        parser.error("the following arguments are required: -o/--output")
    check_model_options(parser, args)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


# ---------------------------------------------------------------------------------------------------------
# The command


def main(argv: list[str] | None = None) -> int:
    """``colorize``: returns the exit status."""
    args = parse_args(argv)
    try:
        return suggest_command(args) if args.suggest is not None else colorize_command(args)
    except Exit as stop:
        if stop.message is not None:
            print(f"colorize: {stop.message}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:  # before the first photograph (while loading the model)
        print("colorize: interrupted, nothing coloured", file=sys.stderr)
        return 130


def loaded(spec: str, temperature: float | None = None) -> Network:
    """`model_of`; `Exit` with status 2 and the reason when the model cannot be loaded."""
    try:
        return model_of(spec, temperature)
    except Exception as error:  # a missing file, a bad URI, an unreachable MLflow store: all say why
        raise Exit(2, f"cannot load the model {spec}: {error}") from None


def suggest_command(args: argparse.Namespace) -> int:
    """--suggest X,Y PHOTO: the most likely colours there, one line each: hex and probability."""
    from colorizer.inference.onnx_model import is_onnx
    from colorizer.inference.predict import takes_hints
    from colorizer.inference.suggestions import NoDistribution, suggest

    if len(args.inputs) != 1 or not Path(args.inputs[0]).is_file():
        raise Exit(2, "--suggest X,Y takes one photograph")
    source = Path(args.inputs[0])
    if is_onnx(args.model):  # the file gives the colour only; the distribution is the Keras model's
        raise Exit(
            2,
            f"--suggest needs the Keras model (models/colorizer.keras): an ONNX file such as "
            f"{args.model} gives the colour, not the distribution over colours to suggest from",
        )
    model = loaded(args.model)  # the distribution is the network's own: no read-out, no --temperature
    hints = hints_from(args) if takes_hints(model) else NO_HINTS
    try:
        photo = read_photo(source, args.size, hints.of(source))
    except (UnreadableImage, OSError, BadHints) as error:
        raise Exit(1, f"{source}: {error}") from None
    (x, y), (height, width), (h, w) = args.suggest, photo.pixels.shape[:2], photo.small.shape
    if not (0 <= x < width and 0 <= y < height):
        raise Exit(2, f"--suggest {x:g},{y:g} is outside {source}, which is {width}x{height}")
    try:
        found = suggest(model, photo.small, x * w / width, y * h / height, photo.hints)
    except NoDistribution as error:
        raise Exit(2, str(error)) from None
    for item in found:
        print(f"{item.colour}  {item.probability:.3f}")
    return 0


def planned(args: argparse.Namespace, hints: HintsFrom) -> list[tuple[Path, Path]]:
    """The (source, target) pairs of the inputs; `Exit` for an output that is a file, an input that is missing
    or would be overwritten, a --hints that is not one photograph's, and no photograph at all."""
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise Exit(2, f"the output {output} is a file; give a folder (-o)")
    try:
        pairs, missing = plan(args.inputs, output)
    except (ValueError, OSError) as error:
        raise Exit(2, str(error)) from None
    for item in missing:
        print(f"colorize: no such file or folder: {item}", file=sys.stderr)
    if missing:
        raise Exit(2)
    if hints.file is not None:
        if len(pairs) != 1 or not Path(args.inputs[0]).is_file():
            raise Exit(
                2,
                "--hints gives the hints of one photograph; name one photograph, or put a sidecar "
                "PHOTO.hints.json beside each",
            )
        if not hints.file.is_file():
            raise Exit(2, f"no hints file {args.hints}")
    if not pairs:
        raise Exit(1, "no photographs or videos found")
    return pairs


def counted(pairs: list[tuple[Path, Path]]) -> str:
    """ "3 photographs", or "3 files (1 video)" when there are videos among them."""
    videos = sum(is_video(source) for source, _ in pairs)
    if not videos:
        return f"{len(pairs)} photographs"
    return f"{len(pairs)} files ({videos} video{'s' if videos > 1 else ''})"


def colorize_command(args: argparse.Namespace) -> int:
    """Colour the inputs into ``--output``; returns the exit status, after a one-line summary."""
    from colorizer.inference.onnx_model import is_onnx
    from colorizer.inference.predict import takes_hints

    hints = hints_from(args)
    pairs = planned(args, hints)
    if args.temperature is not None and is_onnx(args.model):
        raise Exit(
            2,
            f"--temperature needs the Keras model (models/colorizer.keras): the read-out of an ONNX "
            f"file such as {args.model} is fixed when it is exported (export.temperature in params.yaml)",
        )
    if any(is_video(source) for source, _ in pairs) and (missing := missing_packages()):
        raise Exit(
            2,
            f"colouring video needs {' and '.join(missing)}, which are not installed: "
            f"pip install -c constraints.txt 'colorizer[video]' (or leave the videos out)",
        )
    model = loaded(args.model, args.temperature)
    if hints.file is not None and not takes_hints(model):
        raise Exit(
            2,
            f"the model {args.model} takes no hints (it was trained without them); use a model "
            f"trained with train.hints: true, or leave out --hints",
        )
    hinted, output = [], Path(args.output)
    try:
        failed = colorize_files(
            model,
            pairs,
            args.size,
            args.saturation,
            args.batch_size,
            progress=False if args.quiet else None,
            hints=hints,
            hinted=hinted,
        )
    except Stopped as stop:
        print(
            f"colorize: stopped ({stop.reason}): {stop.coloured} of {counted(pairs)} coloured into "
            f"{output}" + (f", {len(stop.failed)} skipped" if stop.failed else ""),
            file=sys.stderr,
        )
        return 130 if stop.reason == "interrupted" else 1
    print(
        f"colorize: {len(pairs) - len(failed)} of {counted(pairs)} coloured into {output}"
        + (f" ({len(hinted)} with hints)" if hinted else "")
        + (f"; {len(failed)} skipped, listed above" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
