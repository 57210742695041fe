"""Command ``colorize-studio``: colour a photograph in the browser, point by point, and see it follow.

    colorize-studio [FOLDER] [--model models/colorizer.keras] [--output coloured] [--host 127.0.0.1] [--port 8765]

A page served on this machine (127.0.0.1 unless ``--host`` says otherwise) opens a photograph of FOLDER, or one
uploaded, and colours it at once. A click on it adds a colour hint there (`colorizer.hints`), of the colour shown
at that point; the colours the network finds most likely at that point (`colorizer.inference.suggestions`, distribution-head
models) and a colour picker change it. Points can be dragged, deleted and undone, and the colouring follows
each change. Save writes the full-resolution result and its hints sidecar (``<photograph's file name>.hints.json``)
into the output folder, exactly as ``colorize --hints`` would produce them again.

How it stays live: the network runs at the working size (``--size``, 256 px long side, as ``colorize``); what the
page shows is that colour on the photograph's lightness at up to `PREVIEW` pixels, sent as a JPEG; the full
resolution only on Save. The page keeps one request in flight and folds every change made meanwhile into the
next one, and the server drops a request that a newer one of the same photograph has overtaken while it waited
for the network: clicks faster than the network are superseded, never queued.

What it refuses: a name outside FOLDER (``..``, an absolute path, a link leading out of it), an upload larger than
``--max-upload-mb`` or that Pillow cannot open (a message on the page; the server goes on), a write outside the
output folder or over the photograph itself, and on the loopback address a request whose Host header names
another site (DNS rebinding). Every asset is served from this package (`STATIC`): the page loads nothing from
another site. The standard library's `http.server` serves it: no dependency beyond the project's own.
"""

import argparse
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
from PIL import Image

from colorizer.apps.colorize import (DEFAULT_SIZE, Photo, _version, add_model_options, check_model_options,
                                colorize_photo, load_model, output_name, read_photo, save, working_size)
