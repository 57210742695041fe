"""The studio's two folders: FOLDER, whose photographs it offers and reads, and the output folder, the only
place it writes."""

import os
from http import HTTPStatus
from pathlib import Path, PurePosixPath

from colorizer.apps.studio.refusals import Refused, inside
from colorizer.hints import SUFFIX, is_sidecar
from colorizer.inference.photo import output_name

MAX_LISTED = 10_000  # photographs of FOLDER listed on the page


class Folders:
    """FOLDER (None: uploads only) and the output folder, which may be inside FOLDER but is not FOLDER."""

    def __init__(self, folder: Path | None, output: Path) -> None:
        self.folder, self.output = folder, Path(output)
        if folder is not None and self.output.resolve() == folder.resolve():
            raise ValueError("the output folder is the photographs' folder: Save would overwrite them")
        # An output folder inside FOLDER holds outputs only: not offered as photographs, written to by Save.
        self.nested = folder is not None and self.output.resolve().is_relative_to(folder.resolve())

    def photos(self) -> list[str]:
        """The files of FOLDER the page offers, as `colorizer.data.images.find_images` finds them but without
        following a link to a folder (nothing outside FOLDER is even listed): no hidden file, no sidecar, nothing
        in the output folder, no link leading out. Whether each is a photograph is known when it is opened."""
        if self.folder is None:
            return []
        root, output = self.folder.resolve(), self.output.resolve()
        names = []
        for top, folders, files in os.walk(self.folder):
            folders[:] = [name for name in folders if not name.startswith(".")]
            for name in files:
                real = (Path(top) / name).resolve()
                if (
                    name.startswith(".")
                    or is_sidecar(name)
                    or not real.is_relative_to(root)
                    or (self.nested and real.is_relative_to(output))
                ):
                    continue
                names.append((Path(top) / name).relative_to(self.folder).as_posix())
                if len(names) == MAX_LISTED:
                    return sorted(names)
        return sorted(names)

    def photograph(self, name: str) -> Path:
        """The file ``name`` of FOLDER; `Refused` for no folder, a name leading out of it, or no such file."""
        if self.folder is None:
            raise Refused(HTTPStatus.NOT_FOUND, "no folder was given: upload a photograph")
        path = inside(self.folder, name, "photograph of the folder")
        if not path.is_file():
            raise Refused(HTTPStatus.NOT_FOUND, f"no photograph {name} in {self.folder}")
        return path

    def sidecars(self, relative: PurePosixPath, name: str, source: Path | None) -> list[Path]:
        """Where the points of a photograph may already be, first found first: the sidecar of an earlier Save,
        then the photograph's own beside it in FOLDER; each inside its folder."""
        candidates = [(self.sidecar(relative, name), self.output)]
        if source is not None:
            candidates.append((source.with_name(source.name + SUFFIX), self.folder))
        return [path for path, root in candidates if path.is_file() and path.resolve().is_relative_to(root.resolve())]

    def sidecar(self, relative: PurePosixPath, name: str) -> Path:
        """The sidecar Save writes for the photograph ``name`` of FOLDER's subfolder ``relative.parent``."""
        return self.output.joinpath(*relative.parent.parts, name + SUFFIX)

    def target(self, relative: PurePosixPath, name: str) -> Path:
        """The file Save writes the coloured photograph ``name`` to, as `colorize` would name it."""
        return self.output.joinpath(*relative.parent.parts, output_name(Path(name)).name)

    def writable(self, path: Path) -> None:
        """`Refused` (403) unless ``path`` is in the output folder, once links are followed, and not in FOLDER
        (unless the output folder is inside it)."""
        real = path.resolve()
        if not real.is_relative_to(self.output.resolve()):
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} leads outside the output folder (a link): not written")
        if self.folder is not None and real.is_relative_to(self.folder.resolve()) and not self.nested:
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} is in the photographs' folder {self.folder}: not written")
