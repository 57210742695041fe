"""What the studio refuses, and the names it takes: nothing outside the folders given."""

from http import HTTPStatus
from pathlib import Path, PurePosixPath
from urllib.parse import unquote


class Refused(Exception):
    """A request the studio will not do; ``status`` is the HTTP status, the message is shown on the page."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def inside(root: Path, name: str, what: str) -> Path:
    """``root / name`` for a relative POSIX ``name`` that stays inside ``root`` once every link is followed;
    `Refused` for an absolute path, ``..``, a hidden part or a link leading out."""
    parts = PurePosixPath(name).parts if name and "\\" not in name and "\0" not in name else ()
    if (
        not parts
        or PurePosixPath(name).is_absolute()
        or any(part in ("..", ".") or part.startswith(".") for part in parts)
    ):
        raise Refused(HTTPStatus.FORBIDDEN, f"{name!r} is not a {what}: only names inside the folder are")
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise Refused(HTTPStatus.FORBIDDEN, f"{name!r} leads outside the folder (a link): refused")
    return path


def upload_name(header: str | None) -> str:
    """The file name an upload is saved under: the last part of the name the browser gave, never hidden."""
    name = PurePosixPath(unquote(header or "").replace("\\", "/").replace("\0", "")).name.strip()
    return name[-150:] if name and not name.startswith(".") else "upload.png"
