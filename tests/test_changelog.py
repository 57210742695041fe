"""CHANGELOG.md, pyproject.toml's version and `colorize --version` agree.

The expected version is read from pyproject.toml's `[project] version`, the one source of truth: the
CHANGELOG's newest release must name it, and `colorize --version` must print it. The package is installed
editable, so importlib.metadata (what `colorize --version` prints) keeps the version of the last install:
after changing pyproject's version, run `pip install --no-deps -e .` again. No TensorFlow is imported here.
"""

import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"
PYPROJECT = ROOT / "pyproject.toml"

RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$")


def project_version() -> str:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def level2_headings() -> list[str]:
    return [line.rstrip() for line in CHANGELOG.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]


def releases() -> list[tuple[tuple[int, int, int], date]]:
    """(version, date) of every release section, top to bottom (Unreleased excluded)."""
    found = []
    for heading in level2_headings()[1:]:
        match = RELEASE.match(heading)
        assert match, f"release heading not in the form '## [X.Y.Z] - YYYY-MM-DD': {heading!r}"
        found.append((tuple(int(g) for g in match.groups()[:3]), date.fromisoformat(match.group(4))))
    return found


def test_unreleased_section_comes_first():
    headings = level2_headings()
    assert headings and headings[0] == "## [Unreleased]"


def test_release_headings_versions_and_dates():
    found = releases()
    assert found, "no release section"
    for (newer, newer_date), (older, older_date) in zip(found, found[1:]):
        assert newer > older, f"versions must strictly decrease down the file: {newer} then {older}"
        assert newer_date >= older_date, f"dates must not increase down the file: {newer_date} then {older_date}"


def test_newest_release_is_pyprojects_version():
    newest, _ = releases()[0]
    assert ".".join(map(str, newest)) == project_version()


def test_colorize_version_prints_pyprojects_version():
    # Expected value from pyproject.toml (see the module docstring about re-installing after a bump).
    result = subprocess.run(
        [sys.executable, "-m", "colorizer.apps.colorize", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert project_version() in result.stdout.split(), result.stdout
