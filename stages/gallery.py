"""Pictures for people: labelled side-by-side panels (grayscale | colorized | original) and a contact sheet."""

import html
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stages.color import gray_lab, lab_to_rgb, to_uint8

LABELS = ("grayscale input", "colorized", "original")
CAPTION_HEIGHT = 28
GAP = 6
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def _font(size: int = 16):
    return ImageFont.load_default(size=size)


def panel(truth_lab: np.ndarray, predicted_lab: np.ndarray, title: str | None = None) -> Image.Image:
    """One image: the grayscale input, the colorization and the original side by side, each labelled."""
    tiles = [to_uint8(lab_to_rgb(x)) for x in (gray_lab(truth_lab[..., :1]), predicted_lab, truth_lab)]
    height, width = tiles[0].shape[:2]
    top = CAPTION_HEIGHT if title else 0
    canvas = Image.new("RGB", (3 * width + 2 * GAP, top + height + CAPTION_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((4, 5), title, fill=INK, font=_font())
    for i, (tile, label) in enumerate(zip(tiles, LABELS)):
        x = i * (width + GAP)
        canvas.paste(Image.fromarray(tile), (x, top))
        draw.text((x + width // 2, top + height + CAPTION_HEIGHT // 2), label, fill=INK, font=_font(),
                  anchor="mm")
    return canvas


def contact_sheet(panels: list[Image.Image], width: int = 1200) -> Image.Image:
    """Panels stacked top to bottom, each scaled to ``width`` pixels wide."""
    scaled = [p.resize((width, round(p.height * width / p.width)), Image.Resampling.LANCZOS) for p in panels]
    sheet = Image.new("RGB", (width, sum(p.height for p in scaled) + GAP * (len(scaled) - 1)), BACKGROUND)
    y = 0
    for p in scaled:
        sheet.paste(p, (0, y))
        y += p.height + GAP
    return sheet


def panel_name(index: int, source: str) -> str:
    """The file name of the ``index``-th panel, from its photograph's name: letters, digits, ``-``, ``_``
    and ``.`` kept, anything else (``#``, ``?``, ``%``, spaces, a newline) as ``_``."""
    return f"{index:03d}-{re.sub(r'[^A-Za-z0-9._-]+', '_', Path(source).stem)[:80]}.png"


def index_html(entries: list[tuple[str, str]], title: str = "Colorization gallery") -> str:
    """An offline page: the contact sheet link and each (png file name, caption) in turn. File names are
    URL-encoded in links (a ``#`` or ``?`` would end the path), captions HTML-escaped."""
    items = "\n".join(
        f'<figure><img src="{html.escape(quote(f))}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}'
        f"</figcaption></figure>" for f, c in entries)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#fafafa}}img{{max-width:100%}}
figure{{margin:0 0 2em 0}}figcaption{{color:#444}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Each row: the grayscale input, the network's colorization, the original.
<a href="contact_sheet.png">Contact sheet</a>.</p>
{items}
</body></html>
"""
