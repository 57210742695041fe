"""The gallery page works whatever the photographs are called."""

from html.parser import HTMLParser
from urllib.parse import unquote

from colorizer.gallery import index_html, panel_name


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
    assert names == ["000-holiday_3.png", "001-what_.png", "002-100_grey.png", "003-two_lines.png",
                     "004-plage_1_.png"]
    # Even a name with those characters (a panel file named by hand) is linked so a browser finds the file.
    entries = [(name, source, "PSNR 20.00 dB") for name, source in zip(names + ["a#b?c%d e.png"],
                                                                        sources + ["by hand"])]
    page = index_html(entries, model="Made by the model of MLflow run x <y>.")
    parser = Sources()
    parser.feed(page)
    assert [unquote(src) for src in parser.found] == [name for name, _, _ in entries]
    assert all(c not in src for src in parser.found for c in "#? \n")
    assert "holiday #3.jpg" in page and "été/plage &lt;1&gt;.jpg" in page and "run x &lt;y&gt;." in page
