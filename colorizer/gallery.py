"""Pictures for people: labelled side-by-side panels (grayscale | colorized | original) and a contact sheet."""

import html
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorizer.color import gray_lab, lab_image_to_srgb8

LABELS = ("grayscale input", "colorized", "original")
CAPTION_HEIGHT = 28
GAP = 6
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def _font(size: int = 16):
    return ImageFont.load_default(size=size)


def panel(truth_lab: np.ndarray, predicted_lab: np.ndarray, title: str | None = None,
          aspect: float | None = None) -> Image.Image:
    """One image: the grayscale input, the colorization and the original side by side, each labelled; with
    ``aspect`` (the photograph's width / height), each shown at that shape again, as tall as it is stored."""
    tiles = [lab_image_to_srgb8(x) for x in (gray_lab(truth_lab[..., :1]), predicted_lab, truth_lab)]
    if aspect:
        shape = (max(1, round(tiles[0].shape[0] * aspect)), tiles[0].shape[0])
        tiles = [np.asarray(Image.fromarray(t).resize(shape, Image.Resampling.LANCZOS)) for t in tiles]
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


def scores_caption(scores: dict) -> str:
    """One image's scores (`colorizer.quality.image_scores`) as a caption."""
    return (f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}, ab MSE {scores['ab_mse']:.0f}, "
            f"colourfulness {scores['colorfulness']:.1f} (original {scores['colorfulness_truth']:.1f})")


def index_html(entries: list[tuple[str, str, str]], model: str = "", title: str = "Colorization gallery") -> str:
    """An offline page: which model made it (``model``), the contact sheet link and each (png file name,
    photograph, scores) in turn. File names are URL-encoded in links (a ``#`` or ``?`` would end the path),
    text HTML-escaped."""
    items = "\n".join(
        f'<figure><img src="{html.escape(quote(f))}" alt="{html.escape(c)}"><figcaption><b>{html.escape(c)}</b>'
        f"<br>{html.escape(scores)}</figcaption></figure>" for f, c, scores in entries)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#fafafa}}img{{max-width:100%}}
figure{{margin:0 0 2em 0}}figcaption{{color:#444}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{html.escape(model)}</p>
<p>Each row: the grayscale input, the network's colorization, the original, at the photograph's own shape.
<a href="contact_sheet.png">Contact sheet</a>.</p>
{items}
</body></html>
"""
