"""colorize-studio as a person uses it: headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
opens a photograph, clicks a point, chooses red, sees the picture turn red there, saves, and `colorize` redoes
the saved result from the saved sidecar. Also: drag, delete, undo and the before/after view; an oversized and a
broken upload give a message on the page while the server goes on; names outside the folder are refused; a
click faster than the network supersedes the requests still waiting; a distribution-head model suggests colours.

One browser and one page for the module. The model that follows hints is test_hints.py's, trained on generated
scenes (a grey background and a brighter square whose colour only a hint can tell); the distribution-head model
for the suggestions is built untrained (it only has to give a distribution).
"""

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor

from colorizer.apps import colorize as C
from colorizer.apps.studio import server as S
from colorizer.apps.studio.workspace import Studio
from colorizer.inference.loading import load_model

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )

SIDE = 80  # the photograph: 80x80, a brighter square over [20, 60); the default point is 2 pixels wide
POINT = (40, 40)
MB = 1


def grey_square() -> np.ndarray:
    lightness = np.full((SIDE, SIDE), 50.0, np.float32)
    lightness[20:60, 20:60] = 75.0
    return (np.clip(((lightness + 16) / 116) ** 3, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    photos = root / "photos"
    photos.mkdir()
    Image.fromarray(grey_square()).save(photos / "square.png")
    (photos / "notes.txt").write_text("not a photograph")
    Image.fromarray(grey_square()).save(root / "outside.png")
    (photos / "escape.png").symlink_to(root / "outside.png")  # links leading out of the folder
    (photos / "elsewhere").symlink_to(root, target_is_directory=True)
    return root, photos, root / "out"


def start(model_path, photos, output):
    studio = Studio(load_model(str(model_path)), photos, output, max_upload_mb=MB)
    studio.warm_up()
    return studio, S.serve_in_background(studio)


@pytest.fixture(scope="module")
def served(hint_model, folders):
    _, photos, output = folders
    studio, server = start(hint_model, photos, output)
    yield studio, S.url_of(server)
    server.shutdown()
    studio.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, served):
    # The page's Content-Security-Policy forbids eval, which Playwright's waits use.
    context = browser.new_context(viewport={"width": 1100, "height": 760}, bypass_csp=True)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.set_default_timeout(20_000)
    page.goto(served[1])
    yield page
    context.close()


def settle(page, after: int | None = None):
    """Wait until the picture of every change so far is drawn (and a newer one than ``after``, if given)."""
    newer = f"studio.rendered > {after} && " if after is not None else ""
    page.wait_for_function(f"{newer}!studio.inFlight && !studio.pending")


def shown_lab(page, x: int, y: int) -> np.ndarray:
    """Lab of the picture on the page at pixel (x, y) of the photograph (the preview is at its size here)."""
    rgb = page.evaluate(
        f"Array.from(document.getElementById('picture').getContext('2d').getImageData({x}, {y}, 1, 1).data.slice(0, 3))"
    )
    return skcolor.rgb2lab(np.array([[rgb]], np.uint8))[0, 0]


def click_photo(page, x: int, y: int):
    box = page.locator("#marks").bounding_box()
    page.mouse.click(box["x"] + (x + 0.5) / SIDE * box["width"], box["y"] + (y + 0.5) / SIDE * box["height"])


def get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# ---------------------------------------------------------------------------------------------------------
# Colouring, point by point


def test_a_photograph_of_the_folder_opens_coloured_and_links_leading_out_are_not_offered(page):
    options = page.locator("#photos option").all_inner_texts()
    assert options[1:] == ["notes.txt", "square.png"]  # not escape.png, nor what elsewhere/ leads to
    page.select_option("#photos", "square.png")
    settle(page, 0)
    assert page.evaluate("[studio.photo.width, studio.photo.height, studio.points.length]") == [SIDE, SIDE, 0]
    assert abs(shown_lab(page, *POINT)[1]) < 12  # no hint: the square stays greyish, its colour unknown
    assert "square.png, 80×80: 0 points" in page.inner_text("#status")
    assert "one colour" in page.inner_text("#suggestions")  # a regression head suggests none


def test_a_click_then_red_turns_the_point_red_and_save_is_redone_by_colorize(page, folders, hint_model, tmp_path):
    root, photos, output = folders
    before = shown_lab(page, *POINT)
    rendered = page.evaluate("studio.rendered")
    click_photo(page, *POINT)
    settle(page, rendered)
    assert page.evaluate("studio.points.map((p) => [p.x, p.y, p.size])") == [[40, 40, 2]]  # 1/40 of 80
    rendered = page.evaluate("studio.rendered")
    page.fill("#picker", "#ff0000")  # <input type="color">: what choosing red in the picker does
    settle(page, rendered)
    red = shown_lab(page, *POINT)
    assert red[1] > before[1] + 20 and red[1] > 25, (before, red)  # towards red: a* up
    assert abs(shown_lab(page, 5, 5)[1]) < 10  # the background across the square's edge stays grey
    assert page.evaluate("studio.points[0].color") == "#ff0000"

    page.click("#save")
    page.wait_for_function("document.body.dataset.saved")
    saved, sidecar = output / "square.png", output / "square.png.hints.json"
    assert f"Saved {saved}" in page.inner_text("#saved") and str(sidecar) in page.inner_text("#saved")
    assert json.loads(sidecar.read_text()) == {"points": [{"x": 40.0, "y": 40.0, "color": "#ff0000", "size": 2.0}]}
    result = np.asarray(Image.open(saved).convert("RGB"))
    assert result.shape == (SIDE, SIDE, 3)
    preview = np.asarray(
        page.evaluate(
            f"Array.from(document.getElementById('picture').getContext('2d').getImageData(0, 0, {SIDE}, {SIDE}).data)"
        ),
        np.uint8,
    )
    assert np.abs(preview.reshape(SIDE, SIDE, 4)[..., :3].astype(int) - result).mean() < 3  # the preview is it

    assert (
        C.main(
            [
                str(photos / "square.png"),
                "--hints",
                str(sidecar),
                "-o",
                str(tmp_path / "redo"),
                "--model",
                str(hint_model),
                "-q",
            ]
        )
        == 0
    )
    redone = np.asarray(Image.open(tmp_path / "redo" / "square.png").convert("RGB"))
    assert np.abs(redone.astype(int) - result).max() <= 1


def test_points_drag_delete_and_undo_and_the_before_after_view(page):
    box = page.locator("#marks").bounding_box()

    def at(x, y):
        return box["x"] + (x + 0.5) / SIDE * box["width"], box["y"] + (y + 0.5) / SIDE * box["height"]

    rendered = page.evaluate("studio.rendered")
    page.mouse.move(*at(*POINT))
    page.mouse.down()
    page.mouse.move(*at(30, 50), steps=4)
    page.mouse.up()
    settle(page, rendered)
    assert page.evaluate("[studio.points.length, studio.points[0].x, studio.points[0].y]") == [1, 30, 50]
    assert shown_lab(page, 30, 50)[1] > 25  # the red went with the point
    rendered = page.evaluate("studio.rendered")
    page.keyboard.press("Delete")
    settle(page, rendered)
    assert page.evaluate("studio.points.length") == 0 and abs(shown_lab(page, 30, 50)[1]) < 10
    page.click("#undo")  # the deletion undone
    page.click("#undo")  # then the drag
    settle(page)
    assert page.evaluate("studio.points") == [{"x": 40, "y": 40, "color": "#ff0000", "size": 2}]
    assert shown_lab(page, *POINT)[1] > 25
    page.locator("#split").fill("100")  # all "before": the grey photograph
    assert abs(shown_lab(page, *POINT)[1]) < 3
    page.locator("#split").fill("0")
    assert shown_lab(page, *POINT)[1] > 25


# ---------------------------------------------------------------------------------------------------------
# Safety


def test_an_oversized_upload_says_so_on_the_page_and_the_server_refuses_it_too(page, served):
    big = b"\x89PNG" + bytes(int(1.5 * MB * 2**20))
    page.set_input_files("#upload", files=[{"name": "big.png", "mimeType": "image/png", "buffer": big}])
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert "big.png is 1.5 MB: this page takes photographs up to 1 MB" in message.inner_text()
    request = urllib.request.Request(
        served[1] + "api/upload",
        data=big,
        method="POST",
        headers={"X-File-Name": "big.png", "Content-Type": "application/octet-stream"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)
    assert refused.value.code == 413 and "at most 1 MB" in json.loads(refused.value.read())["error"]


def test_a_broken_upload_gives_a_message_and_the_server_goes_on(page, served):
    page.set_input_files(
        "#upload",
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n but not a photograph"}],
    )
    page.wait_for_function("document.getElementById('message').textContent.includes('notes.png')")
    assert "notes.png is not a photograph this page can open" in page.inner_text("#message")
    assert get(served[1] + "api/info")[0] == 200
    page.select_option("#photos", "notes.txt")  # a file of the folder that is not an image
    page.wait_for_function("document.getElementById('message').textContent.includes('notes.txt')")
    rendered = page.evaluate("studio.rendered")
    page.select_option("#photos", "square.png")  # and the page goes on: the saved hints come back with it
    # The page still holds the earlier point and its red picture: wait for the picture of the photograph reopened.
    settle(page, rendered)
    assert page.evaluate("studio.photo.points") == [{"x": 40, "y": 40, "color": "#ff0000", "size": 2}]
    assert shown_lab(page, *POINT)[1] > 25
    assert all(url.startswith((served[1], "data:", "blob:")) for url in page.requested)  # nothing from elsewhere


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "escape.png",
        "elsewhere/outside.png",
        ".hidden",
        "sub/../../outside.png",
    ],
)
def test_a_name_outside_the_folder_is_refused(served, name):
    status, body = get(served[1] + "api/open?name=" + name.replace("/", "%2F"))
    assert status == 403 and ("refused" in body["error"] or "only names inside the folder" in body["error"]), body


