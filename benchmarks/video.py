"""Video: steady colour (`colorizer.video`) against colouring each frame alone as a photograph, with the same
model, in one run.

1. Clips with a known truth: for each test photograph, 36 frames at 320x240 of a camera panning between two
   random points and zooming in by a tenth (`colorizer.evaluation.temporal.pan_clip`). PSNR per frame against
   the truth, warp error with the exact motion, CDC; the truth's own warp error and CDC beside them (the floor).
   With ``--points``, the same with that many hints from the truth on frame 0 only: how much of frame 0's gain
   the whole clip keeps.
2. Real film (``--film``, grey MP4s): warp error with the flow DIS estimates on the grey frames (the same flow
   and mask for every method) and CDC.
3. Speed: a 640x480 clip decoded, coloured and encoded by `colorize_video`, frames per second, beside the
   per-frame path (the network on every frame, nothing carried) on the same frames.

    python benchmarks/video.py --model models/colorizer.keras --photos ../shared/datasets/cbsd68 \\
        --film ../shared/datasets/film [--clips 12] [--points 10]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer.color import lightness_of, srgb_to_lab
from colorizer.evaluation.hint_sweep import sweep_points, truth_hints
from colorizer.evaluation.quality import psnr
from colorizer.evaluation.temporal import cdc, pan_clip, warp_error
from colorizer.hints import Hint
from colorizer.inference.loading import load_model
from colorizer.inference.photo import Photo, colorize_photo, predict_photos, shrink
from colorizer.video.clip import ClipColour, colorize_video
from colorizer.video.keyframes import Keyframe
from colorizer.video.motion import Motion, gray8, trusted
from colorizer.video.streams import VideoReader
from machine import describe

SIZE = 256


def grey_of(frames: np.ndarray) -> np.ndarray:
    """uint8 grey frames [n, h, w] whose sRGB grey has each frame's lightness (what a black-and-white film holds)."""
    from colorizer.color import lab_to_srgb8

    out = []
    for frame in frames:
        lightness = lightness_of(frame)
        out.append(lab_to_srgb8(lightness, np.zeros_like(lightness), np.zeros_like(lightness))[..., 0])
    return np.stack(out)


def per_frame(model, grey: np.ndarray, points: list[Hint] | None = None) -> np.ndarray:
    """Each frame coloured alone, as `colorize` colours a photograph (``points`` on the first frame only)."""
    from colorizer.hints import hint_map
    from colorizer.inference.photo import working_size

    working = working_size(*grey.shape[1:], SIZE)
    out = []
    for t, pixels in enumerate(grey):
        small = shrink(pixels, working)
        hints = hint_map(points, grey.shape[1:], working) if points and t == 0 else None
        photo = Photo(pixels, None, small, hints)
        out.append(colorize_photo(photo, predict_photos(model, [photo])[0]))
    return np.stack(out)


def steady(model, grey: np.ndarray, points: list[Hint] | None = None) -> np.ndarray:
    keyframes = {0: Keyframe(0, points)} if points else None
    colour = ClipColour(model, grey.shape[1:], SIZE, keyframes=keyframes)
    return np.stack([colour.frame(pixels) for pixels in grey])


def clip_scores(frames: np.ndarray, truth: np.ndarray | None, flows: np.ndarray, seen: np.ndarray) -> dict:
    ab = srgb_to_lab(frames)[..., 1:]
    scores = {"warp_error": warp_error(ab, flows, seen), "cdc": cdc(frames)}
    if truth is not None:
        scores["psnr"] = float(np.mean([psnr(t, f) for t, f in zip(truth, frames)]))
        scores["psnr_first"] = psnr(truth[0], frames[0])
    return scores


