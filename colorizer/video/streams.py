"""Reading and writing video, through PyAV (FFmpeg in its wheel): frames decoded one at a time in presentation
order, coloured frames encoded as they come, the audio copied packet by packet, so memory stays flat in the
clip's length.

Every container and codec that FFmpeg reads is taken. The output is MP4: H.264 (yuv420p, BT.709, the
``+faststart`` layout) for even pixel sizes, what every browser plays; VP9 for an odd width or height, which
H.264's 4:2:0 cannot hold (its frames crop in steps of two pixels), also in MP4 and also played by Chrome,
Firefox, Edge and Safari. Each frame keeps its timestamp (so a variable frame rate survives), and the rotation
of a phone video is kept as metadata, the frames left as they were coded.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

# What FFmpeg reads as video, known by the file's suffix (a photograph is anything Pillow reads).
VIDEO_SUFFIXES = frozenset(
    (
        ".mp4 .m4v .mov .qt .mkv .webm .avi .mpg .mpeg .m2v .ts .mts .m2ts .wmv .asf .flv .3gp .3g2 .ogv .dv .mxf .y4m"
    ).split()
)
OUTPUT_SUFFIX = ".mp4"
CRF = 18  # x264's visually lossless end: the colour is new, the lightness should survive re-encoding
PRESET = "veryfast"  # 640x480 encodes at several hundred frames per second on one core
VP9_OPTIONS = {"crf": "24", "b": "0", "deadline": "good", "cpu-used": "5", "row-mt": "1"}


class UnreadableVideo(Exception):
    """A file that cannot be used as a video; the message says why."""


def is_video(path: str | Path) -> bool:
    """Whether ``path`` is read as a video (its suffix is one of `VIDEO_SUFFIXES`) rather than a photograph."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def missing_packages() -> list[str]:
    """The packages video needs that are not installed (the ``video`` extra: PyAV and OpenCV)."""
    from importlib.util import find_spec

    return [name for module, name in (("av", "av"), ("cv2", "opencv-python-headless")) if find_spec(module) is None]


def output_name(relative: Path) -> Path:
    """A video's output path: the input's, as MP4."""
    return relative.with_suffix(OUTPUT_SUFFIX)


def _quiet() -> None:
    """FFmpeg's own log off: what goes wrong is said in one line by the caller."""
    import av.logging

    av.logging.set_level(av.logging.PANIC)
    logging.getLogger("libav").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class VideoInfo:
    """What the reader knows before decoding: the coded pixel size, an estimate of the frame count (None when
    the container does not say) and the average frame rate."""

    width: int
    height: int
    frames: int | None
    rate: Fraction | None


class VideoReader:
    """A video file opened for reading: `info`, then `frames` once (a context manager: closes the file)."""

    def __init__(self, path: str | Path) -> None:
        import av

        _quiet()
        try:
            self.container = av.open(str(path), metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
            raise UnreadableVideo(f"cannot read it as a video: {_reason(error)}") from None
        if not self.container.streams.video:
            self.container.close()
            raise UnreadableVideo("it has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        codec = self.stream.codec_context
        if not codec.width or not codec.height:
            self.close()
            raise UnreadableVideo("its video stream has no pixel size (no frame could be decoded)")
        self.info = VideoInfo(
            width=codec.width,
            height=codec.height,
            frames=_frame_count(self.stream),
            rate=self.stream.average_rate or self.stream.guessed_rate,
        )

    def frames(self, on_audio: Callable[[object], None] | None = None) -> Iterator[tuple[np.ndarray, object]]:
        """(lightness pixels, the decoded frame) in presentation order: the pixels (H, W) uint8, or uint16 for
        more than 8 bits; the frame for its timestamp. Audio packets are given to ``on_audio`` as they are
        read, so that they are written interleaved with the video. `UnreadableVideo` for a damaged stream."""
        import av

        streams = [self.stream] + ([self.audio] if self.audio is not None and on_audio is not None else [])
        packets = self.container.demux(streams)
        while True:
            try:
                packet = next(packets)
                frames = [] if packet.stream.type == "audio" else packet.decode()
            except StopIteration:
                return
            except av.FFmpegError as error:
                raise UnreadableVideo(f"its video could not be decoded: {_reason(error)}") from None
            if packet.stream.type == "audio":
                if packet.dts is not None:
                    on_audio(packet)
                continue
            for frame in frames:
                yield _gray(frame), frame

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _gray(frame: object) -> np.ndarray:
    """The frame's lightness as the grey its pixels show: luma, at full range."""
    deep = max(component.bits for component in frame.format.components) > 8
    return frame.to_ndarray(format="gray16le" if deep else "gray")


def _frame_count(stream: object) -> int | None:
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.average_rate:
        return max(1, round(float(stream.duration * stream.time_base * stream.average_rate)))
    container = stream.container
    if container.duration and stream.average_rate:  # in microseconds
        return max(1, round(container.duration / 1e6 * float(stream.average_rate)))
    return None


def display_matrix(frame: object) -> list[int] | None:
    """The 3x3 display matrix (FFmpeg's nine int32) a decoded frame carries, which says how players rotate or
    mirror it; None when it has none."""
    from av.sidedata.sidedata import Type

    try:
        data = frame.side_data.get(Type.DISPLAYMATRIX)
    except (KeyError, ValueError):
        data = None
    return None if data is None else [int(v) for v in np.frombuffer(bytes(data), "<i4")[:9]]


class VideoWriter:
    """An MP4 being written at ``path`` (give a temporary one: `colorizer.atomic.replacing`), with the pixel
    size, frame rate and time base of ``reader``'s video, a copy of its audio stream, and the display matrix
    (rotation) of its first frame."""

    def __init__(self, path: str | Path, reader: VideoReader) -> None:
        import av

        _quiet()
        info, source = reader.info, reader.stream
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        rate = info.rate or Fraction(25)
        if info.width % 2 or info.height % 2:
            stream = self.container.add_stream("libvpx-vp9", rate=rate, options=dict(VP9_OPTIONS))
        else:
            stream = self.container.add_stream("libx264", rate=rate, options={"crf": str(CRF), "preset": PRESET})
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, "yuv420p"
        stream.time_base = source.time_base
        codec = stream.codec_context
        codec.time_base = source.time_base
        codec.colorspace, codec.color_primaries, codec.color_trc = 1, 1, 1  # BT.709 throughout
        codec.color_range = 1  # limited ("TV") range, as players expect
        self.stream = stream
        self.audio = None
        if reader.audio is not None:
            try:
                self.audio = self.container.add_stream_from_template(reader.audio)
            except (av.FFmpegError, ValueError):  # a codec MP4 cannot hold: the video is written without it
                self.audio = None
        self.frames = 0

    def copy_audio(self, packet: object) -> None:
        if self.audio is not None:
            packet.stream = self.audio
            self.container.mux(packet)

    def write(self, rgb: np.ndarray, like: object) -> None:
        """Encode the uint8 RGB frame ``rgb`` at the timestamp of the decoded frame ``like``."""
        import av

        if self.frames == 0 and (matrix := display_matrix(like)) is not None:  # before the encoder opens
            self.stream.set_display_matrix(matrix)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        frame.pts, frame.time_base = like.pts, like.time_base
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self.container.mux(self.stream.encode(None))
        self.container.close()
