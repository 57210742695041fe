"""The page's points and the hints of `colorizer.hints`: the sidecar's points as the page holds them, and the
page's points checked and made hints."""

import json
import re
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path

import numpy as np

from colorizer.apps.studio.refusals import Refused
from colorizer.hints import HEX, BadHints, Hint, parse_hints, read_sidecar

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def lightness_of_hex(colour: str) -> float:
    """The Lab L of an sRGB ``#rrggbb``: kept in the sidecar's hint so that its hex is the colour chosen."""
    from colorizer.color import srgb_to_lab

    return float(srgb_to_lab(np.frombuffer(bytes.fromhex(colour[1:]), np.uint8).reshape(1, 1, 3))[0, 0, 0])


def page_points(path: Path, height: int, width: int) -> list[dict]:
    """The points of the sidecar ``path`` as the page holds them (colours as ``#rrggbb``); `BadHints` if unusable."""
    hints = read_sidecar(path, height, width)  # checks every point: below, each is known to be well formed
    points = []
    for hint, raw in zip(hints, json.loads(path.read_text(encoding="utf-8"))["points"]):
        digits = HEX.fullmatch(raw["color"].strip()).group(1)
        digits = "".join(d * 2 for d in digits) if len(digits) == 3 else digits
        points.append({"x": hint.x, "y": hint.y, "color": "#" + digits.lower(), "size": hint.size})
    return points


def hints_of_points(points: object, height: int, width: int) -> list[Hint]:
    """The page's points as hints of a photograph of ``height`` x ``width``: the sidecar's format and checks
    (`parse_hints`), each colour ``#rrggbb``; `Refused` (400) for points that are not."""
    if not isinstance(points, list):
        raise Refused(HTTPStatus.BAD_REQUEST, "points must be a list")
    for i, point in enumerate(points):
        if not (isinstance(point, dict) and isinstance(point.get("color"), str) and COLOUR.fullmatch(point["color"])):
            raise Refused(HTTPStatus.BAD_REQUEST, f"point {i + 1}: a colour is #rrggbb")
    try:
        hints = parse_hints({"points": points}, height, width, name="the points")
    except BadHints as error:
        raise Refused(HTTPStatus.BAD_REQUEST, str(error)) from None
    return [replace(hint, lightness=lightness_of_hex(point["color"])) for hint, point in zip(hints, points)]