def mean_of(rows: list[dict]) -> dict:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def rendered(model, photos: list[Path], points: int) -> dict:
    results = {"truth": [], "per_frame": [], "steady": []}
    if points:
        results.update({"per_frame_hinted": [], "steady_hinted": []})
    for seed, path in enumerate(photos):
        photo = np.asarray(Image.open(path).convert("RGB"))
        clip = pan_clip(photo, seed)
        grey = grey_of(clip.frames)
        results["truth"].append(clip_scores(clip.frames, clip.frames, clip.flows, clip.seen))
        results["per_frame"].append(clip_scores(per_frame(model, grey), clip.frames, clip.flows, clip.seen))
        results["steady"].append(clip_scores(steady(model, grey), clip.frames, clip.flows, clip.seen))
        if points:
            lab = srgb_to_lab(clip.frames[0])
            hints = truth_hints(lab, sweep_points(seed, points, lab.shape[:2]))
            for name, method in (("per_frame_hinted", per_frame), ("steady_hinted", steady)):
                results[name].append(clip_scores(method(model, grey, hints), clip.frames, clip.flows, clip.seen))
        print(f"  {path.name}: {json.dumps({k: round(v[-1]['warp_error'], 3) for k, v in results.items()})}")
    return {name: mean_of(rows) for name, rows in results.items()}


def film_motion(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow DIS estimates between consecutive grey frames (at full size), and where it is trusted."""
    motion, flows, seen = Motion(), [], []
    lightness = [lightness_of(frame) for frame in grey]
    for t in range(1, len(grey)):
        backward = motion.flow(gray8(lightness[t]), gray8(lightness[t - 1]))
        forward = motion.flow(gray8(lightness[t - 1]), gray8(lightness[t]))
        flows.append(backward)
        seen.append(trusted(lightness[t], lightness[t - 1], backward, forward) > 0.5)
    return np.stack(flows), np.stack(seen)


def read_grey(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.stack([pixels for pixels, _ in reader.frames()])


def film(model, clips: list[Path]) -> dict:
    results = {"per_frame": [], "steady": []}
    for path in clips:
        grey = read_grey(path)
        flows, seen = film_motion(grey)
        results["per_frame"].append(clip_scores(per_frame(model, grey), None, flows, seen))
        results["steady"].append(clip_scores(steady(model, grey), None, flows, seen))
        print(f"  {path.name}: {json.dumps({k: round(v[-1]['warp_error'], 3) for k, v in results.items()})}")
    return {name: mean_of(rows) for name, rows in results.items()}


def write_grey_clip(path: Path, photo: np.ndarray, frames: int, size: tuple[int, int] = (480, 640)) -> Path:
    """A grey H.264 clip of ``frames`` frames panning over ``photo``."""
    import av

    grey = grey_of(pan_clip(photo, 0, frames, size).frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.height, stream.width, stream.pix_fmt = *size, "yuv420p"
        for pixels in grey:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="gray")))
        container.mux(stream.encode(None))
    return path


def speed(model, photo: Path, frames: int = 96) -> dict:
    """Frames per second of `colorize_video` on a 640x480 grey clip, and of colouring each frame alone."""
    with tempfile.TemporaryDirectory() as work:
        source = write_grey_clip(Path(work) / "clip.mp4", np.asarray(Image.open(photo).convert("RGB")), frames)
        started = time.perf_counter()
        colorize_video(model, source, Path(work) / "out.mp4", SIZE)
        steady_fps = frames / (time.perf_counter() - started)
        grey = read_grey(source)
        started = time.perf_counter()
        per_frame(model, grey)
        alone_fps = frames / (time.perf_counter() - started)
    return {"steady_fps": steady_fps, "per_frame_fps (colour only)": alone_fps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/colorizer.keras")
    parser.add_argument("--photos", type=Path, help="a folder of colour photographs (the test set)")
    parser.add_argument("--film", type=Path, help="a folder of grey films")
    parser.add_argument("--clips", type=int, default=12, help="rendered clips (the first photographs)")
    parser.add_argument("--points", type=int, default=10, help="hints on frame 0 (0: none)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    model = load_model(args.model)
    print(describe())
    figures = {}
    if args.photos:
        photos = sorted(args.photos.glob("*.png"))[: args.clips]
        print(f"rendered clips: {len(photos)} of {args.photos}")
        figures["rendered"] = rendered(model, photos, args.points)
        figures["speed"] = speed(model, photos[0])
    if args.film:
        print(f"film: {args.film}")
        figures["film"] = film(model, sorted(args.film.glob("*.mp4")))
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    print(describe())


if __name__ == "__main__":
    sys.exit(main())
