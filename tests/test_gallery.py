"""The gallery works whatever the photographs are called and whatever their sizes."""

from html.parser import HTMLParser
from urllib.parse import unquote

import numpy as np
from PIL import Image

from colorizer.evaluation.gallery import contact_sheet, index_html, panel, panel_name


class Sources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.found.append(dict(attrs)["src"])


def test_odd_photograph_names_give_working_links_and_readable_captions():
    sources = ["holiday #3.jpg", "what?.png", "100% grey.tif", "two\nlines.png", "été/plage <1>.jpg"]
    names = [panel_name(i, s) for i, s in enumerate(sources)]
    assert names == ["000-holiday_3.png", "001-what_.png", "002-100_grey.png", "003-two_lines.png", "004-plage_1_.png"]
    # Even a name with those characters (a panel file named by hand) is linked so a browser finds the file.
    entries = [
        (name, source, "PSNR 20.00 dB") for name, source in zip(names + ["a#b?c%d e.png"], sources + ["by hand"])
    ]
    page = index_html(entries, model="Made by the model of MLflow run x <y>.")
    parser = Sources()
    parser.feed(page)
    assert [unquote(src) for src in parser.found] == [name for name, _, _ in entries]
    assert all(c not in src for src in parser.found for c in "#? \n")
    assert "holiday #3.jpg" in page and "été/plage &lt;1&gt;.jpg" in page and "run x &lt;y&gt;." in page


def text_rows(image: Image.Image) -> list[int]:
    """The heights of the horizontal bands of ``image`` holding text (ink darker than any image's pixel here),
    top to bottom."""
    dark = (np.asarray(image.convert("L")) < 100).any(axis=1)
    heights, run = [], 0
    for row in dark:
        if row:
            run += 1
        elif run:
            heights.append(run)
            run = 0
    return heights + ([run] if run else [])


def test_every_row_of_the_contact_sheet_has_the_same_text_size_whatever_the_photographs_size():
    # Two photographs of very different sizes (a small square, a large wide one), in light colours so that only
    # the text is dark: scaled to the sheet's width as whole pictures, their text would differ 3 times in size.
    lab = np.zeros((64, 64, 3), np.float32)
    lab[..., 0], lab[..., 1] = 80.0, 10.0
    wide = np.zeros((96, 288, 3), np.float32)
    wide[..., 0], wide[..., 2] = 85.0, -10.0
    panels = [panel(lab, lab, title="Holiday"), panel(wide, wide, title="Holiday")]
    assert panels[1].width > 4 * panels[0].width
    sheet = contact_sheet(panels, width=900)
    assert sheet.width == 900
    rows = text_rows(sheet)
    assert len(rows) == 4, rows  # each panel: its title, then its three labels on one line
    assert rows[0] == rows[2] and rows[1] == rows[3], rows
    # The sheet's text is as large as the panels' own, scaled with the sheet's width (15 pixels at 900).
    assert abs(max(rows) - max(text_rows(panels[0])) * 15 / 16) <= 2, rows
    # A panel saved on its own keeps its size and its text.
    assert text_rows(panels[0]) == text_rows(panels[1])
