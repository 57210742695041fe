"""How long colorize-studio's page takes from a click to the updated picture on screen, in a real browser.

    python benchmarks/studio_latency.py [--model models/colorizer.keras] [--clicks 30] [--burst 10]

The studio (`colorizer.apps.studio`) serves a 512x512 grayscale photograph (scikit-image's astronaut: a 256x256
working size, the default) on 127.0.0.1; headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
opens it and clicks ``--clicks`` points at seeded random places, each after the previous picture is on screen.
The page itself times each click: from the pointer event to the frame after the new picture is drawn
(``window.studio.timings``); the server's share (the network, then the picture joined to the lightness and
encoded) comes from its Server-Timing header. A click adds a point, so the network sees 1, 2, ... hints.

Then ``--burst`` clicks 20 ms apart, faster than the network runs: how many pictures were drawn for them (each
a network run; the rest were folded into the next request), and how long the last click waited for its picture.

With no model file (a fresh clone before `dvc repro`), params.yaml's network is built untrained, as
benchmarks/hint_speed.py does: the time does not depend on the weights.
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CHROMIUM = "/usr/bin/chromium"
SIDE = 512


def parse_timing(header: str | None) -> dict:
    """``network;dur=55.0, picture;dur=10.2`` -> {"network": 55.0, "picture": 10.2}."""
    parts = {}
    for item in (header or "").split(","):
        name, _, duration = item.strip().partition(";dur=")
        if duration:
            parts[name] = float(duration)
    return parts


def version(chromium: str) -> str:
    import subprocess

    found = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip()
    return found.split(" built on")[0]  # "Chromium 150.0.7871.100 built on Debian GNU/Linux 12 (bookworm)"


def row(name: str, values: list[float]) -> str:
    return f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} .. {max(values):.0f} |"


def click_and_wait(page, box, fx: float, fy: float) -> dict:
    drawn = page.evaluate("studio.timings.length")
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    # The next click once the suggestions for this one have come (a person reads them first).
    page.wait_for_function(
        f"studio.timings.length > {drawn} && !studio.inFlight && !studio.pending && !studio.suggesting"
    )
    return page.evaluate("studio.timings[studio.timings.length - 1]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/colorizer.keras")
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()

    from PIL import Image
    from playwright.sync_api import sync_playwright
    from skimage import data

    from colorizer.apps.studio.server import serve_in_background, url_of
    from colorizer.apps.studio.workspace import Studio
    from colorizer.inference.loading import load_model

    if Path(args.model).is_file():
        model, about = load_model(args.model), args.model
    else:
        from hint_speed import default_network

        model, about = default_network()
    load_before = machine.load()
    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        Image.fromarray(data.astronaut()).convert("L").resize((SIDE, SIDE)).save(photos / "astronaut.png")
        studio = Studio(model, photos, Path(folder) / "out")
        studio.warm_up()
        server = serve_in_background(studio)
        rng = random.Random(0)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium)
                # The page forbids eval (its Content-Security-Policy); Playwright's waits need it.
                page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
                page.goto(url_of(server))
                page.select_option("#photos", "astronaut.png")
                page.wait_for_function("studio.timings.length > 0 && !studio.inFlight")
                box = page.locator("#marks").bounding_box()
                for _ in range(3):  # warm-up: the browser's first decodes and draws
                    click_and_wait(page, box, rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9))
                page.click("#clear")
                page.wait_for_function("!studio.inFlight && !studio.pending")
                clicks = [
                    click_and_wait(page, box, rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95))
                    for _ in range(args.clicks)
                ]
                page.click("#clear")
                page.wait_for_function("!studio.inFlight && !studio.pending")
                drawn = page.evaluate("studio.timings.length")
                sent = page.evaluate("studio.seq")
                for _ in range(args.burst):
                    page.mouse.click(
                        box["x"] + box["width"] * rng.uniform(0.05, 0.95),
                        box["y"] + box["height"] * rng.uniform(0.05, 0.95),
                    )
                    time.sleep(0.02)
                page.wait_for_function("!studio.inFlight && !studio.pending")
                burst = page.evaluate(f"studio.timings.slice({drawn})")
                burst_requests = page.evaluate("studio.seq") - sent
                browser.close()
        finally:
            server.shutdown()
            studio.close()

    total = [c["ms"] for c in clicks]
    network = [parse_timing(c["server"]).get("network", 0.0) for c in clicks]
    picture = [parse_timing(c["server"]).get("picture", 0.0) for c in clicks]
    rest = [t - n - p for t, n, p in zip(total, network, picture)]
    print(
        f"{machine.describe()} (before: {load_before}); Chromium "
        f"{version(args.chromium)}, headless; the model: {about}; "
        f"`python benchmarks/studio_latency.py --clicks {args.clicks} --burst {args.burst}`\n"
    )
    print(f"| a {SIDE}x{SIDE} photograph, 256x256 working size, {args.clicks} clicks | median ms | range ms |")
    print("| --- | --- | --- |")
    print(row("click to the updated picture on screen", total))
    print(row("of which the network (server)", network))
    print(row("of which the picture: colour on the lightness, JPEG (server)", picture))
    print(row("of which the rest: HTTP, decoding, drawing, the next frame", rest))
    print(
        f"\n{args.burst} clicks 20 ms apart: {burst_requests} requests sent, {len(burst)} pictures drawn; the last "
        f"click's picture {burst[-1]['ms']:.0f} ms after it."
    )


if __name__ == "__main__":
    main()
