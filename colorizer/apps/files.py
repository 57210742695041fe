"""Many photographs and videos for ``colorize``: which file goes where (`plan`), where each one's hints come from
(`HintsFrom`), and colouring them (`colorize_files`): photographs in batches, each video on its own
(`colorizer.video.clip`)."""

import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from colorizer.data.images import UnreadableImage, find_images
from colorizer.hints import BadHints, is_sidecar, sidecar_of
from colorizer.inference.loading import Network
from colorizer.inference.photo import Photo, colorize_photo, predict_photos, read_photo, save
from colorizer.inference.photo import output_name as photo_output_name
from colorizer.video.streams import is_video
from colorizer.video.streams import output_name as video_output_name

DEFAULT_SIZE = 256  # long side of the working resolution, in pixels (see docs/colorize.md for the choice)
DEFAULT_BATCH = 4


def output_name(relative: Path) -> Path:
    """The output path of the photograph or video at ``relative``: a video as MP4, a photograph in its format."""
    return video_output_name(relative) if is_video(relative) else photo_output_name(relative)


def plan(inputs: list[str | Path], output: str | Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, target) pairs for the files and folders in ``inputs``, and the inputs that do not exist.

    A folder is walked recursively and mirrored under ``output``; when ``output`` is inside it, what is
    already in ``output`` (an earlier run's results) is not an input. Raises ValueError when a target would
    overwrite an input, or when two inputs would share a target.
    """
    output = Path(output)
    pairs, missing = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            nested = item.resolve() in output.resolve().parents  # the output folder is inside this one
            for relative in find_images(item):
                if is_sidecar(relative):  # a photograph's hints, read with it
                    continue
                if not (nested and output.resolve() in (item / relative).resolve().parents):
                    pairs.append((item / relative, output / output_name(relative)))
        elif item.is_file():
            pairs.append((item, output / output_name(Path(item.name))))
        else:
            missing.append(str(item))
    return _unique(pairs), missing


def _unique(pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """``pairs`` without a file named twice; ValueError for two inputs to one target, or a target that is an input."""
    identities = {_identity(src) for src, _ in pairs}
    unique, seen = [], {}  # resolved target -> the identity of its source
    for src, target in pairs:
        if target.resolve() in seen:
            if seen[target.resolve()] == _identity(src):  # the same file named twice
                continue
            raise ValueError(f"two inputs would both be written to {target}, one of them {src}")
        seen[target.resolve()] = _identity(src)
        if target.exists() and _identity(target) in identities:
            raise ValueError(f"{target} is an input: choose an output folder that holds no input file")
        unique.append((src, target))
    return unique


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()  # follows symbolic links; hard links share the inode
    return stat.st_dev, stat.st_ino


@dataclass(frozen=True)
class HintsFrom:
    """Where each photograph's hints are read from: ``file`` when one is given (``--hints``, for the one
    photograph named), else its sidecar ``PHOTO.hints.json`` when ``sidecars`` and it has one, else nowhere
    (``--no-hints``)."""

    file: Path | None = None
    sidecars: bool = True

    def of(self, source: Path) -> Path | None:
        """The hints file of the photograph ``source``, or None."""
        if self.file is not None:
            return self.file
        if not self.sidecars:
            return None
        sidecar = sidecar_of(source)
        return sidecar if sidecar.is_file() else None


SIDECARS = HintsFrom()
NO_HINTS = HintsFrom(sidecars=False)


class Stopped(Exception):
    """The run ended before its last photograph: an output could not be written (a full disk, a read-only
    folder: every later write would fail too), or Ctrl-C. Says how far it got."""

    def __init__(self, reason: str, coloured: int, failed: list[tuple[Path, str]]) -> None:
        super().__init__(reason)
        self.reason, self.coloured, self.failed = reason, coloured, failed


class _Run:
    """One `colorize_files` run: what it has coloured, skipped and coloured with hints, and its progress bar."""

    def __init__(
        self, model: Network, saturation: float, total: int, progress: bool | None, hinted: list[Path]
    ) -> None:
        from colorizer.inference.predict import takes_hints

        self.model, self.saturation, self.hinted = model, saturation, hinted
        self.with_hints = takes_hints(model)
        self.failed, self.coloured = [], 0
        self.bar = tqdm(
            total=total, unit="file", file=sys.stderr, disable=None if progress is None else not progress
        )  # None: shown on a terminal only

    def fail(self, source: Path, reason: str) -> None:
        self.failed.append((source, reason))
        tqdm.write(f"colorize: skipped {source}: {reason}", file=sys.stderr)
        self.bar.update()

    def refuses_hints(self, source: Path, hints_file: Path | None) -> bool:
        """Whether ``source`` is skipped (said why) because it has hints and the model takes none."""
        if hints_file is not None and not self.with_hints:
            self.fail(
                source,
                f"it has hints ({hints_file}) but the model takes none (trained without them); "
                f"use a model trained with train.hints: true, or --no-hints",
            )
            return True
        return False

    def read(self, source: Path, size: int, hints_file: Path | None) -> Photo | None:
        """The photograph ``source`` with its hints, or None when it is skipped (said why)."""
        if self.refuses_hints(source, hints_file):
            return None
        try:
            return read_photo(source, size, hints_file)
        except (UnreadableImage, OSError) as error:
            self.fail(source, str(error))
        except BadHints as error:
            self.fail(source, f"bad hints: {error}")
        return None

    def video(self, source: Path, target: Path, size: int, hints_file: Path | None) -> None:
        """Colour the video ``source`` into ``target``, with a bar of its frames; skipped (said why) when it or
        its key frames cannot be used; `Stopped` when the write fails."""
        from colorizer.video.clip import colorize_video
        from colorizer.video.streams import UnreadableVideo

        if self.refuses_hints(source, hints_file):
            return
        frames = tqdm(unit="frame", file=sys.stderr, leave=False, desc=source.name, disable=self.bar.disable)

        def advance(done: int, total: int | None) -> None:
            if total is not None and total >= done and frames.total != total:
                frames.total = total
            frames.update(done - frames.n)

        try:
            colorize_video(self.model, source, target, size, self.saturation, hints_file, on_frame=advance)
        except UnreadableVideo as error:
            self.fail(source, str(error))
            return
        except BadHints as error:
            self.fail(source, f"bad hints: {error}")
            return
        except OSError as error:
            raise Stopped(f"cannot write {target}: {error.strerror or error}", self.coloured, self.failed) from None
        finally:
            frames.close()
        self.coloured += 1
        if hints_file is not None:
            self.hinted.append(source)
        self.bar.update()

    def write(self, batch: list[tuple[Path, Path, Photo]]) -> None:
        """Colour ``batch`` (photographs of one working size) and write each; `Stopped` when a write fails."""
        if not batch:
            return
        ab = predict_photos(self.model, [photo for _, _, photo in batch])
        for (source, target, photo), ab_scaled in zip(batch, ab):
            try:
                save(colorize_photo(photo, ab_scaled, self.saturation), target)
            except OSError as error:
                raise Stopped(f"cannot write {target}: {error.strerror or error}", self.coloured, self.failed) from None
            self.coloured += 1
            if photo.hints is not None:
                self.hinted.append(source)
            self.bar.update()


def colorize_files(
    model: Network,
    pairs: list[tuple[Path, Path]],
    size: int = DEFAULT_SIZE,
    saturation: float = 1.0,
    batch_size: int = DEFAULT_BATCH,
    progress: bool | None = None,
    hints: HintsFrom = SIDECARS,
    hinted: list[Path] | None = None,
) -> list[tuple[Path, str]]:
    """Colour every (source, target) pair; returns the (source, reason) of those that could not be read.

    ``hints`` says where each photograph's hints are read from (`HintsFrom`). A photograph whose hints cannot
    be used is skipped like an unreadable one, with the reason; the sources coloured with hints are appended
    to ``hinted``.

    Consecutive photographs with the same working size go through the network together, up to
    ``batch_size``; only their working-size lightness and decoded pixels wait in memory. The first write
    that fails, and Ctrl-C, end the run with `Stopped`.
    """
    run = _Run(model, saturation, len(pairs), progress, [] if hinted is None else hinted)
    batch = []
    try:
        for source, target in pairs:
            if is_video(source):
                run.write(batch)
                batch = []
                run.video(source, target, size, hints.of(source))
                continue
            photo = run.read(source, size, hints.of(source))
            if photo is None:
                continue
            if batch and (len(batch) == batch_size or batch[0][2].small.shape != photo.small.shape):
                run.write(batch)
                batch = []
            batch.append((source, target, photo))
        run.write(batch)
    except KeyboardInterrupt:
        raise Stopped("interrupted", run.coloured, run.failed) from None
    finally:
        run.bar.close()
    return run.failed
