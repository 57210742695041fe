"""Docs that cannot go stale: the commands, params keys and links of README.md and docs/ checked against the code.

Nothing is executed (no training, no TensorFlow): commands are read, split and compared with what exists.
Every problem is reported as ``file:line: what is wrong``, all of them at once.

Which fenced code blocks are commands
    - a block labelled ``bash``, ``sh``, ``shell``, ``zsh``, ``console`` or ``shell-session``: every line is a
      command, except that in ``console``/``shell-session`` blocks only lines with a ``$`` prompt are (the
      others are output); a leading ``$ `` (or ``(venv) $ ``) prompt is stripped in every block;
    - an unlabelled block whose first line that is not blank or a comment starts (after a prompt and any
      ``VAR=value`` assignments) with a program this module knows: a console script of pyproject.toml, python,
      dvc, mlflow, pip, pytest, or one of `SHELL_TOOLS` (so the pipeline diagram and the layout are not);
    - every other label (text, yaml, python, toml, ...) is not a command block.
    In a command block, lines ending in ``\\`` are joined to the next, a quote left open runs on to the next
    lines, ``#`` comments are dropped, and each line is split on ``&&``, ``||``, ``;``, ``|``, ``&`` and
    parentheses; redirections are dropped; leading ``VAR=value`` assignments and the wrappers ``env``,
    ``time``, ``nohup``, ``exec`` are skipped; ``export``/``cd``/``git``/... (`SHELL_TOOLS`) are accepted as they
    are. A placeholder ``<run id>`` stands for any value.

Inline code spans are commands too when they have at least two words and the first is a console script,
python, dvc, mlflow, pip, pytest, bash, sh or sbatch (`dvc repro -f -s export`): their options, subcommands,
modules, stages and keys are checked, but not that every required argument is given (prose names commands
without their arguments: `dvc queue`, `python -m stages.train`).

What a command is checked for
    - a console script of [project.scripts] (``colorize``), and ``python -m`` its module: each ``-x``/``--xx`` is
      an option of its argparse parser (read from one ``--help`` run of each script, for the whole module;
      an abbreviation argparse would accept is reported too: write options in full) and, in code blocks, the
      parser's required options are given;
    - ``python -m X``: X is found (`module_spec`: the repository first, as ``python -m`` from the root does, then
      the installed packages; nothing is imported), a package needing a ``__main__``; for a module of this
      repository its options are the string literals of its ``add_argument`` calls (plus -h/--help); for
      ``stages.<name>`` in a code block, as many paths as dvc.yaml's command for that stage gives;
      ``python -m pip/pytest/dvc/mlflow`` are checked as those programs;
    - ``python path/script.py``: the file exists (from the repository root) and its options as above;
    - ``dvc``: the subcommand is one of `DVC_COMMANDS`, then DVC's own argument parser (dvc.cli.parser, imported
      without running anything) takes the arguments: options, sub-subcommands and values; stage targets of
      repro/exp run/status/dag/push/pull/fetch/checkout/commit are stages of dvc.yaml, ``dvc.yaml:stage``,
      an existing path or a path dvc.yaml declares; every ``-S``/``--set-param key=value`` key is in params.yaml;
    - ``-S``/``--set`` ``section.key=value`` given to a python script or module: the key is in params.yaml;
    - ``mlflow``: the subcommand (and the ``models`` one) is in `MLFLOW_COMMANDS`, and each long or short option
      appears as an option string in MLflow's CLI sources (a loose check: MLflow's CLI takes 3 s to import);
    - ``pip install``: ``-c``/``-r`` files exist and ``.[extra]`` extras are pyproject.toml's;
      ``pytest``: ``-m`` markers are registered in pyproject.toml and test paths exist;
      ``bash``/``sh``/``sbatch``/``srun`` with a script path: the script exists;
    - any other program is reported as unknown (add it to `SHELL_TOOLS` if it is a real tool).

Python blocks are parsed (a syntax error is reported) and their imports are checked: each imported module can
be found (without importing it) and, for this repository's modules, each name imported from one is defined at
its top level. They are not run (they need a trained model).

YAML blocks whose top-level keys are all params.yaml sections are params.yaml fragments: every key in them is
one of params.yaml's. Inline code spans that start with ``section.key`` (section a top-level key of params.yaml,
key an identifier, more ``.key`` levels allowed, followed by the span's end, a space, ``:``, ``=`` or ``,``)
name a param that must exist, unless the last part is a file suffix (`train.py`, `export.json`).

Links: every ``[text](target)``, ``![alt](target)``, ``[ref]: target``, ``<img src>`` and ``<a href>`` in README.md,
docs/ (recursively), BENCHMARKS.md and CHANGELOG.md, outside code, that is not a URL (``scheme:``) resolves to an
existing file or folder relative to the markdown file's folder (``/path`` from the repository root); a
``#anchor`` (alone, or after a .md target) must be a heading of that file, by GitHub's rule: lower case,
punctuation other than ``-`` and ``_`` removed, spaces to ``-``, ``-1``, ``-2`` ... for repeated headings.
"""

import argparse
import ast
import importlib.machinery
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import unquote

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

COMMAND_LANGS = {"bash", "sh", "shell", "zsh", "console", "shell-session"}
PROMPT_LANGS = {"console", "shell-session"}
PYTHON_LANGS = {"python", "py", "python3", "pycon"}
YAML_LANGS = {"yaml", "yml"}

