"""Video: steady colour through a shot (colorizer.video.steady), cuts, key frames that follow their object,
and `colorize` on clips: size, frame count, timestamps, audio and rotation kept; every bad input one line."""

import json
from pathlib import Path

import av
import numpy as np
import pytest

from colorizer.apps import colorize as C
from colorizer.color import AB_SCALE, srgb_to_lab
from colorizer.hints import Hint
from colorizer.video import streams
from colorizer.video.steady import SteadyColour
from conftest import moving_scene, write_clip, write_photos


def run_steady(lab: np.ndarray, predict, keyframes=None, clock=None, **options) -> tuple[np.ndarray, list, list]:
    """The steady colour of each frame of ``lab``, what was done there and the points followed; ``clock["t"]``
    is the frame being coloured."""
    steady = SteadyColour(predict, lab.shape[1:3], **options)
    out, steps, followed = [], [], []
    for t in range(len(lab)):
        if clock is not None:
            clock["t"] = t
        points = (keyframes or {}).get(t)
        ab, step = steady.next(lab[t, ..., 0], points=points)
        out.append(ab.copy())
        steps.append(step)
        followed.append(list(steady.points))
    return np.array(out), steps, followed


def square_colour(ab: np.ndarray, t: int) -> np.ndarray:
    """The mean ab (Lab units) of the middle of moving_scene's square at frame t."""
    return ab[t, 18:30, 10 + t : 22 + t].reshape(-1, 2).mean(axis=0) * AB_SCALE


def test_a_moving_objects_colour_stays_put_where_colouring_each_frame_alone_wanders():
    lab = srgb_to_lab(moving_scene(30))
    truth = lab[..., 1:] / AB_SCALE
    rng = np.random.default_rng(1)
    frame = {"t": 0}

    def wandering(lightness, hints):  # a network whose guess of the whole frame's colour wanders by ~13 units
        return truth[frame["t"]] + rng.normal(0, 0.1, 2).astype(np.float32)

    steady = SteadyColour(wandering, lab.shape[1:3], every=1)
    per_frame, coloured = [], []
    for t in range(30):
        frame["t"] = t
        per_frame.append(wandering(lab[t, ..., 0], None))
        coloured.append(steady.next(lab[t, ..., 0])[0])
    per_frame, coloured = np.array(per_frame), np.array(coloured)
    alone = np.array([square_colour(per_frame, t) for t in range(5, 30)])
    held = np.array([square_colour(coloured, t) for t in range(5, 30)])
    steps_alone = np.abs(np.diff(alone, axis=0)).mean()
    steps_held = np.abs(np.diff(held, axis=0)).mean()
    assert steps_held < steps_alone / 3, (steps_held, steps_alone)
    # ... and it is still the object's colour, not a colour of its own (the guesses' mean, within a few units).
    true_square = square_colour(truth, 0)
    assert np.abs(held.mean(axis=0) - true_square).max() < 5, (held.mean(axis=0), true_square)


def test_a_cut_starts_the_colour_afresh_and_the_network_need_not_colour_every_frame():
    lab = srgb_to_lab(moving_scene(30, cut_at=20))
    calls, clock = [], {}

    def two_guesses(lightness, hints):  # one colour for everything before the cut, another after it
        calls.append(clock["t"])
        return np.full((*lightness.shape, 2), 0.3 if clock["t"] < 20 else -0.3, np.float32)

    ab, steps, _ = run_steady(lab, two_guesses, clock=clock, every=4)
    assert [t for t, step in enumerate(steps) if step.cut] == [0, 20]
    np.testing.assert_allclose(ab[20], -0.3)  # nothing of the first shot's colour carried across the cut
    assert np.allclose(ab[19], 0.3, atol=0.02)
    assert steps[20].predicted and steps[0].predicted
    assert len(calls) < len(lab) / 2  # every 4th frame and at the cuts, not every frame


