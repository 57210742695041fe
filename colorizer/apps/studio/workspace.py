"""What the studio page works on, without HTTP: the model, the folders, the open photographs, their colouring,
suggestions and saving."""

import secrets
import shutil
import tempfile
import threading
import time
from http import HTTPStatus
from pathlib import Path, PurePosixPath

import numpy as np

from colorizer.apps.files import DEFAULT_SIZE
from colorizer.apps.studio.folders import Folders
from colorizer.apps.studio.opened import PREVIEW, Opened, OpenPhotographs, jpeg, shrink
from colorizer.apps.studio.points import hints_of_points, page_points
from colorizer.apps.studio.refusals import Refused
from colorizer.data.images import UnreadableImage
from colorizer.hints import BadHints, Hint, default_size, hint_map, write_sidecar
from colorizer.inference.loading import Network
from colorizer.inference.photo import colorize_photo, read_photo, save, working_size

DEFAULT_MAX_UPLOAD_MB = 25.0


def distribution_of(model: Network) -> Network | None:
    """The model over the ab bins that suggestions read (`colorizer.inference.suggestions.distribution_model`),
    built once; None for a model without one (a regression head, an ONNX file, which gives the colour only)."""
    from colorizer.inference.onnx_model import OnnxColorizer

    if isinstance(model, OnnxColorizer):
        return None
    from colorizer.inference.suggestions import NoDistribution, distribution_model
    from colorizer.network.readout import has_distribution_head

    try:  # built once: `suggest` builds one a call, about 1 s for the default model on 2 cores
        return distribution_model(model) if has_distribution_head(model) else None
    except NoDistribution:
        return None


