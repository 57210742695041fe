"""The photographs open in the studio: each one's full-resolution and shown pixels, and the few kept open at once."""

import io
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from colorizer.apps.studio.ordering import Order
from colorizer.apps.studio.refusals import Refused
from colorizer.inference.photo import Photo

PREVIEW = 512  # long side, in pixels, of what the page shows while points change (the photograph's, if smaller)
PREVIEW_QUALITY = 90
MAX_OPEN = 8  # photographs kept open at once (each holds its decoded pixels); the oldest is closed first


@dataclass
class Opened:
    """One open photograph: what is coloured, what the page shows, and the order of its requests."""

    name: str  # the photograph's file name
    relative: PurePosixPath  # where its outputs go under the output folder
    source: Path | None  # the file in FOLDER; None for an upload
    photo: Photo  # the photograph upright at full resolution, and its working-size L
    shown: Photo  # the same at `PREVIEW`: what the page shows
    points: list[dict]  # the hints found for it when it was opened (page form: x, y, color, size)
    order: Order = field(default_factory=Order)
    key: str = ""  # what the page names it by
    note: str | None = None  # said on the page when it opens

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the photograph at full resolution."""
        return self.photo.pixels.shape[:2]


class OpenPhotographs:
    """The `MAX_OPEN` photographs opened last, by the key the page names each one by; the oldest is closed first."""

    def __init__(self, most: int = MAX_OPEN) -> None:
        self.most = most
        self.opened: OrderedDict[str, Opened] = OrderedDict()
        self.guard = threading.Lock()

    def add(self, opened: Opened) -> str:
        """Keep ``opened``, closing the oldest beyond `most`; returns its new key."""
        key = secrets.token_urlsafe(12)
        with self.guard:
            self.opened[key] = opened
            while len(self.opened) > self.most:
                self.opened.popitem(last=False)
        return key

    def get(self, key: object) -> Opened:
        """The photograph ``key`` names; `Refused` (410) when it is no longer open."""
        with self.guard:
            opened = self.opened.get(key) if isinstance(key, str) else None
        if opened is None:
            raise Refused(
                HTTPStatus.GONE,
                "this photograph is no longer open here (the studio restarted, or "
                f"more than {self.most} were opened since): open it again",
            )
        return opened


def shrink(photo: Photo, side: int) -> Photo:
    """``photo`` with its pixels (and alpha) at most ``side`` pixels on the long side; the same working L."""
    height, width = photo.pixels.shape[:2]
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return photo

    def resized(pixels: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))

    return Photo(resized(photo.pixels), None if photo.alpha is None else resized(photo.alpha), photo.small)


def jpeg(pixels: np.ndarray) -> bytes:
    """``pixels`` (RGB, or RGBA: alpha dropped) as the JPEG the page shows."""
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., :3]).save(buffer, "JPEG", quality=PREVIEW_QUALITY, subsampling=0)
    return buffer.getvalue()
