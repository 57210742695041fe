"""Read a stage's section of ``params.yaml`` and check it before any work is done.

Every check raises `ParamError` with the key, the value found and what is allowed, so a wrong parameter
stops the stage at once with a message a user can act on.
"""

import difflib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = "params.yaml"


class ParamError(ValueError):
    """A parameter in params.yaml has a value the stage cannot use."""


def load(section: str, path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The ``section`` mapping of params.yaml; a missing file or section is a `ParamError`."""
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path} not found (run the stage from the repository root)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ParamError(f"{path} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get(section), dict):
        raise ParamError(f"{path} has no '{section}' section")
    return data[section]


def update(path: str | Path, changes: Mapping[str, Any]) -> None:
    """Set values of the params.yaml at ``path``: ``changes`` maps ``section.key`` to the new value (how the tests
    and benchmarks change a copy of the project; comments in the file are not kept)."""
    path = Path(path)
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def only_known(params: Mapping[str, Any], section: str, checked: dict[str, Any]) -> dict[str, Any]:
    """``checked`` (a stage's validated parameters, named as in params.yaml), once ``params`` is known to hold
    no other key: a misspelt key (``epoch: 3``) would otherwise be ignored, and the stage would run with the
    value it did not mean to change. The error names the closest known key."""
    for key in params:
        if key not in checked:
            close = difflib.get_close_matches(str(key), list(checked), n=1, cutoff=0.5)
            hint = f"did you mean {section}.{close[0]}?" if close else f"known keys: {', '.join(checked)}"
            raise ParamError(f"{section}.{key} is not a parameter of this stage; {hint}")
    return checked


def get(params: Mapping[str, Any], section: str, key: str) -> Any:
    """``params[key]``; a missing key is a `ParamError` naming ``section.key``."""
    if key not in params:
        raise ParamError(f"{section}.{key} is missing from params.yaml")
    return params[key]


def integer(
    params: Mapping[str, Any], section: str, key: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer (not a boolean) within ``minimum``..``maximum`` where given."""
    value = get(params, section, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"{section}.{key} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ParamError(f"{section}.{key} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParamError(f"{section}.{key} must be at most {maximum}, got {value}")
    return value


def number(
    params: Mapping[str, Any],
    section: str,
    key: str,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """A number (not a boolean) within ``minimum``..``maximum`` where given (above ``minimum`` if exclusive)."""
    value = get(params, section, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"{section}.{key} must be a number, got {value!r}")
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        bound = "greater than" if exclusive_minimum else "at least"
        raise ParamError(f"{section}.{key} must be {bound} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParamError(f"{section}.{key} must be at most {maximum}, got {value}")
    return float(value)


def choice(params: Mapping[str, Any], section: str, key: str, allowed: Collection[str]) -> str:
    """One of ``allowed``."""
    value = get(params, section, key)
    if value not in allowed:
        raise ParamError(f"{section}.{key} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def boolean(params: Mapping[str, Any], section: str, key: str) -> bool:
    """true or false."""
    value = get(params, section, key)
    if not isinstance(value, bool):
        raise ParamError(f"{section}.{key} must be true or false, got {value!r}")
    return value


def auto_or_boolean(params: Mapping[str, Any], section: str, key: str) -> str | bool:
    """``auto`` (the program decides, say by the hardware), true or false."""
    value = get(params, section, key)
    if value != "auto" and not isinstance(value, bool):
        raise ParamError(f"{section}.{key} must be auto, true or false; got {value!r}")
    return value


def size(params: Mapping[str, Any], section: str, key: str, multiple_of: int) -> tuple[int, int]:
    """A [height, width] pair of positive integers, each a multiple of ``multiple_of``."""
    value = get(params, section, key)
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )
    if not ok:
        raise ParamError(f"{section}.{key} must be [height, width], two positive integers; got {value!r}")
    if any(v % multiple_of for v in value):
        raise ParamError(
            f"{section}.{key} must be multiples of {multiple_of} (the networks halve the image "
            f"three times); got {list(value)}"
        )
    return int(value[0]), int(value[1])


def span(params: Mapping[str, Any], section: str, key: str, minimum: int = 1) -> tuple[int, int]:
    """A [smallest, largest] pair of integers, ``minimum`` <= smallest <= largest."""
    value = get(params, section, key)
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok or not minimum <= value[0] <= value[1]:
        raise ParamError(
            f"{section}.{key} must be [smallest, largest], two integers with {minimum} <= smallest "
            f"<= largest; got {value!r}"
        )
    return int(value[0]), int(value[1])


def existing_dir(params: Mapping[str, Any], section: str, key: str) -> Path:
    """A folder that exists (``~`` expanded)."""
    value = get(params, section, key)
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise ParamError(f"{section}.{key}: folder {str(path)!r} does not exist")
    return path


def fractions(
    params: Mapping[str, Any], section: str, key: str, names: Sequence[str] = ("train", "val", "test")
) -> dict[str, float]:
    """A mapping of split name to fraction, each in [0, 1], adding up to 1."""
    value = get(params, section, key)
    if not isinstance(value, dict) or set(value) != set(names):
        raise ParamError(f"{section}.{key} must map exactly {', '.join(names)} to fractions; got {value!r}")
    for name in names:
        number(value, f"{section}.{key}", name, minimum=0.0, maximum=1.0)
    total = sum(float(value[n]) for n in names)
    if abs(total - 1.0) > 1e-6:
        raise ParamError(f"{section}.{key} fractions must add up to 1, they add up to {total:g}")
    return {n: float(value[n]) for n in names}