# Programs accepted as they are (their arguments are the user's: paths, hosts, packages).
SHELL_TOOLS = {
    ".",
    "source",
    "cd",
    "export",
    "unset",
    "set",
    "echo",
    "printf",
    "cat",
    "ls",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "rmdir",
    "touch",
    "ln",
    "chmod",
    "chown",
    "du",
    "df",
    "head",
    "tail",
    "less",
    "grep",
    "find",
    "sort",
    "wc",
    "tar",
    "unzip",
    "zip",
    "gzip",
    "curl",
    "wget",
    "git",
    "ssh",
    "scp",
    "rsync",
    "open",
    "xdg-open",
    "kill",
    "sleep",
    "watch",
    "top",
    "htop",
    "nvidia-smi",
    "docker",
    "npm",
    "npx",
    "conda",
    "mamba",
    "uv",
    "sudo",
    "apt",
    "apt-get",
    "brew",
    "scontrol",
    "squeue",
    "scancel",
    "sinfo",
    "deactivate",
    "which",
    "true",
    "false",
    "exit",
    "tee",
    "xargs",
    "diff",
    "jq",
    "sed",
    "awk",
    "md5sum",
    "sha256sum",
    "python3-config",
    "psql",
    "aws",
    "gcloud",
    "az",
}
WRAPPERS = {"env", "time", "nohup", "exec", "command"}
SHELL_KEYWORDS = {"if", "then", "else", "elif", "while", "until", "do", "!", "{"}
SHELL_ENDERS = {"fi", "done", "for", "case", "esac", "}", "function"}
SCRIPT_RUNNERS = {"bash", "sh", "zsh", "sbatch", "srun"}
PYTHON_NAME = re.compile(r"python(3(\.\d+)?)?")
INLINE_PROGRAMS = {"python", "python3", "dvc", "mlflow", "pip", "pip3", "pytest", "bash", "sh", "sbatch"}

DVC_COMMANDS = {
    "add",
    "artifacts",
    "cache",
    "check-ignore",
    "checkout",
    "commit",
    "completion",
    "config",
    "dag",
    "data",
    "destroy",
    "diff",
    "doctor",
    "du",
    "exp",
    "experiments",
    "fetch",
    "freeze",
    "gc",
    "get",
    "get-url",
    "import",
    "import-url",
    "init",
    "install",
    "list",
    "ls",
    "ls-url",
    "metrics",
    "move",
    "mv",
    "params",
    "plots",
    "pull",
    "push",
    "queue",
    "remote",
    "remove",
    "rm",
    "repro",
    "root",
    "stage",
    "status",
    "unfreeze",
    "unprotect",
    "update",
    "version",
}
DVC_GROUPS = {
    "exp",
    "experiments",
    "queue",
    "remote",
    "metrics",
    "plots",
    "params",
    "cache",
    "stage",
    "data",
    "artifacts",
    "config",
}
DVC_STAGE_TARGETS = {
    ("repro",),
    ("exp", "run"),
    ("experiments", "run"),
    ("status",),
    ("dag",),
    ("push",),
    ("pull",),
    ("fetch",),
    ("checkout",),
    ("commit",),
}
MLFLOW_COMMANDS = {
    "ui",
    "server",
    "models",
    "run",
    "runs",
    "experiments",
    "artifacts",
    "db",
    "gc",
    "deployments",
    "sagemaker",
    "doctor",
    "gateway",
    "traces",
    "scorers",
    "datasets",
    "recipes",
}
MLFLOW_MODELS_COMMANDS = {
    "predict",
    "serve",
    "build-docker",
    "generate-dockerfile",
    "prepare-env",
    "update-pip-requirements",
}
FILE_SUFFIXES = {
    "py",
    "json",
    "csv",
    "keras",
    "yaml",
    "yml",
    "md",
    "sh",
    "txt",
    "npy",
    "npz",
    "png",
    "jpg",
    "jpeg",
    "html",
    "lock",
    "dvc",
    "db",
    "log",
    "toml",
    "tsv",
    "h5",
    "pkl",
    "cfg",
    "ini",
    "tmp",
    "gif",
    "tif",
}
PLACEHOLDER = "{placeholder}"
NUMBER = re.compile(r"-\d+(\.\d*)?([eE][-+]?\d+)?")


# ---------------------------------------------------------------------------------------------------------
# What the docs are checked against


@dataclass
class Cli:
    """An argparse command line: its option strings, grouped by option (aliases together), and the required ones."""

    name: str
    groups: list[tuple[str, ...]]
    required: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def options(self) -> set[str]:
        return {option for group in self.groups for option in group}


@dataclass
class Project:
    root: Path
    params: dict
    stages: dict[str, str]  # name -> cmd
    dvc_paths: set[str]  # every path dvc.yaml declares (deps, outs, metrics, plots)
    scripts: dict[str, tuple[str, Cli]]  # console script -> (its module, its command line)
    extras: set[str]
    markers: set[str]
    dvc_parser: argparse.ArgumentParser
    mlflow_options: set[str] | None


def help_cli(name: str, text: str) -> Cli:
    """Option groups from argparse's ``--help`` text (lines indented by a few spaces that start with ``-``), and
    the required ones: those outside brackets in the usage's first form."""
    groups = []
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"-{1,2}\w", stripped) and len(line) - len(line.lstrip()) <= 6:
            invocation = re.split(r"\s{2,}", stripped)[0]
            groups.append(tuple(part.split()[0] for part in invocation.split(", ") if part.startswith("-")))
    usage = text.split("\n\n")[0].splitlines()[0]  # the first form; another (``colorize --suggest``) is a mode
    outside, depth = [], 0
    for char in usage:
        depth += char in "[(" and 1 or char in "])" and -1 or 0
        outside.append(char if depth == 0 and char not in "])" else " ")
    at_top = set(re.findall(r"(?<!\S)(--?[\w-]+)", "".join(outside).removeprefix("usage:")))
    return Cli(name, groups, [group for group in groups if at_top & set(group)])


