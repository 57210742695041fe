"""The command ``colorize-studio`` (`colorizer.apps.studio`): its options, and serving the page until Ctrl-C."""

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from colorizer.apps.colorize import add_model_options, check_model_options, model_of, version
from colorizer.apps.studio.server import DEFAULT_HOST, DEFAULT_PORT, is_loopback, make_server, url_of
from colorizer.apps.studio.workspace import DEFAULT_MAX_UPLOAD_MB, Studio

DEFAULT_OUTPUT = "coloured"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``colorize-studio``; exits with status 2 and a message for a bad one."""
    parser = argparse.ArgumentParser(
        prog="colorize-studio",
        description="Colour a photograph in your browser: click a point, choose its colour, see the photograph "
        "follow; Save writes the result and its hints sidecar, which colorize reads.",
        epilog="Exit status: 0 after Ctrl-C, 2 for bad arguments, no usable model or an address it cannot use.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        metavar="FOLDER",
        help="photographs to choose from on the page (walked recursively); without it, upload one",
    )
    add_model_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        help=f"folder that Save writes the coloured photograph and its hints into (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; any other lets "
        "whoever reaches it open FOLDER's photographs and write to the output folder)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on, 0 for any free one (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_MB,
        help=f"largest photograph the page takes as an upload, in MB (default {DEFAULT_MAX_UPLOAD_MB:g})",
    )
    parser.add_argument("--version", action="version", version=f"colorize-studio {version()}")
    args = parser.parse_args(argv)
    if args.folder is not None and not Path(args.folder).is_dir():
        parser.error(f"no folder {args.folder}")
    if Path(args.output).exists() and not Path(args.output).is_dir():
        parser.error(f"the output {args.output} is a file; give a folder (-o)")
    if args.folder is not None and Path(args.output).resolve() == Path(args.folder).resolve():
        parser.error("the output folder is the photographs' folder: Save would overwrite them; give another -o")
    check_model_options(parser, args)
    if not 0 < args.max_upload_mb <= 4096:
        parser.error("--max-upload-mb must be above 0 and at most 4096")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``colorize-studio``: returns the exit status."""
    args = parse_args(argv)
    print(f"colorize-studio: loading the model {args.model} ...", file=sys.stderr)
    try:
        model = model_of(args.model, args.temperature)
        studio = Studio(
            model,
            None if args.folder is None else Path(args.folder),
            Path(args.output),
            args.size,
            args.saturation,
            args.max_upload_mb,
        )
        studio.warm_up()
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        print(f"colorize-studio: cannot load the model {args.model}: {error}", file=sys.stderr)
        return 2
    try:
        server = make_server(studio, args.host, args.port)
    except OSError as error:
        print(
            f"colorize-studio: cannot listen on {args.host}:{args.port}: {error.strerror or error}; give another "
            "--port (0: any free one)",
            file=sys.stderr,
        )
        studio.close()
        return 2
    if not is_loopback(args.host):
        print(
            f"colorize-studio: warning: listening on {args.host}, not only on this machine: anyone who can reach "
            f"it can open the photographs of {args.folder or 'their uploads'} and save into {args.output}; there "
            "is no password",
            file=sys.stderr,
        )
    if not studio.takes_hints:
        print(
            f"colorize-studio: the model {args.model} takes no hints (trained without them): the page colours "
            "photographs but cannot take points",
            file=sys.stderr,
        )
    print(
        f"colorize-studio: open {url_of(server)} in your browser (Ctrl-C stops it); Save writes into {args.output}/",
        file=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does, its temporary folder removed
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("colorize-studio: stopped", file=sys.stderr)
    finally:
        server.server_close()
        studio.close()
    return 0