def test_only_the_pages_own_files_are_served_and_only_at_its_own_address(served):
    url = served[1]
    assert get(url + "static/..%2F..%2Fstudio.py")[0] == 404
    assert get(url + "static/studio.py")[0] == 404
    assert get(url + "static/..%2Fserver.py")[0] == 404 and get(url + "static/server.py")[0] == 404
    assert get(url + "api/info", {"Host": "attacker.example:80"})[0] == 421  # DNS rebinding
    with urllib.request.urlopen(url, timeout=20) as response:
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


# ---------------------------------------------------------------------------------------------------------
# Speed: superseded, not queued


def test_requests_that_a_newer_one_overtook_while_they_waited_are_dropped(served):
    studio, _ = served
    opened = studio.open_file("square.png")
    results = {}

    def ask(seq):
        results[seq] = studio.preview(opened, [], seq)

    with studio.network:  # the network busy: five requests arrive and wait
        threads = [threading.Thread(target=ask, args=(seq,)) for seq in range(1, 6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while opened.order.latest < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    for thread in threads:
        thread.join(20)
    assert [results[seq] is None for seq in range(1, 6)] == [True] * 4 + [False]
    picture, took = results[5]
    assert picture[:2] == b"\xff\xd8" and set(took) == {"network", "picture"}  # a JPEG, and its timing


# ---------------------------------------------------------------------------------------------------------
# Suggestions


def test_a_distribution_head_model_suggests_colours_at_the_point_clicked(browser, folders, tmp_path_factory):
    import keras

    from colorizer.inference.suggestions import suggest
    from colorizer.network.builder import build

    _, photos, _ = folders
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("distribution") / "distribution.keras"
    build("unet", width=8, head="distribution", with_hints=True).save(path)
    studio, server = start(path, photos, tmp_path_factory.mktemp("out2"))
    try:
        opened = studio.open_file("square.png")
        mine = studio.suggestions(opened, 10, 12, [], 1)
        theirs = suggest(studio.model, opened.photo.small, 10, 12, None)
        assert [s["color"] for s in mine] == [s.colour for s in theirs]  # what colorize --suggest says
        context = browser.new_context(viewport={"width": 1100, "height": 760}, bypass_csp=True)
        page = context.new_page()
        page.goto(S.url_of(server))
        page.select_option("#photos", "square.png")
        settle(page, 0)
        click_photo(page, *POINT)
        page.wait_for_function("document.body.dataset.suggested > 0")
        first = page.locator("#suggestions button").first
        colour = first.get_attribute("data-color")
        rendered = page.evaluate("studio.rendered")
        first.click()
        settle(page, rendered)
        assert page.evaluate("studio.points[0].color") == colour
        assert page.locator("#suggestions button.chosen").get_attribute("data-color") == colour
        context.close()
    finally:
        server.shutdown()
        studio.close()