def console_script_cli(name: str, target: str) -> Cli:
    """The command line of console script ``name`` (``module:function``), from one ``--help`` run."""
    module, _, function = target.partition(":")
    code = (
        f"import sys; sys.argv = [{name!r}, '--help']; from {module} import {function.split('.')[0]} as f; "
        f"sys.exit(f{'.' + function.split('.', 1)[1] if '.' in function else ''}())"
    )
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{name} --help failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return help_cli(name, result.stdout)


def dvc_declared_paths(dvc_yaml: dict) -> set[str]:
    paths = set()
    for stage in dvc_yaml.get("stages", {}).values():
        for kind in ("deps", "outs", "metrics", "plots"):
            for entry in stage.get(kind, []) or []:
                for path in entry if isinstance(entry, dict) else [entry]:
                    if isinstance(path, str) and "${" not in path:
                        paths.add(path.rstrip("/"))
    return paths


def mlflow_cli_options() -> set[str] | None:
    """Every option string literal in MLflow's CLI sources (files or folders named cli, cli_args ...)."""
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    options = set()
    for path in root.rglob("*.py"):
        if "cli" in path.name or "cli" in path.relative_to(root).parts[:-1]:
            options |= set(re.findall(r"""["'](--?[A-Za-z][\w-]*)["']""", path.read_text(errors="replace")))
    return options


def load_project(root: Path = REPO) -> Project:
    from dvc.cli.parser import get_main_parser

    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    project = pyproject.get("project", {})
    dvc_yaml = yaml.safe_load((root / "dvc.yaml").read_text())
    stages = {name: stage.get("cmd", "") for name, stage in dvc_yaml.get("stages", {}).items()}
    markers = {
        line.split(":")[0].split("(")[0].strip()
        for line in pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("markers", [])
    }
    return Project(
        root=root,
        params=yaml.safe_load((root / "params.yaml").read_text()) or {},
        stages={name: cmd if isinstance(cmd, str) else " ".join(cmd) for name, cmd in stages.items()},
        dvc_paths=dvc_declared_paths(dvc_yaml),
        scripts={
            name: (target.partition(":")[0], console_script_cli(name, target))
            for name, target in project.get("scripts", {}).items()
        },
        extras=set(project.get("optional-dependencies", {})),
        markers=markers | {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"},
        dvc_parser=get_main_parser(),
        mlflow_options=mlflow_cli_options(),
    )


# ---------------------------------------------------------------------------------------------------------
# Markdown


@dataclass
class Block:
    lang: str
    line: int  # the line number of its first content line
    lines: list[str]


@dataclass
class Doc:
    name: str  # as reported: relative to the repository, or any name for a string
    folder: Path  # relative links start here
    text: str
    blocks: list[Block]
    prose: str  # the text with fenced blocks blanked (line numbers kept)

    def line_of(self, offset: int) -> int:
        return self.prose.count("\n", 0, offset) + 1


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")


def parse_doc(text: str, name: str, folder: Path) -> Doc:
    blocks, prose, lines = [], [], text.split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            prose.append(lines[i])
            i += 1
            continue
        indent, fence, lang = len(match.group(1)), match.group(2), match.group(3).lower().strip("{}.")
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            j += 1
        blocks.append(Block(lang, i + 2, body))
        prose.extend([""] * (min(j, len(lines) - 1) - i + 1))
        i = j + 1
    return Doc(name, folder, text, blocks, "\n".join(prose[: len(lines)]))


def inline_spans(doc: Doc) -> list[tuple[int, str, int, int]]:
    """(line, content, start, end) of every inline code span outside fenced blocks."""
    spans = []
    for paragraph in re.finditer(r"(?:[^\n]*\S[^\n]*(?:\n|$))+", doc.prose):  # a span never crosses a blank line
        for match in re.finditer(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", paragraph.group(0), re.S):
            content = match.group(2).replace("\n", " ")
            if content.startswith(" ") and content.endswith(" ") and content.strip():
                content = content[1:-1]
            start, end = paragraph.start() + match.start(), paragraph.start() + match.end()
            spans.append((doc.line_of(start), content, start, end))
    return spans


def heading_slugs(doc: Doc) -> set[str]:
    """GitHub's anchors for the ATX headings outside code blocks."""
    slugs, seen = set(), {}
    for line in doc.prose.split("\n"):
        match = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))
        text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs


# ---------------------------------------------------------------------------------------------------------
# Shell lines into commands


def strip_comment(line: str) -> str:
    """The line without its ``#`` comment (a ``#`` that starts a word, outside quotes)."""
    quote, escaped = None, False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return line[:i]
    return line


def strip_prompt(line: str) -> tuple[str, bool]:
    match = re.match(r"^\s*(\([^()]*\)\s*)?\$\s+", line)
    return (line[match.end() :], True) if match else (line, False)