def test_a_key_frames_point_follows_its_object_through_the_shot_and_not_past_a_cut():
    lab = srgb_to_lab(moving_scene(30, cut_at=25))

    def follows_hints(lightness, hints):  # a network that colours each hinted square and nothing else
        ab = np.zeros((*lightness.shape, 2), np.float32)
        if hints is not None:
            ab[hints[..., 2] > 0] = hints[hints[..., 2] > 0, :2]
        return ab

    red = Hint(x=16.0, y=24.0, ab=(60.0, 45.0), size=4.0)
    ab, steps, followed = run_steady(lab, follows_hints, keyframes={0: [red]}, every=1)
    for t in (10, 20, 24):  # the square moves a pixel a frame: the point with it
        (point,) = followed[t]
        assert point.x == pytest.approx(16 + t, abs=1.0) and point.y == pytest.approx(24, abs=1.0), (t, point)
        np.testing.assert_allclose(ab[t, 24, 16 + t] * AB_SCALE, (60, 45), atol=3)
    assert followed[25] == [] and np.abs(ab[25]).max() < 1e-6  # a new shot: the hint stays behind


# colorize on clips ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained hint-taking U-Net: colours something, fast."""
    import keras

    from colorizer.network.builder import build

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("video-model") / "tiny.keras"
    build("unet", width=4, head="regression", with_hints=True).save(path)
    return path


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        found = {
            "size": (video.width, video.height),
            "codec": video.codec_context.name,
            "frames": len(frames),
            "seconds": [float(f.pts * f.time_base) for f in frames],
            "rotation": frames[0].rotation,
            "gray": np.stack([f.to_ndarray(format="gray") for f in frames]).astype(np.float32),
        }
        found["pix_fmt"] = frames[0].format.name
    with av.open(str(path)) as container:
        found["audio"] = [bytes(p) for p in container.demux(audio=0) if p.size] if container.streams.audio else None
    return found


def test_colorize_writes_each_video_as_mp4_with_its_size_frames_timestamps_audio_and_rotation(
    hint_model, tmp_path, capsys
):
    films = tmp_path / "films"
    scene = moving_scene(24)
    write_clip(films / "home.mp4", scene, audio=True)
    (films / "home.mp4.hints.json").write_text(
        json.dumps({"keyframes": [{"frame": 0, "points": [{"x": 16, "y": 24, "color": "#c83c28"}]}]})
    )
    write_clip(films / "phone.mp4", scene[:8], rotation=90)
    write_clip(films / "odd.mkv", np.ascontiguousarray(scene[:8, :47, :63]), codec="ffv1", pix_fmt="yuv444p")
    write_clip(films / "deep" / "ten-bit.mkv", scene[:8], codec="ffv1", pix_fmt="yuv420p10le")
    write_clip(films / "deep" / "vfr.mkv", scene[:6], pts=[0, 40, 100, 180, 200, 260])
    write_photos(films, 1, size=(48, 64))
    out = tmp_path / "out"
    assert C.main([str(films), "-o", str(out), "--model", str(hint_model), "-q"]) == 0
    assert capsys.readouterr().err.strip() == f"colorize: 6 of 6 files (5 videos) coloured into {out} (1 with hints)"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "deep/ten-bit.mp4",
        "deep/vfr.mp4",
        "home.mp4",
        "odd.mp4",
        "phone.mp4",
        "photo_000.png",
    ]
    for name, source in [
        ("home.mp4", "home.mp4"),
        ("phone.mp4", "phone.mp4"),
        ("odd.mp4", "odd.mkv"),
        ("deep/ten-bit.mp4", "deep/ten-bit.mkv"),
        ("deep/vfr.mp4", "deep/vfr.mkv"),
    ]:
        made, given = probe(out / name), probe(films / source)
        assert made["size"] == given["size"] and made["frames"] == given["frames"], name
        assert made["seconds"] == pytest.approx(given["seconds"], abs=1e-3), name  # every frame at its time
        assert made["rotation"] == given["rotation"], name
        assert made["pix_fmt"] == "yuv420p" and made["codec"] == ("vp9" if name == "odd.mp4" else "h264"), name
        # Colour added, lightness kept (up to the encoders' rounding).
        assert np.abs(made["gray"] - given["gray"]).mean() < 3.0, name
    home = probe(out / "home.mp4")
    assert home["audio"] == probe(films / "home.mp4")["audio"] and home["audio"]  # the sound, packet for packet
    assert probe(out / "phone.mp4")["rotation"] == 90
    # The hint on frame 0 turned the square red, and it stays red as the square moves on.
    with av.open(str(out / "home.mp4")) as container:
        rgb = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    for t in (0, 12, 23):
        red, blue = rgb[t][18:30, 10 + t : 22 + t, 0].mean(), rgb[t][18:30, 10 + t : 22 + t, 2].mean()
        assert red - blue > 20, (t, red, blue)