from colorizer.hints import SUFFIX, BadHints, Hint, default_size, hint_map, is_sidecar, parse_hints, write_sidecar
from colorizer.data.images import UnreadableImage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_OUTPUT = "coloured"
DEFAULT_MAX_UPLOAD_MB = 25.0
PREVIEW = 512  # long side, in pixels, of what the page shows while points change (the photograph's, if smaller)
PREVIEW_QUALITY = 90
MAX_OPEN = 8  # photographs kept open at once (each holds its decoded pixels); the oldest is closed first
MAX_JSON = 1 << 20  # bytes of a request's JSON body
MAX_LISTED = 10_000  # photographs of FOLDER listed on the page
STATIC = "studio_static"  # the page: colorizer/apps/studio_static/, package data
PAGES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/static/style.css": ("style.css", "text/css; charset=utf-8")}
SECURITY_HEADERS = {  # nothing from another origin, and no other page may frame this one
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class Refused(Exception):
    """A request the studio will not do; ``status`` is the HTTP status, the message is shown on the page."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------------------
# Paths: nothing outside the folders given


def inside(root: Path, name: str, what: str) -> Path:
    """``root / name`` for a relative POSIX ``name`` that stays inside ``root`` once every link is followed;
    `Refused` for an absolute path, ``..``, a hidden part or a link leading out."""
    parts = PurePosixPath(name).parts if name and "\\" not in name and "\0" not in name else ()
    if (not parts or PurePosixPath(name).is_absolute()
            or any(part in ("..", ".") or part.startswith(".") for part in parts)):
        raise Refused(HTTPStatus.FORBIDDEN, f"{name!r} is not a {what}: only names inside the folder are")
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise Refused(HTTPStatus.FORBIDDEN, f"{name!r} leads outside the folder (a link): refused")
    return path


def upload_name(header: str | None) -> str:
    """The file name an upload is saved under: the last part of the name the browser gave, never hidden."""
    name = PurePosixPath(unquote(header or "").replace("\\", "/").replace("\0", "")).name.strip()
    return name[-150:] if name and not name.startswith(".") else "upload.png"


# ---------------------------------------------------------------------------------------------------------
# One open photograph


@dataclass
class Opened:
    name: str  # the photograph's file name
    relative: PurePosixPath  # where its outputs go under the output folder
    source: Path | None  # the file in FOLDER; None for an upload
    photo: Photo  # the photograph upright at full resolution, and its working-size L
    shown: Photo  # the same at `PREVIEW`: what the page shows
    points: list  # the hints found for it when it was opened (page form: x, y, color, size)
    latest: int = 0  # the newest colouring request's sequence number
    latest_suggestion: int = 0
    colouring: int = 0  # colouring requests waiting for the network or in it: suggestions give way to them
    key: str = ""  # what the page names it by
    note: str | None = None  # said on the page when it opens
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> tuple[int, int]:
        return self.photo.pixels.shape[:2]


def shrink(photo: Photo, side: int) -> Photo:
    """``photo`` with its pixels (and alpha) at most ``side`` pixels on the long side; the same working L."""
    height, width = photo.pixels.shape[:2]
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return photo

    def resized(pixels):
        return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))

    return Photo(resized(photo.pixels), None if photo.alpha is None else resized(photo.alpha), photo.small)


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., :3]).save(buffer, "JPEG", quality=PREVIEW_QUALITY, subsampling=0)
    return buffer.getvalue()


def lightness_of_hex(colour: str) -> float:
    """The Lab L of an sRGB ``#rrggbb``: kept in the sidecar's hint so that its hex is the colour chosen."""
    from colorizer.color import srgb_to_lab

    return float(srgb_to_lab(np.frombuffer(bytes.fromhex(colour[1:]), np.uint8).reshape(1, 1, 3))[0, 0, 0])


def page_points(path: Path, height: int, width: int) -> list[dict]:
    """The points of the sidecar ``path`` as the page holds them (colours as ``#rrggbb``); `BadHints` if unusable."""
    from colorizer.hints import HEX, read_sidecar

    hints = read_sidecar(path, height, width)  # checks every point: below, each is known to be well formed
    points = []
    for hint, raw in zip(hints, json.loads(path.read_text(encoding="utf-8"))["points"]):
        digits = HEX.fullmatch(raw["color"].strip()).group(1)
        digits = "".join(d * 2 for d in digits) if len(digits) == 3 else digits
        points.append({"x": hint.x, "y": hint.y, "color": "#" + digits.lower(), "size": hint.size})
    return points


# ---------------------------------------------------------------------------------------------------------
# The studio: the model, the folders and the open photographs; what the page asks, without HTTP


class Studio:
    def __init__(self, model, folder: Path | None, output: Path, size: int = DEFAULT_SIZE,
                 saturation: float = 1.0, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB):
        from colorizer.inference.predict import takes_hints
        from colorizer.inference.onnx_model import OnnxColorizer

        self.model, self.folder, self.output = model, folder, Path(output)
        if folder is not None and self.output.resolve() == folder.resolve():
            raise ValueError("the output folder is the photographs' folder: Save would overwrite them")
        # An output folder inside FOLDER holds outputs only: not offered as photographs, written to by Save.
        self.nested = folder is not None and self.output.resolve().is_relative_to(folder.resolve())
        self.size, self.saturation = size, saturation
        self.max_upload = int(max_upload_mb * 1024 * 1024)
        self.max_upload_mb = max_upload_mb
        self.takes_hints = takes_hints(model)
        self.distribution = None  # an ONNX file gives the colour only, not the distribution suggestions read
        if not isinstance(model, OnnxColorizer):
            from colorizer.network.model import has_distribution_head
            from colorizer.inference.suggestions import NoDistribution, distribution_model

            try:  # built once: `suggest` builds one a call, about 1 s for the default model on 2 cores
                self.distribution = distribution_model(model) if has_distribution_head(model) else None
            except NoDistribution:
                pass
        self.network = threading.Lock()  # one prediction at a time: each already uses every core
        self.opened: OrderedDict[str, Opened] = OrderedDict()
        self.guard = threading.Lock()
        self.uploads = Path(tempfile.mkdtemp(prefix="colorize-studio-"))

    def close(self) -> None:
        shutil.rmtree(self.uploads, ignore_errors=True)

    def warm_up(self) -> None:
        """Trace the network for two working shapes, so that Keras relaxes its predict function to any shape
        and the first click on a photograph of another size does not wait for a new trace."""
        for height, width in (working_size(self.size, self.size, self.size),
                              working_size(3 * self.size // 4, self.size, self.size)):
            lightness = np.full((height, width), 50.0, np.float32)
            self._predict(self.model, lightness, None)
            if self.distribution is not None:
                self._predict(self.distribution, lightness, None)

    # -- what the page shows first

    def info(self) -> dict:
        return {"folder": None if self.folder is None else str(self.folder), "photos": self.photos(),
                "output": str(self.output), "hints": self.takes_hints, "suggestions": self.distribution is not None,
                "max_upload_bytes": self.max_upload, "max_upload_mb": self.max_upload_mb, "size": self.size}

    def photos(self) -> list[str]:
        """The files of FOLDER the page offers, as `colorizer.data.images.find_images` finds them but without following
        a link to a folder (nothing outside FOLDER is even listed): no hidden file, no sidecar, nothing in the
        output folder, no link leading out. Whether each is a photograph is known when it is opened."""
        if self.folder is None:
            return []
        root, output = self.folder.resolve(), self.output.resolve()
        names = []
        for top, folders, files in os.walk(self.folder):
            folders[:] = [name for name in folders if not name.startswith(".")]
            for name in files:
                real = (Path(top) / name).resolve()
                if name.startswith(".") or is_sidecar(name) or not real.is_relative_to(root) \
                        or (self.nested and real.is_relative_to(output)):
                    continue
                names.append((Path(top) / name).relative_to(self.folder).as_posix())
                if len(names) == MAX_LISTED:
                    return sorted(names)
        return sorted(names)

    # -- opening

    def open_file(self, name: str) -> Opened:
        if self.folder is None:
            raise Refused(HTTPStatus.NOT_FOUND, "no folder was given: upload a photograph")
        path = inside(self.folder, name, "photograph of the folder")
        if not path.is_file():
            raise Refused(HTTPStatus.NOT_FOUND, f"no photograph {name} in {self.folder}")
        relative = PurePosixPath(name)
        return self._open(path, relative.name, relative, path)

    def open_upload(self, name: str, data: bytes) -> Opened:
        path = self.uploads / secrets.token_hex(8)
        path.write_bytes(data)
        try:
            return self._open(path, name, PurePosixPath(name), None)
        finally:
            path.unlink(missing_ok=True)

    def _open(self, path: Path, name: str, relative: PurePosixPath, source: Path | None) -> Opened:
        try:
            photo = read_photo(path, self.size)
        except (UnreadableImage, OSError) as error:
            raise Refused(HTTPStatus.UNPROCESSABLE_ENTITY,
                          f"{name} is not a photograph this page can open: {error}") from None
        opened = Opened(name, relative, source, photo, shrink(photo, PREVIEW), [])
        opened.points, note = self._earlier_points(opened)
        key = secrets.token_urlsafe(12)
        with self.guard:
            self.opened[key] = opened
            while len(self.opened) > MAX_OPEN:
                self.opened.popitem(last=False)
        opened.key, opened.note = key, note
        return opened

    def _earlier_points(self, opened: Opened) -> tuple[list, str | None]:
        """The points of the sidecar saved by an earlier Save, or else of the photograph's own sidecar in FOLDER,
        so that work goes on where it stopped; and a note when one could not be used."""
        if not self.takes_hints:
            return [], None
        candidates = [(self._sidecar(opened, check=False), self.output)]
        if opened.source is not None:
            candidates.append((opened.source.with_name(opened.source.name + SUFFIX), self.folder))
        for path, root in candidates:
            if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
                continue
            try:
                return page_points(path, *opened.size), None
            except (BadHints, OSError, ValueError, KeyError) as error:
                return [], f"the hints in {path} could not be used ({error}); starting without them"
        return [], None

    def get(self, key) -> Opened:
        with self.guard:
            opened = self.opened.get(key) if isinstance(key, str) else None
        if opened is None:
            raise Refused(HTTPStatus.GONE, "this photograph is no longer open here (the studio restarted, or "
                                           f"more than {MAX_OPEN} were opened since): open it again")
        return opened

    def describe(self, opened: Opened) -> dict:
        height, width = opened.size
        shown_height, shown_width = opened.shown.pixels.shape[:2]
        return {"id": opened.key, "name": opened.name, "width": width, "height": height,
                "shown_width": shown_width, "shown_height": shown_height,
                "point_size": default_size(height, width), "points": opened.points, "note": opened.note}

    # -- colouring

    def hints(self, opened: Opened, points) -> list[Hint]:
        """The page's points as hints of the photograph: the sidecar's format and checks (`parse_hints`), each
        colour ``#rrggbb``."""
        if not isinstance(points, list):
            raise Refused(HTTPStatus.BAD_REQUEST, "points must be a list")
        if points and not self.takes_hints:
            raise Refused(HTTPStatus.BAD_REQUEST, "this model takes no hints (it was trained without them)")
        for i, point in enumerate(points):
            if not (isinstance(point, dict) and isinstance(point.get("color"), str)
                    and COLOUR.fullmatch(point["color"])):
                raise Refused(HTTPStatus.BAD_REQUEST, f"point {i + 1}: a colour is #rrggbb")
        try:
            hints = parse_hints({"points": points}, *opened.size, name="the points")
        except BadHints as error:
            raise Refused(HTTPStatus.BAD_REQUEST, str(error)) from None
        return [replace(hint, lightness=lightness_of_hex(point["color"])) for hint, point in zip(hints, points)]

    def _predict(self, network, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        from colorizer.inference.predict import network_input

        inputs = network_input(self.model, lightness[None, ..., None], None if hints is None else hints[None])
        return np.asarray(network.predict_on_batch(inputs), np.float32)[0]

    def ab(self, opened: Opened, hints: list[Hint]) -> np.ndarray:
        """The network's ab / 128 at the working size, given ``hints``: what ``colorize`` computes."""
        small = opened.photo.small
        maps = hint_map(hints, opened.size, small.shape) if hints else None
        with self.network:
            return self._predict(self.model, small, maps)

    def _current(self, opened: Opened, seq, attribute: str) -> int:
        """Record ``seq`` as the newest request of its kind for ``opened``; returns it."""
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise Refused(HTTPStatus.BAD_REQUEST, "seq must be a whole number")
        with opened.lock:
            setattr(opened, attribute, max(getattr(opened, attribute), seq))
        return seq

    def preview(self, opened: Opened, points, seq) -> tuple[bytes, dict] | None:
        """The colouring at `PREVIEW` size as a JPEG, and the time each part took; None when a newer request
        of this photograph arrived while this one waited for the network (it is dropped, not run)."""
        hints = self.hints(opened, points)
        seq = self._current(opened, seq, "latest")
        small = opened.photo.small
        maps = hint_map(hints, opened.size, small.shape) if hints else None
        with opened.lock:
            opened.colouring += 1
        try:
            with self.network:
                if seq < opened.latest:
                    return None
                started = time.perf_counter()
                ab = self._predict(self.model, small, maps)
        finally:
            with opened.lock:
                opened.colouring -= 1
        network_ms = 1000 * (time.perf_counter() - started)
        started = time.perf_counter()
        data = jpeg(colorize_photo(opened.shown, ab, self.saturation))
        return data, {"network": network_ms, "picture": 1000 * (time.perf_counter() - started)}

    def before(self, opened: Opened) -> bytes:
        """The photograph as the network sees it, grey at its own lightness, at `PREVIEW` size."""
        return jpeg(colorize_photo(opened.shown, np.zeros((*opened.photo.small.shape, 2), np.float32)))

    def suggestions(self, opened: Opened, x, y, points, seq) -> list[dict] | None:
        """The colours the network finds most likely at (``x``, ``y``) of the photograph given the other
        ``points``, as `colorizer.inference.suggestions.suggest` gives them; None when overtaken by a newer request, or
        when a colouring of this photograph waits for the network (the page asks again after it)."""
        from colorizer.inference.suggestions import suggest

        if self.distribution is None:
            return []
        hints = self.hints(opened, points)
        seq = self._current(opened, seq, "latest_suggestion")
        (height, width), small = opened.size, opened.photo.small
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)) or \
                not (0 <= x < width and 0 <= y < height):
            raise Refused(HTTPStatus.BAD_REQUEST, f"the point ({x}, {y}) is outside the photograph")
        h, w = small.shape
        maps = hint_map(hints, opened.size, small.shape) if hints else None
        with self.network:
            if seq < opened.latest_suggestion or opened.colouring:
                return None
            found = suggest(self.model, small, x * w / width, y * h / height, maps,  # as colorize --suggest maps it
                            distribution=self.distribution)
        return [{"color": item.colour, "probability": item.probability} for item in found]

    # -- saving

    def _sidecar(self, opened: Opened, check: bool = True) -> Path:
        path = self.output.joinpath(*opened.relative.parent.parts, opened.name + SUFFIX)
        if check:
            self._writable(path)
        return path

    def _writable(self, path: Path) -> None:
        real = path.resolve()
        if not real.is_relative_to(self.output.resolve()):
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} leads outside the output folder (a link): not written")
        if self.folder is not None and real.is_relative_to(self.folder.resolve()) and not self.nested:
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} is in the photographs' folder {self.folder}: not written")

    def save(self, opened: Opened, points) -> dict:
        """Write the full-resolution colouring and its sidecar into the output folder (mirroring FOLDER's
        subfolders), as ``colorize PHOTO --hints SIDECAR`` would colour it again."""
        hints = self.hints(opened, points)
        target = self.output.joinpath(*opened.relative.parent.parts, output_name(Path(opened.name)).name)
        self._writable(target)
        sidecar = self._sidecar(opened)
        if opened.source is not None and target.exists() and target.samefile(opened.source):
            raise Refused(HTTPStatus.CONFLICT, f"saving would overwrite the photograph {opened.source} itself: "
                                               "start colorize-studio with another --output folder")
        pixels = colorize_photo(opened.photo, self.ab(opened, hints), self.saturation)
        try:
            save(pixels, target)
            if self.takes_hints:
                write_sidecar(sidecar, hints)
        except OSError as error:
            raise Refused(HTTPStatus.INSUFFICIENT_STORAGE,
                          f"cannot write {target}: {error.strerror or error}") from None
        opened.points = list(points)
        return {"photo": str(target), "hints": str(sidecar) if self.takes_hints else None,
                "points": len(hints)}