def tokens(line: str) -> list[str]:
    """shlex words and operators; ``<placeholder>`` made one word first (its ``<`` is not a redirection)."""
    line = re.sub(r"<[A-Za-z][^<>\n]*>", PLACEHOLDER, line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    return list(lexer)


def split_commands(line: str) -> list[list[str]]:
    """The simple commands of one logical shell line, each as its words (redirections dropped)."""
    commands, words, words_iter = [], [], iter(tokens(line))
    for word in words_iter:
        if word and set(word) <= set("&|;()") and word not in ("",):
            if words:
                commands.append(words)
            words = []
        elif word and set(word) <= set("<>&"):  # a redirection: its target goes with it
            next(words_iter, None)
            if words and words[-1].isdigit() and re.search(rf"(?<!\S){words[-1]}{re.escape(word)}", line):
                words.pop()
        else:
            words.append(word)
    if words:
        commands.append(words)
    return commands


def block_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, logical line) of the commands in a command block: prompts, comments and continuations
    handled; an open quote runs on to the following lines."""
    prompted = block.lang in PROMPT_LANGS
    logical, i, lines = [], 0, block.lines
    while i < len(lines):
        start, raw = i, lines[i]
        raw, had_prompt = strip_prompt(raw)
        i += 1
        if (prompted and not had_prompt) or not raw.strip() or raw.lstrip().startswith("#"):
            continue
        text = raw
        while True:
            while text.rstrip().endswith("\\") and i < len(lines):
                text = (
                    text.rstrip()[:-1] + " " + re.sub(r"^\s*>\s", "", lines[i])
                    if prompted
                    else text.rstrip()[:-1] + " " + lines[i]
                )
                i += 1
            try:
                tokens(strip_comment(text))
                break
            except ValueError:  # an open quote: the string goes on
                if i >= len(lines):
                    break
                text += "\n" + lines[i]
                i += 1
        logical.append((block.line + start, strip_comment(text)))
    return logical


def is_command_block(block: Block, project: Project) -> bool:
    if block.lang in COMMAND_LANGS:
        return True
    if block.lang:
        return False
    for raw in block.lines:
        line, had_prompt = strip_prompt(raw)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if had_prompt:
            return True
        try:
            words = program_words(split_commands(strip_comment(line))[0])
        except (ValueError, IndexError):
            return False
        return bool(words) and known_program(words[0], project)
    return False


def known_program(word: str, project: Project) -> bool:
    return (
        word in project.scripts
        or PYTHON_NAME.fullmatch(word) is not None
        or word in {"dvc", "mlflow", "pip", "pip3", "pytest", "py.test"} | SHELL_TOOLS | SCRIPT_RUNNERS | WRAPPERS
    )


def program_words(words: list[str]) -> list[str]:
    """The words from the program on: ``VAR=value`` assignments and wrappers (env, time, ...) skipped."""
    i = 0
    while i < len(words):
        word = words[i]
        if re.fullmatch(r"[A-Za-z_]\w*=.*", word, re.S) or word in WRAPPERS or word in SHELL_KEYWORDS:
            i += 1
        elif i > 0 and words[i - 1] == "env" and word.startswith("-"):
            i += 1
        else:
            break
    return words[i:]


# ---------------------------------------------------------------------------------------------------------
# Checks of one command


def param_missing(params: dict, key: str) -> bool:
    node = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return True
        node = node[part]
    return False


def check_options(label: str, args: list[str], cli: Cli, check_required: bool) -> list[str]:
    problems, present = [], set()
    for word in args:
        if word == "--":
            break
        if word.startswith("[-"):
            word = word.lstrip("[").rstrip("]")
        if not word.startswith("-") or word == "-" or NUMBER.fullmatch(word) or PLACEHOLDER in word:
            continue
        flag = word.split("=", 1)[0]
        if flag in cli.options:
            present.add(flag)
            continue
        prefixed = sorted(option for option in cli.options if option.startswith(flag) and flag.startswith("--"))
        hint = f" (argparse takes it as {prefixed[0]}: write it in full)" if len(prefixed) == 1 else ""
        problems.append(f"{label} has no option {flag}{hint}")
    if check_required and not present & {"-h", "--help", "--version", "--suggest"}:  # --suggest: colorize's
        # other form, which colours nothing and so needs no output folder
        problems += [f"{label} needs {' / '.join(group)}" for group in cli.required if not present & set(group)]
    return problems


def check_set_values(label: str, args: list[str], project: Project, flags=("-S", "--set", "--set-param")) -> list[str]:
    """``--set section.key=value`` keys (a key whose first part is a params.yaml section) exist in params.yaml."""
    problems = []
    for i, word in enumerate(args):
        value = None
        if word in flags and i + 1 < len(args):
            value = args[i + 1]
        elif word.split("=", 1)[0] in flags and "=" in word:
            value = word.split("=", 1)[1]
        if value and "=" in value:
            key = value.split("=", 1)[0]
            if key.split(".")[0] in project.params and param_missing(project.params, key):
                problems.append(f"{label}: {word} {value}: {key} is not a key of params.yaml")
    return problems


def source_cli(label: str, path: Path) -> Cli:
    """The options of a script of this repository: the string literals of its add_argument calls."""
    groups = [("-h", "--help")]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            names = tuple(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-")
            )
            if names:
                groups.append(names)
    return Cli(label, groups)


def module_spec(name: str, root: Path = REPO):
    """The spec of module ``name`` as ``python -m`` from ``root`` finds it, without importing anything (parent
    packages included): ``root`` first, then the installed packages. None when there is none."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    spec = importlib.machinery.PathFinder.find_spec(parts[0], [str(root)])
    if spec is None:
        try:
            spec = importlib.util.find_spec(parts[0])
        except (ImportError, ValueError):
            return None
    for part in parts[1:]:
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations))
    return spec


def in_repo(spec, root: Path) -> bool:
    return bool(
        spec
        and spec.origin
        and spec.origin not in ("built-in", "frozen")
        and Path(spec.origin).resolve().is_relative_to(root.resolve())
    )