class Studio:
    """The model, FOLDER and the output folder (`Folders`), and the photographs open (`OpenPhotographs`): each
    method is one thing the page asks."""

    def __init__(
        self,
        model: Network,
        folder: Path | None,
        output: Path,
        size: int = DEFAULT_SIZE,
        saturation: float = 1.0,
        max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    ) -> None:
        from colorizer.inference.predict import takes_hints

        self.model, self.folders = model, Folders(folder, output)
        self.folder, self.output = folder, self.folders.output
        self.size, self.saturation = size, saturation
        self.max_upload = int(max_upload_mb * 1024 * 1024)
        self.max_upload_mb = max_upload_mb
        self.takes_hints = takes_hints(model)
        self.distribution = distribution_of(model)
        self.network = threading.Lock()  # one prediction at a time: each already uses every core
        self.opened = OpenPhotographs()
        self.uploads = Path(tempfile.mkdtemp(prefix="colorize-studio-"))

    def close(self) -> None:
        """Remove the temporary folder uploads are decoded in."""
        shutil.rmtree(self.uploads, ignore_errors=True)

    def warm_up(self) -> None:
        """Trace the network for two working shapes, so that Keras relaxes its predict function to any shape
        and the first click on a photograph of another size does not wait for a new trace."""
        for height, width in (
            working_size(self.size, self.size, self.size),
            working_size(3 * self.size // 4, self.size, self.size),
        ):
            lightness = np.full((height, width), 50.0, np.float32)
            self._predict(self.model, lightness, None)
            if self.distribution is not None:
                self._predict(self.distribution, lightness, None)

    # -- what the page shows first

    def info(self) -> dict:
        """What the page starts from: the folders, the photographs offered, what the model takes."""
        return {
            "folder": None if self.folder is None else str(self.folder),
            "photos": self.photos(),
            "output": str(self.output),
            "hints": self.takes_hints,
            "suggestions": self.distribution is not None,
            "max_upload_bytes": self.max_upload,
            "max_upload_mb": self.max_upload_mb,
            "size": self.size,
        }

    def photos(self) -> list[str]:
        """The files of FOLDER the page offers (`Folders.photos`)."""
        return self.folders.photos()

    # -- opening

    def open_file(self, name: str) -> Opened:
        """The photograph ``name`` of FOLDER, opened."""
        path = self.folders.photograph(name)
        relative = PurePosixPath(name)
        return self._open(path, relative.name, relative, path)

    def open_upload(self, name: str, data: bytes) -> Opened:
        """The uploaded photograph ``data``, opened under the file name ``name``; its file deleted at once."""
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
            raise Refused(
                HTTPStatus.UNPROCESSABLE_ENTITY, f"{name} is not a photograph this page can open: {error}"
            ) from None
        opened = Opened(name, relative, source, photo, shrink(photo, PREVIEW), [])
        opened.points, note = self._earlier_points(opened)
        opened.key, opened.note = self.opened.add(opened), note
        return opened

    def _earlier_points(self, opened: Opened) -> tuple[list[dict], str | None]:
        """The points of the sidecar saved by an earlier Save, or else of the photograph's own sidecar in FOLDER,
        so that work goes on where it stopped; and a note when one could not be used."""
        if not self.takes_hints:
            return [], None
        for path in self.folders.sidecars(opened.relative, opened.name, opened.source)[:1]:
            try:
                return page_points(path, *opened.size), None
            except (BadHints, OSError, ValueError, KeyError) as error:
                return [], f"the hints in {path} could not be used ({error}); starting without them"
        return [], None

    def get(self, key: object) -> Opened:
        """The open photograph ``key`` names (`OpenPhotographs.get`)."""
        return self.opened.get(key)

    def describe(self, opened: Opened) -> dict:
        """What the page is told of ``opened``."""
        height, width = opened.size
        shown_height, shown_width = opened.shown.pixels.shape[:2]
        return {
            "id": opened.key,
            "name": opened.name,
            "width": width,
            "height": height,
            "shown_width": shown_width,
            "shown_height": shown_height,
            "point_size": default_size(height, width),
            "points": opened.points,
            "note": opened.note,
        }

    # -- colouring

    def hints(self, opened: Opened, points: object) -> list[Hint]:
        """The page's points as hints of the photograph (`hints_of_points`); none for a model without hints."""
        if isinstance(points, list) and points and not self.takes_hints:
            raise Refused(HTTPStatus.BAD_REQUEST, "this model takes no hints (it was trained without them)")
        return hints_of_points(points, *opened.size)

    def _predict(self, network: Network, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        from colorizer.inference.predict import network_input

        inputs = network_input(self.model, lightness[None, ..., None], None if hints is None else hints[None])
        return np.asarray(network.predict_on_batch(inputs), np.float32)[0]

    def _maps(self, opened: Opened, hints: list[Hint]) -> np.ndarray | None:
        return hint_map(hints, opened.size, opened.photo.small.shape) if hints else None

    def ab(self, opened: Opened, hints: list[Hint]) -> np.ndarray:
        """The network's ab / 128 at the working size, given ``hints``: what ``colorize`` computes."""
        maps = self._maps(opened, hints)
        with self.network:
            return self._predict(self.model, opened.photo.small, maps)

    def preview(self, opened: Opened, points: object, seq: object) -> tuple[bytes, dict[str, float]] | None:
        """The colouring at `PREVIEW` size as a JPEG, and the time each part took; None when a newer request
        of this photograph arrived while this one waited for the network (it is dropped, not run)."""
        hints = self.hints(opened, points)
        seq = opened.order.arrived(seq, "colouring")
        maps = self._maps(opened, hints)
        with opened.order.waiting(), self.network:
            if opened.order.colouring_overtaken(seq):
                return None
            started = time.perf_counter()
            ab = self._predict(self.model, opened.photo.small, maps)
        network_ms = 1000 * (time.perf_counter() - started)
        started = time.perf_counter()
        data = jpeg(colorize_photo(opened.shown, ab, self.saturation))
        return data, {"network": network_ms, "picture": 1000 * (time.perf_counter() - started)}

    def before(self, opened: Opened) -> bytes:
        """The photograph as the network sees it, grey at its own lightness, at `PREVIEW` size."""
        return jpeg(colorize_photo(opened.shown, np.zeros((*opened.photo.small.shape, 2), np.float32)))

    def suggestions(self, opened: Opened, x: object, y: object, points: object, seq: object) -> list[dict] | None:
        """The colours the network finds most likely at (``x``, ``y``) of the photograph given the other
        ``points``, as `colorizer.inference.suggestions.suggest` gives them; None when overtaken by a newer
        request, or when a colouring of this photograph waits for the network (the page asks again after it)."""
        from colorizer.inference.suggestions import suggest

        if self.distribution is None:
            return []
        hints = self.hints(opened, points)
        seq = opened.order.arrived(seq, "suggestion")
        (height, width), small = opened.size, opened.photo.small
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)) or not (
            0 <= x < width and 0 <= y < height
        ):
            raise Refused(HTTPStatus.BAD_REQUEST, f"the point ({x}, {y}) is outside the photograph")
        h, w = small.shape
        maps = self._maps(opened, hints)
        with self.network:
            if opened.order.suggestion_overtaken(seq):
                return None
            found = suggest(
                self.model,
                small,
                x * w / width,
                y * h / height,
                maps,  # as colorize --suggest maps it
                distribution=self.distribution,
            )
        return [{"color": item.colour, "probability": item.probability} for item in found]

    # -- saving

    def save(self, opened: Opened, points: object) -> dict:
        """Write the full-resolution colouring and its sidecar into the output folder (mirroring FOLDER's
        subfolders), as ``colorize PHOTO --hints SIDECAR`` would colour it again."""
        hints = self.hints(opened, points)
        target = self.folders.target(opened.relative, opened.name)
        self.folders.writable(target)
        sidecar = self.folders.sidecar(opened.relative, opened.name)
        self.folders.writable(sidecar)
        if opened.source is not None and target.exists() and target.samefile(opened.source):
            raise Refused(
                HTTPStatus.CONFLICT,
                f"saving would overwrite the photograph {opened.source} itself: "
                "start colorize-studio with another --output folder",
            )
        pixels = colorize_photo(opened.photo, self.ab(opened, hints), self.saturation)
        try:
            save(pixels, target)
            if self.takes_hints:
                write_sidecar(sidecar, hints)
        except OSError as error:
            raise Refused(
                HTTPStatus.INSUFFICIENT_STORAGE, f"cannot write {target}: {error.strerror or error}"
            ) from None
        opened.points = list(points)
        return {"photo": str(target), "hints": str(sidecar) if self.takes_hints else None, "points": len(hints)}