# ---------------------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    server_version = "colorize-studio"
    studio: Studio  # set on the subclass `make_server` builds
    allowed_hosts: set[str] | None = None  # Host headers answered; None: any (another address was asked for)

    def log_message(self, format, *args):  # noqa: A002  quiet: the page shows what went wrong
        pass

    # -- replies

    def send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, data, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send(status, json.dumps(data).encode(), "application/json")

    def refuse(self, status: HTTPStatus, message: str) -> None:
        self.send_json({"error": message}, status)

    # -- requests

    def do_GET(self):  # noqa: N802
        self.answer(self.get)

    def do_POST(self):  # noqa: N802
        self.answer(self.post)

    def answer(self, route) -> None:
        try:
            if self.allowed_hosts is not None and self.headers.get("Host", "") not in self.allowed_hosts:
                raise Refused(HTTPStatus.MISDIRECTED_REQUEST, "this page answers only at its own address")
            url = urlsplit(self.path)
            route(url.path, {key: values[-1] for key, values in parse_qs(url.query).items()})
        except Refused as refused:
            self.close_connection = True
            self.refuse(refused.status, str(refused))
        except (BrokenPipeError, ConnectionResetError):  # the page stopped waiting (a newer request)
            self.close_connection = True
        except Exception as error:  # a bug or a broken photograph must not stop the server
            self.close_connection = True
            try:
                self.refuse(HTTPStatus.INTERNAL_SERVER_ERROR, f"the studio failed: {type(error).__name__}: {error}")
            except OSError:
                pass

    def get(self, path: str, query: dict) -> None:
        studio = self.studio
        if path in PAGES:
            name, content_type = PAGES[path]
            self.send(HTTPStatus.OK, resources.files("colorizer.apps").joinpath(STATIC, name).read_bytes(), content_type)
        elif path == "/api/info":
            self.send_json(studio.info())
        elif path == "/api/open":
            self.send_json(studio.describe(studio.open_file(query.get("name", ""))))
        elif path == "/api/before":
            self.send(HTTPStatus.OK, studio.before(studio.get(query.get("id"))), "image/jpeg")
        else:
            raise Refused(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def body(self, limit: int, what: str) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise Refused(HTTPStatus.LENGTH_REQUIRED, f"the {what} has no length") from None
        if length > limit:
            self.drain(length)
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the {what} is {length / 2**20:.1f} MB; "
                          f"this page takes at most {limit / 2**20:g} MB (colorize-studio --max-upload-mb)")
        return self.rfile.read(length)

    def drain(self, length: int) -> None:
        """Read what the browser sends past the limit, up to 4 times it, so that it reads the reply instead of
        a reset connection; past that the connection is closed."""
        left = min(length, 4 * max(self.studio.max_upload, MAX_JSON))
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)

    def json_body(self) -> dict:
        if self.headers.get_content_type() != "application/json":  # also makes a cross-site form need a preflight
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "expected application/json")
        try:
            data = json.loads(self.body(MAX_JSON, "request"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not a JSON object")
        return data

    def post(self, path: str, query: dict) -> None:
        studio = self.studio
        if path == "/api/upload":
            if "X-File-Name" not in self.headers:  # a custom header: a cross-site page cannot send it unasked
                raise Refused(HTTPStatus.BAD_REQUEST, "an upload names its file in X-File-Name")
            name = upload_name(self.headers["X-File-Name"])
            data = self.body(studio.max_upload, f"photograph {name}")
            self.send_json(studio.describe(studio.open_upload(name, data)))
            return
        if path not in ("/api/colour", "/api/suggest", "/api/save"):
            raise Refused(HTTPStatus.NOT_FOUND, f"nothing at {path}")
        data = self.json_body()
        opened = studio.get(data.get("id"))
        points = data.get("points", [])
        if path == "/api/colour":
            done = studio.preview(opened, points, data.get("seq", 0))
            if done is None:
                self.send_json({"superseded": True}, HTTPStatus.CONFLICT)
                return
            picture, took = done
            timing = ", ".join(f"{key};dur={value:.1f}" for key, value in took.items())
            self.send(HTTPStatus.OK, picture, "image/jpeg", {"Server-Timing": timing})
        elif path == "/api/suggest":
            found = studio.suggestions(opened, data.get("x"), data.get("y"), points, data.get("seq", 0))
            if found is None:
                self.send_json({"superseded": True}, HTTPStatus.CONFLICT)
            else:
                self.send_json({"suggestions": found})
        else:
            self.send_json(studio.save(opened, points))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(studio: Studio, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """A server for ``studio`` listening on ``host``:``port`` (0: any free port), not yet serving."""
    import socket

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = Server((host.strip("[]"), port), type("StudioHandler", (Handler,), {"studio": studio}))
    if is_loopback(host):
        port = server.server_address[1]
        server.RequestHandlerClass.allowed_hosts = {f"{name}:{port}" for name in
                                                    ("127.0.0.1", "localhost", "[::1]", host)}
    return server


def serve_in_background(studio: Studio, host: str = DEFAULT_HOST, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``studio`` answering from a daemon thread (for tests and benchmarks); ``shutdown()`` stops it."""
    server = make_server(studio, host, port)
    threading.Thread(target=server.serve_forever, name="colorize-studio", daemon=True).start()
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


# ---------------------------------------------------------------------------------------------------------
# The command


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="colorize-studio",
        description="Colour a photograph in your browser: click a point, choose its colour, see the photograph "
                    "follow; Save writes the result and its hints sidecar, which colorize reads.",
        epilog="Exit status: 0 after Ctrl-C, 2 for bad arguments, no usable model or an address it cannot use.")
    parser.add_argument("folder", nargs="?", metavar="FOLDER",
                        help="photographs to choose from on the page (walked recursively); without it, upload one")
    add_model_options(parser)
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT,
                        help=f"folder that Save writes the coloured photograph and its hints into "
                             f"(default {DEFAULT_OUTPUT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; any other lets "
                             "whoever reaches it open FOLDER's photographs and write to the output folder)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on, 0 for any free one (default {DEFAULT_PORT})")
    parser.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB,
                        help=f"largest photograph the page takes as an upload, in MB "
                             f"(default {DEFAULT_MAX_UPLOAD_MB:g})")
    parser.add_argument("--version", action="version", version=f"colorize-studio {_version()}")
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


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    print(f"colorize-studio: loading the model {args.model} ...", file=sys.stderr)
    try:
        model = load_model(args.model)
        if args.temperature is not None:
            from colorizer.network.model import set_vividness

            set_vividness(model, temperature=args.temperature)
        studio = Studio(model, None if args.folder is None else Path(args.folder), Path(args.output), args.size,
                        args.saturation, args.max_upload_mb)
        studio.warm_up()
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        print(f"colorize-studio: cannot load the model {args.model}: {error}", file=sys.stderr)
        return 2
    try:
        server = make_server(studio, args.host, args.port)
    except OSError as error:
        print(f"colorize-studio: cannot listen on {args.host}:{args.port}: {error.strerror or error}; give another "
              "--port (0: any free one)", file=sys.stderr)
        studio.close()
        return 2
    if not is_loopback(args.host):
        print(f"colorize-studio: warning: listening on {args.host}, not only on this machine: anyone who can reach "
              f"it can open the photographs of {args.folder or 'their uploads'} and save into {args.output}; there "
              "is no password", file=sys.stderr)
    if not studio.takes_hints:
        print(f"colorize-studio: the model {args.model} takes no hints (trained without them): the page colours "
              "photographs but cannot take points", file=sys.stderr)
    print(f"colorize-studio: open {url_of(server)} in your browser (Ctrl-C stops it); Save writes into "
          f"{args.output}/", file=sys.stderr)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does, its temporary folder removed
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("colorize-studio: stopped", file=sys.stderr)
    finally:
        server.server_close()
        studio.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