def check_python(words: list[str], project: Project, inline: bool) -> list[str]:
    args, i = words[1:], 0
    while i < len(args):
        word = args[i]
        if word == "-c" or (word.startswith("-c") and not word.startswith("--")):
            return []  # code, not checked
        if word == "-m" or (word.startswith("-m") and len(word) > 2):
            module = args[i + 1] if word == "-m" and i + 1 < len(args) else word[2:]
            rest = args[i + 2 :] if word == "-m" else args[i + 1 :]
            return check_module(module, rest, project, inline) if module else ["python -m needs a module"]
        if word in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
        elif word.startswith("-") and word != "-":
            i += 1
        else:
            if PLACEHOLDER in word:
                return []
            script = project.root / word
            if not script.is_file():
                return [f"python: no script {word}"]
            cli = source_cli(f"python {word}", script)
            return check_options(cli.name, args[i + 1 :], cli, False) + check_set_values(
                cli.name, args[i + 1 :], project
            )
    return []


def check_module(module: str, args: list[str], project: Project, inline: bool) -> list[str]:
    if PLACEHOLDER in module:
        return []
    label = f"python -m {module}"
    delegated = {"pip": "pip", "pytest": "pytest", "dvc": "dvc", "mlflow": "mlflow"}
    if module in delegated:
        if module_spec(module, project.root) is None:
            return [f"{label}: no module {module} is installed"]
        return check_words([delegated[module], *args], project, inline)
    spec = module_spec(module, project.root)
    if spec is None:
        return [f"{label}: no module {module} (not in the repository, not installed)"]
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        if module_spec(f"{module}.__main__", project.root) is None:
            return [f"{label}: {module} is a package without __main__"]
        return []
    for script_module, cli in project.scripts.values():
        if script_module == module:
            return check_options(label, args, cli, not inline) + check_set_values(label, args, project)
    if not in_repo(spec, project.root):
        return []  # another project's options are its own
    problems = check_options(label, args, source_cli(label, Path(spec.origin)), False)
    problems += check_set_values(label, args, project)
    stage = module.removeprefix("stages.")
    if module.startswith("stages.") and not inline and stage in project.stages:
        cmd = project.stages[stage].split()
        if cmd[:3] == ["python", "-m", module]:
            given = [word for word in args if not word.startswith("-")]
            if len(given) != len(cmd) - 3:
                problems.append(
                    f"{label} takes {len(cmd) - 3} paths (dvc.yaml's {stage} command: "
                    f"{' '.join(cmd[3:])}), the command gives {len(given)}"
                )
    return problems


class _ParseError(Exception):
    pass


def dvc_parse(parser: argparse.ArgumentParser, args: list[str]):
    """DVC's own parser on ``args``: (namespace, None) or (None, its error)."""

    def error(self, message, *_, **__):
        raise _ParseError(message)

    with mock.patch.object(argparse.ArgumentParser, "error", error), mock.patch.object(type(parser), "error", error):
        try:
            namespace, unknown = parser.parse_known_args(args)
        except _ParseError as problem:
            return None, str(problem)
        except SystemExit:  # --help, --version
            return None, None
    return (namespace, None) if not unknown else (None, f"unrecognized arguments: {' '.join(unknown)}")


def dvc_target_ok(target: str, project: Project) -> bool:
    if PLACEHOLDER in target or target in project.stages:
        return True
    if ":" in target:
        file, _, stage = target.rpartition(":")
        path = project.root / (file or "dvc.yaml")
        if path.resolve() == (project.root / "dvc.yaml").resolve():
            return stage in project.stages
        return path.is_file()
    clean = target.rstrip("/")
    return (
        (project.root / clean).exists()
        or clean in project.dvc_paths
        or any(clean.startswith(path + "/") for path in project.dvc_paths)
    )


def check_dvc(args: list[str], project: Project, inline: bool) -> list[str]:
    path = [word for word in args if not word.startswith("-")][:2]
    if not path:
        return []
    sub = path[0]
    if sub not in DVC_COMMANDS:
        return [f"dvc has no command {sub}"]
    command = (sub, path[1]) if sub in DVC_GROUPS and len(path) > 1 else (sub,)
    label = "dvc " + " ".join(command)
    namespace, problem = dvc_parse(project.dvc_parser, args)
    if problem:
        if inline and "the following arguments are required" in problem:
            return []  # prose naming a command without its arguments
        return [f"{label}: {problem}"]
    if namespace is None:
        return []
    problems = []
    if command in DVC_STAGE_TARGETS and not getattr(namespace, "glob", False):
        targets = getattr(namespace, "targets", None) or []
        if isinstance(getattr(namespace, "target", None), str):
            targets = [namespace.target]
        problems += [
            f"{label}: {target} is not a stage of dvc.yaml ({', '.join(project.stages)}) nor a file"
            for target in targets
            if not dvc_target_ok(target, project)
        ]
    for value in getattr(namespace, "set_param", None) or []:
        if value.strip(".") == "" or PLACEHOLDER in value:
            continue
        if "=" not in value:
            problems.append(f"{label}: -S {value} is not key=value")
            continue
        key = value.split("=", 1)[0]
        file, _, key = key.rpartition(":") if ":" in key else ("", "", key)
        if file and Path(file).name != "params.yaml":
            continue
        if param_missing(project.params, key):
            problems.append(f"{label}: -S {value}: {key} is not a key of params.yaml")
    return problems


