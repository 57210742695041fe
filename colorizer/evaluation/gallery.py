"""Pictures for people: labelled side-by-side panels (grayscale | colorized | original), a contact sheet, and
the gallery of the first test images with its offline page (`render`, the ``render`` stage)."""

import html
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorizer import params as P
from colorizer.atomic import replacing
from colorizer.color import gray_lab, lab_image_to_srgb8
from colorizer.data.shards import LabSplit
from colorizer.evaluation.quality import image_scores
from colorizer.inference.loading import Network
from colorizer.inference.predict import predict_lab

SECTION = "render"

LABELS = ("grayscale input", "colorized", "original")
FONT_SIZE = 16  # text on a panel, in pixels
CAPTION_HEIGHT = 28  # the strip of a panel's title, and of its labels under the images
SHEET_TEXT = 1 / 60  # text on a contact sheet, as a fraction of the sheet's width: 20 pixels at 1200
GAP = 6
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
# `panel` keeps what it drew in its image's ``info`` under this key (the three images and the title), so that
# `contact_sheet` draws each row again at the sheet's scale with the sheet's one text size. Not saved to files.
PARTS = "colorizer.evaluation.gallery.parts"


def _font(size: int = FONT_SIZE):
    return ImageFont.load_default(size=size)


def _row(
    tiles: list[Image.Image], title: str | None, tile_width: int, font_size: int, caption_height: int
) -> Image.Image:
    """The images side by side, each ``tile_width`` pixels wide (height to scale), the title above them and each
    one's label below, in text ``font_size`` pixels tall on strips ``caption_height`` tall."""
    height = max(1, round(tiles[0].height * tile_width / tiles[0].width))
    if tiles[0].size != (tile_width, height):
        tiles = [t.resize((tile_width, height), Image.Resampling.LANCZOS) for t in tiles]
    top = caption_height if title else 0
    canvas = Image.new("RGB", (3 * tile_width + 2 * GAP, top + height + caption_height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _font(font_size)
    if title:
        draw.text((4, caption_height // 2), title, fill=INK, font=font, anchor="lm")
    for i, (tile, label) in enumerate(zip(tiles, LABELS)):
        x = i * (tile_width + GAP)
        canvas.paste(tile, (x, top))
        draw.text((x + tile_width // 2, top + height + caption_height // 2), label, fill=INK, font=font, anchor="mm")
    return canvas


def panel(
    truth_lab: np.ndarray, predicted_lab: np.ndarray, title: str | None = None, aspect: float | None = None
) -> Image.Image:
    """One image: the grayscale input, the colorization and the original side by side, each labelled; with
    ``aspect`` (the photograph's width / height), each shown at that shape again, as tall as it is stored."""
    tiles = [Image.fromarray(lab_image_to_srgb8(x)) for x in (gray_lab(truth_lab[..., :1]), predicted_lab, truth_lab)]
    if aspect:
        shape = (max(1, round(tiles[0].height * aspect)), tiles[0].height)
        tiles = [t.resize(shape, Image.Resampling.LANCZOS) for t in tiles]
    canvas = _row(tiles, title, tiles[0].width, FONT_SIZE, CAPTION_HEIGHT)
    canvas.info[PARTS] = (tiles, title)
    return canvas


def contact_sheet(panels: list[Image.Image], width: int = 1200) -> Image.Image:
    """Panels stacked top to bottom, each ``width`` pixels wide. A `panel` is drawn again at that width, its
    images scaled and its title and labels in one text size for the whole sheet, whatever the photographs'
    sizes; any other image is scaled to the width as it is."""
    font_size = max(6, round(width * SHEET_TEXT))
    caption_height = round(font_size * CAPTION_HEIGHT / FONT_SIZE)
    tile_width = max(1, (width - 2 * GAP) // 3)
    rows = []
    for p in panels:
        if PARTS in p.info:
            tiles, title = p.info[PARTS]
            rows.append(_row(tiles, title, tile_width, font_size, caption_height))
        else:
            rows.append(p.resize((width, max(1, round(p.height * width / p.width))), Image.Resampling.LANCZOS))
    sheet = Image.new("RGB", (width, sum(r.height for r in rows) + GAP * (len(rows) - 1)), BACKGROUND)
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + GAP
    return sheet


def panel_name(index: int, source: str) -> str:
    """The file name of the ``index``-th panel, from its photograph's name: letters, digits, ``-``, ``_``
    and ``.`` kept, anything else (``#``, ``?``, ``%``, spaces, a newline) as ``_``."""
    return f"{index:03d}-{re.sub(r'[^A-Za-z0-9._-]+', '_', Path(source).stem)[:80]}.png"


def scores_caption(scores: dict) -> str:
    """One image's scores (`colorizer.evaluation.quality.image_scores`) as a caption."""
    return (
        f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}, ab MSE {scores['ab_mse']:.0f}, "
        f"colourfulness {scores['colorfulness']:.1f} (original {scores['colorfulness_truth']:.1f})"
    )


def index_html(entries: list[tuple[str, str, str]], model: str = "", title: str = "Colorization gallery") -> str:
    """An offline page: which model made it (``model``), the contact sheet link and each (png file name,
    photograph, scores) in their order. File names are URL-encoded in links (a ``#`` or ``?`` would end the path),
    text HTML-escaped."""
    items = "\n".join(
        f'<figure><img src="{html.escape(quote(f))}" alt="{html.escape(c)}"><figcaption><b>{html.escape(c)}</b>'
        f"<br>{html.escape(scores)}</figcaption></figure>"
        for f, c, scores in entries
    )
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


def check_params(p: dict) -> dict:
    """Validated render parameters; raises `ParamError` naming the first bad key."""
    return P.only_known(
        p,
        SECTION,
        {
            "count": P.integer(p, SECTION, "count", minimum=1),
            "sheet_width": P.integer(p, SECTION, "sheet_width", minimum=64),
        },
    )


def render(
    model: Network, test: LabSplit, rows: list[dict], cfg: dict, output: str | Path, about: str = ""
) -> list[str]:
    """Write the gallery of the test split (``rows``: its manifest rows) into ``output`` (replaced whole), the
    page saying ``about`` the model (`colorizer.tracking.results.about_model`); returns the panel file
    names."""
    count = min(cfg["count"], len(test))
    panels, entries = [], []
    with replacing(output) as tmp:
        tmp.mkdir()
        for i in range(count):
            truth = test.take([i])
            predicted = predict_lab(model, truth)
            source = rows[i]["source"]
            image = panel(truth[0], predicted[0], title=source, aspect=float(rows[i].get("aspect") or 0))
            name = panel_name(i, source)
            image.save(tmp / name)
            panels.append(image)
            entries.append((name, source, scores_caption(image_scores(truth[0], predicted[0]))))
        contact_sheet(panels, cfg["sheet_width"]).save(tmp / "contact_sheet.png")
        (tmp / "index.html").write_text(index_html(entries, model=about))
    return [name for name, _, _ in entries]