def test_bad_videos_are_each_one_line_and_the_rest_are_coloured(tiny_model, tmp_path, capsys, monkeypatch):
    films = tmp_path / "films"
    scene = moving_scene(10)
    good = write_clip(films / "good.mp4", scene)
    whole = good.read_bytes()
    (films / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    with av.open(str(films / "sound-only.mp4"), "w") as container:  # a file with no video stream
        sound = container.add_stream("aac", rate=44100)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        samples.sample_rate = 44100
        container.mux(sound.encode(samples))
        container.mux(sound.encode(None))
    (films / "empty.mp4").write_bytes(b"")
    write_clip(films / "late.mp4", scene)
    (films / "late.mp4.hints.json").write_text(json.dumps({"keyframes": [{"frame": 10, "points": []}]}))
    write_clip(films / "framed.mp4", scene)
    write_photos(films / "stills", 1, size=(20, 20))
    (films / "framed.mp4.hints.json").write_text(
        json.dumps({"keyframes": [{"frame": 2, "image": "stills/photo_000.png"}]})
    )
    out = tmp_path / "out"
    assert C.main([str(films), "-o", str(out), "--model", str(tiny_model), "-q"]) == 1
    err = capsys.readouterr().err
    lines = [line.removeprefix("colorize: skipped ") for line in err.splitlines() if "skipped /" in line]
    skipped = {line.split(": ", 1)[0]: line for line in lines}
    assert len(lines) == len(skipped) == 5
    bad = ("truncated.mp4", "sound-only.mp4", "empty.mp4", "late.mp4", "framed.mp4")
    assert set(skipped) == {str(films / name) for name in bad}
    assert "no video stream" in skipped[str(films / "sound-only.mp4")]
    assert "cannot read it as a video" in skipped[str(films / "empty.mp4")]
    assert f"{films / 'late.mp4.hints.json'}: key frame 1 (frame 10)" in skipped[str(films / "late.mp4")]
    assert "(frame 10): beyond the clip, which has 10 frames" in skipped[str(films / "late.mp4")]
    assert "is 20x20, the video 64x48" in skipped[str(films / "framed.mp4")]
    assert "colorize: 2 of 7 files (6 videos) coloured" in err
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["good.mp4", "photo_000.png"]

    # A clip whose output would overwrite an input, or two inputs with one output: nothing is done.
    assert C.main([str(good), "-o", str(films), "--model", str(tiny_model), "-q"]) == 2
    write_clip(films / "good.mov", scene[:2])
    assert C.main([str(good), str(films / "good.mov"), "-o", str(out / "again"), "--model", str(tiny_model)]) == 2
    assert "would both be written" in capsys.readouterr().err and not (out / "again").exists()
    assert good.read_bytes() == whole

    # A write that fails (a full disk) and Ctrl-C, mid-clip: the run stops and no part of the clip is left.
    written, failure = [], {}
    original = streams.VideoWriter.write

    def fails_at_frame_five(self, rgb, like):
        written.append(1)
        if len(written) == 5:
            raise failure["error"]
        original(self, rgb, like)

    monkeypatch.setattr(streams.VideoWriter, "write", fails_at_frame_five)
    for failure["error"], status, said in [
        (OSError(28, "No space left on device"), 1, "stopped (cannot write"),
        (KeyboardInterrupt(), 130, "stopped (interrupted): 0 of 1 files (1 video)"),
    ]:
        written.clear()
        target = tmp_path / f"stopped-{status}"
        assert C.main([str(good), "-o", str(target), "--model", str(tiny_model), "-q"]) == status
        assert said in capsys.readouterr().err
        assert not target.exists() or not list(target.rglob("*")), list(target.rglob("*"))