def check_mlflow(args: list[str], project: Project) -> list[str]:
    path = [word for word in args if not word.startswith("-")]
    if not path:
        return []
    if path[0] not in MLFLOW_COMMANDS:
        return [f"mlflow has no command {path[0]}"]
    problems = []
    if path[0] == "models" and len(path) > 1 and path[1] not in MLFLOW_MODELS_COMMANDS and PLACEHOLDER not in path[1]:
        problems.append(f"mlflow models has no command {path[1]}")
    if project.mlflow_options is not None:
        for word in args:
            flag = word.split("=", 1)[0]
            if (
                flag.startswith("-")
                and not NUMBER.fullmatch(flag)
                and flag not in ("-", "--", "-h", "--help")
                and flag not in project.mlflow_options
            ):
                problems.append(f"mlflow {path[0]} has no option {flag} (not in MLflow's CLI)")
    return problems


def check_pip(args: list[str], project: Project) -> list[str]:
    if not args or args[0] != "install":
        return []
    problems = []
    for i, word in enumerate(args):
        for flag in ("-c", "-r", "--constraint", "--requirement"):
            value = (
                args[i + 1]
                if word == flag and i + 1 < len(args)
                else word.split("=", 1)[1]
                if word.startswith(flag + "=")
                else None
            )
            if value and "://" not in value and PLACEHOLDER not in value and not (project.root / value).is_file():
                problems.append(f"pip install {flag}: no file {value}")
        match = re.fullmatch(r"(\.|\./)\[([^\]]*)\]", word)
        if match:
            problems += [
                f"pip install: pyproject.toml has no extra [{extra.strip()}]"
                for extra in match.group(2).split(",")
                if extra.strip() not in project.extras
            ]
    return problems


def check_pytest(args: list[str], project: Project) -> list[str]:
    problems = []
    for i, word in enumerate(args):
        if word == "-m" and i + 1 < len(args):
            names = set(re.findall(r"[A-Za-z_]\w*", args[i + 1])) - {"and", "or", "not"}
            problems += [f"pytest -m: no marker {name} in pyproject.toml" for name in sorted(names - project.markers)]
        elif (
            not word.startswith("-")
            and (i == 0 or args[i - 1] not in ("-m", "-k", "-p", "-c", "-o", "--rootdir"))
            and PLACEHOLDER not in word
            and re.match(r"tests?/|.*\.py", word)
            and not (project.root / word.split("::")[0]).exists()
        ):
            problems.append(f"pytest: no test file or folder {word.split('::')[0]}")
    return problems


def check_script_runner(words: list[str], project: Project) -> list[str]:
    for word in words[1:]:
        if word == "-c":
            return []
        if word.startswith("-") or PLACEHOLDER in word:
            continue
        if (word.endswith(".sh") or "/" in word) and not (project.root / word).is_file():
            return [f"{words[0]}: no script {word}"]
        return []
    return []


def check_words(words: list[str], project: Project, inline: bool = False) -> list[str]:
    """The problems of one simple command (its words from the program on)."""
    words = program_words(words)
    if not words or words[0] in SHELL_ENDERS:
        return []
    program, args = words[0], words[1:]
    name = Path(program).name
    if program in project.scripts:
        module, cli = project.scripts[program]
        return check_options(program, args, cli, not inline) + check_set_values(program, args, project)
    if PYTHON_NAME.fullmatch(name):
        return check_python(words, project, inline)
    if program == "dvc":
        return check_dvc(args, project, inline)
    if program == "mlflow":
        return check_mlflow(args, project)
    if program in ("pip", "pip3"):
        return check_pip(args, project)
    if program in ("pytest", "py.test"):
        return check_pytest(args, project)
    if program in SCRIPT_RUNNERS:
        return check_script_runner(words, project)
    if program in SHELL_TOOLS or PLACEHOLDER in program:
        return []
    if "/" in program:
        return [] if (project.root / program).exists() else [f"no program {program}"]
    return [
        f"unknown command {program} (not a console script of pyproject.toml nor a known tool; if it is output, "
        f"show it in a console block with $ prompts)"
    ]


def command_problems(doc: Doc, project: Project) -> list[str]:
    """Every problem of the commands in ``doc``'s command blocks and inline command spans."""
    problems = []
    for block in doc.blocks:
        if not is_command_block(block, project):
            continue
        for line, text in block_lines(block):
            try:
                commands = split_commands(text)
            except ValueError as error:
                problems.append(f"{doc.name}:{line}: cannot split the command ({error}): {text.strip()}")
                continue
            problems += [
                f"{doc.name}:{line}: {problem}" for words in commands for problem in check_words(words, project)
            ]
    for line, content, _, _ in inline_spans(doc):
        try:
            commands = split_commands(strip_prompt(content)[0])
        except ValueError:
            continue
        for words in commands:
            words = program_words(words)
            if len(words) >= 2 and (words[0] in project.scripts or words[0] in INLINE_PROGRAMS):
                problems += [f"{doc.name}:{line}: {problem}" for problem in check_words(words, project, inline=True)]
    return problems


# ---------------------------------------------------------------------------------------------------------
# Params keys in prose and YAML blocks; python blocks; links


def params_problems(doc: Doc, project: Project) -> list[str]:
    sections = "|".join(re.escape(section) for section in project.params)
    key_span = re.compile(rf"^(?:{sections})(?:\.[A-Za-z_]\w*)+(?=$|[\s:=,])")
    problems = []
    for line, content, _, _ in inline_spans(doc):
        match = key_span.match(content)
        if (
            match
            and match.group(0).rsplit(".", 1)[1].lower() not in FILE_SUFFIXES
            and param_missing(project.params, match.group(0))
        ):
            problems.append(f"{doc.name}:{line}: {match.group(0)} is not a key of params.yaml")
    for block in doc.blocks:
        if block.lang not in YAML_LANGS:
            continue
        try:
            fragment = yaml.safe_load("\n".join(block.lines))
        except yaml.YAMLError as error:
            problems.append(f"{doc.name}:{block.line}: the YAML block does not parse: {error}")
            continue
        if not isinstance(fragment, dict) or not fragment or not set(fragment) <= set(project.params):
            continue

        def walk(node, known, prefix, block=block):
            for key, value in node.items():
                name = f"{prefix}{key}"
                if not isinstance(known, dict) or key not in known:
                    line = block.line + next(
                        (i for i, text in enumerate(block.lines) if re.match(rf"\s*{re.escape(str(key))}\s*:", text)), 0
                    )
                    problems.append(f"{doc.name}:{line}: {name} is not a key of params.yaml")
                elif isinstance(value, dict) and isinstance(known[key], dict):
                    walk(value, known[key], name + ".")

        walk(fragment, project.params, "")
    return problems


def python_problems(doc: Doc, project: Project) -> list[str]:
    problems = []
    for block in doc.blocks:
        if block.lang not in PYTHON_LANGS:
            continue
        source = "\n".join(block.lines)
        if block.lang == "pycon" or source.lstrip().startswith(">>>"):
            source = "\n".join(
                re.sub(r"^(>>>|\.\.\.) ?", "", line) for line in block.lines if line.startswith((">>>", "..."))
            )
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            problems.append(f"{doc.name}:{block.line + (error.lineno or 1) - 1}: python block: {error.msg}")
            continue
        for node in ast.walk(tree):
            line = block.line + getattr(node, "lineno", 1) - 1
            if isinstance(node, ast.Import):
                problems += [
                    f"{doc.name}:{line}: python block imports {alias.name}, which cannot be found"
                    for alias in node.names
                    if module_spec(alias.name, project.root) is None
                ]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                spec = module_spec(node.module, project.root)
                if spec is None:
                    problems.append(f"{doc.name}:{line}: python block imports {node.module}, which cannot be found")
                elif in_repo(spec, project.root) and spec.origin.endswith(".py"):
                    defined = top_level_names(Path(spec.origin))
                    for alias in node.names:
                        if (
                            alias.name != "*"
                            and alias.name not in defined
                            and module_spec(f"{node.module}.{alias.name}", project.root) is None
                        ):
                            problems.append(
                                f"{doc.name}:{line}: python block imports {alias.name} from "
                                f"{node.module}, which does not define it"
                            )
    return problems


def top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {name.id for name in ast.walk(target) if isinstance(name, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.If, ast.Try)):
            for child in ast.walk(node):
                if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                    names.add(child.name)
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    names |= {(alias.asname or alias.name).split(".")[0] for alias in child.names}
                elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
    return names


LINK = re.compile(r"\]\(\s*(<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]^][^\]]*\]:\s*<?(\S+?)>?(?:\s|$)", re.M)  # not footnotes ([^1]:)
HTML_LINK = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def link_problems(doc: Doc, root: Path = REPO) -> list[str]:
    prose = doc.prose
    for _, _content, start, end in inline_spans(doc):  # links inside code spans are code
        prose = prose[:start] + re.sub(r"[^\n]", " ", prose[start:end]) + prose[end:]
    targets = [
        (m.start(1), m.group(1).strip("<>"))
        for pattern in (LINK, REFERENCE, HTML_LINK)
        for m in pattern.finditer(prose)
    ]
    problems, slugs = [], {}
    for offset, target in sorted(targets):
        line = doc.line_of(offset)
        if not target or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//", target):
            continue  # a URL: http(s), mailto, ...
        path_part, _, anchor = (unquote(part) for part in target.partition("#"))
        path_part = path_part.split("?")[0]
        if not path_part:
            path = None
        else:
            path = (root / path_part.lstrip("/")) if path_part.startswith("/") else (doc.folder / path_part)
            if not path.exists():
                problems.append(f"{doc.name}:{line}: link target {target} does not exist")
                continue
        if anchor and (path is None or path.suffix.lower() == ".md"):
            if path is None:
                found = slugs.setdefault(None, heading_slugs(doc))
            else:
                key = path.resolve()
                if key not in slugs:
                    slugs[key] = heading_slugs(parse_doc(path.read_text(), str(path), path.parent))
                found = slugs[key]
            if anchor.lower() not in found:
                problems.append(
                    f"{doc.name}:{line}: link {target}: no heading #{anchor} in "
                    f"{'this file' if path is None else path_part}"
                )
    return problems


# ---------------------------------------------------------------------------------------------------------
# The tests


def doc_files(root: Path = REPO) -> list[Path]:
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    return files + sorted((root / "docs").rglob("*.md"))


def link_files(root: Path = REPO) -> list[Path]:
    return doc_files(root) + [root / name for name in ("BENCHMARKS.md", "CHANGELOG.md") if (root / name).is_file()]


def read_doc(path: Path, root: Path = REPO) -> Doc:
    return parse_doc(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix(), path.parent)


def ids(paths):
    return [path.relative_to(REPO).as_posix() for path in paths]


@pytest.fixture(scope="module")
def project():
    return load_project()


def report(problems: list[str]) -> str:
    by_line = sorted(problems, key=lambda problem: int(problem.split(":")[1]))
    return f"{len(problems)} stale item(s) in the docs:\n" + "\n".join(by_line)


@pytest.mark.parametrize("path", doc_files(), ids=ids(doc_files()))
def test_commands_use_existing_scripts_modules_options_stages_and_params(path, project):
    problems = command_problems(read_doc(path), project)
    assert not problems, report(problems)


@pytest.mark.parametrize("path", doc_files(), ids=ids(doc_files()))
def test_params_keys_named_in_the_docs_are_in_params_yaml(path, project):
    problems = params_problems(read_doc(path), project)
    assert not problems, report(problems)


@pytest.mark.parametrize("path", doc_files(), ids=ids(doc_files()))
def test_python_blocks_parse_and_import_what_exists(path, project):
    problems = python_problems(read_doc(path), project)
    assert not problems, report(problems)


@pytest.mark.parametrize("path", link_files(), ids=ids(link_files()))
def test_relative_links_and_images_resolve(path):
    problems = link_problems(read_doc(path))
    assert not problems, report(problems)


def test_the_docs_are_found():
    assert REPO / "README.md" in doc_files() and any(path.parent.name == "docs" for path in doc_files())


def test_the_colorize_command_line_is_read_from_its_help(project):
    module, cli = project.scripts["colorize"]
    assert module == "colorizer.apps.colorize"
    assert {"-o", "--output", "--saturation", "--model", "-h", "--help"} <= cli.options
    assert ("-o", "--output") in cli.required and ("--model",) not in cli.required


BAD_DOC = """\
# An example

## Colour it

```bash
colorize in/ -o out/ --tempreature 0.5
dvc repro trian && dvc exp run -S train.epoch=3 -S train.epochs=3
$ dvc reproduce
python -m colorizer.colourise in/ -o out/
python benchmarks/nope.py
colorize in/ \\
  --saturation 1.2 --sat 1
KERAS_BACKEND=jax python -m stages.train data/prepared
mlflow uii
pip install -c constraints.txt -e '.[gpus]'
colourize in/ -o out/
```

Set `prepare.imagez` but `train.py`, `train.epochs: 3`, `train: train.epoch is wrong` are fine; so are
`dvc repro train` and `colorize in/ -o out/ --saturation 1.2`, but not `dvc exp run -S export.temprature=1`.

```
samples -> prepared     (not a command block)
```

```yaml
train:
  epochz: 3
```

```python
from colorizer.apps.colorize import parse_args, no_such_name
import no_such_module_anywhere
```

A [broken link](docs/nope.md), ![a missing image](images/nope.png "title"), a [bad anchor](#no-such-section),
and good ones: [here](#colour-it), [params](params.yaml), [a URL](https://example.com/x.md), `[code](nope.md)`.
"""


def test_the_checker_reports_bad_flags_stages_keys_and_links(project):
    doc = parse_doc(BAD_DOC, "example.md", REPO)
    problems = (
        command_problems(doc, project)
        + params_problems(doc, project)
        + python_problems(doc, project)
        + link_problems(doc)
    )
    expected = [
        "example.md:6: colorize has no option --tempreature",
        "example.md:7: dvc repro: trian is not a stage of dvc.yaml",
        "example.md:7: dvc exp run: -S train.epoch=3: train.epoch is not a key of params.yaml",
        "example.md:8: dvc has no command reproduce",
        "example.md:9: python -m colorizer.colourise: no module colorizer.colourise",
        "example.md:10: python: no script benchmarks/nope.py",
        "example.md:11: colorize has no option --sat (argparse takes it as --saturation: write it in full)",
        "example.md:11: colorize needs -o / --output",
        "example.md:13: python -m stages.train takes 6 paths",
        "example.md:14: mlflow has no command uii",
        "example.md:15: pip install: pyproject.toml has no extra [gpus]",
        "example.md:16: unknown command colourize",
        "example.md:20: dvc exp run: -S export.temprature=1: export.temprature is not a key of params.yaml",
        "example.md:19: prepare.imagez is not a key of params.yaml",
        "example.md:28: train.epochz is not a key of params.yaml",
        "example.md:32: python block imports no_such_name from colorizer.apps.colorize, which does not define it",
        "example.md:33: python block imports no_such_module_anywhere, which cannot be found",
        "example.md:36: link target docs/nope.md does not exist",
        "example.md:36: link target images/nope.png does not exist",
        "example.md:36: link #no-such-section: no heading #no-such-section in this file",
    ]
    missing = [text for text in expected if not any(problem.startswith(text) for problem in problems)]
    unexpected = [problem for problem in problems if not any(problem.startswith(text) for text in expected)]
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}\nall: {problems}"


def test_commands_are_split_like_a_shell_would():
    assert split_commands("A=1 dvc repro train && colorize x -o y | tee log; echo 'a && b' 2>&1 > out") == [
        ["A=1", "dvc", "repro", "train"],
        ["colorize", "x", "-o", "y"],
        ["tee", "log"],
        ["echo", "a && b"],
    ]
    assert program_words(["env", "A=1", "time", "dvc", "repro"]) == ["dvc", "repro"]
    block = Block("console", 10, ["$ dvc repro \\", "> train   # the stage", "output line", "(.venv) $ dvc dag"])
    assert block_lines(block) == [(10, "dvc repro  train   "), (13, "dvc dag")]
    assert strip_comment("colorize 'a # b' -o c  # comment") == "colorize 'a # b' -o c  "
    assert tokens("colorize x --model runs:/<run id>/model") == [
        "colorize",
        "x",
        "--model",
        f"runs:/{PLACEHOLDER}/model",
    ]


def test_headings_become_githubs_anchors():
    doc = parse_doc(
        "# Colour your photographs: `colorize`\n## Several machines\n## Several machines\n"
        "```\n# not a heading\n```\n## [Linked](x.md) *and* (more)!\n",
        "x.md",
        REPO,
    )
    assert heading_slugs(doc) == {
        "colour-your-photographs-colorize",
        "several-machines",
        "several-machines-1",
        "linked-and-more",
    }
