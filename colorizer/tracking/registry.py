"""The registered model `NAME` in MLflow's model registry: versions, aliases, and the command that promotes one.

Each export registers a new version of `NAME` and moves the alias ``candidate`` to it; evaluate links its test
metrics to the logged model behind that version (`colorizer.tracking.runs.log_model_metrics`), so every version
shows its own PSNR, SSIM, colour MSE and colourfulness in the registry and in the experiment's Models tab. A
person moves ``champion`` after a look at them::

    colorize-promote              # every version: its aliases, read-out and test metrics
    colorize-promote 3            # version 3's figures, then @champion moves to it

``models:/colorizer@champion`` is then what ``colorize --model``, ``colorize-studio --model`` and
``mlflow models serve -m`` take.
"""

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo

NAME = "colorizer"
CANDIDATE, CHAMPION = "candidate", "champion"
ABOUT = (
    "Colours grayscale photographs. Input: lightness L of Lab (0..100), float32 [n, H, W, 1], any H and W "
    "that are multiples of 8, or with colour hints [n, H, W, 4]: L, then a / 128, b / 128 of the hinted "
    "pixels and a mask (1 where hinted); output: the colour, ab / 128 in [-1, 1], float32 [n, H, W, 2]. "
    "Logged by the export stage of the colorizer pipeline (DVC + MLflow); each export is a new version "
    f"with the alias @{CANDIDATE}; `colorize-promote VERSION` moves @{CHAMPION}."
)
# The test metrics `colorize-promote` shows, in this order, with their headings.
SHOWN = (("test_psnr", "PSNR"), ("test_ssim", "SSIM"), ("test_ab_mse", "ab MSE"), ("test_colorfulness", "colourful"))


def register(logged: "ModelInfo", run_id: str, read_out: dict[str, Any]) -> str:
    """A new version of `NAME` for the logged model (``logged``: what ``log_model`` returns), described by its
    training and read-out, with the alias `CANDIDATE`; returns the version number. (MlflowClient's calls:
    ``log_model``'s own registration prints two lines to the terminal.)"""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        client.create_registered_model(NAME, description=ABOUT)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        client.update_registered_model(NAME, description=ABOUT)
    described = ", ".join(f"{k} {v}" for k, v in read_out.items())
    version = client.create_model_version(
        NAME,
        source=logged.model_uri,
        run_id=run_id,
        model_id=logged.model_id,
        description=f"Trained in MLflow run {run_id}. Read-out: {described}.",
        tags={f"export.{k}": str(v) for k, v in read_out.items()},
    )
    client.set_registered_model_alias(NAME, CANDIDATE, str(version.version))
    return str(version.version)


def model_id(version: "ModelVersion") -> str | None:
    """The id of the logged model behind a version: MLflow's SQL registry keeps it only in the source URI
    (``models:/<model id>``)."""
    if version.model_id:
        return version.model_id
    source = version.source or ""
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


def version_rows(client: "MlflowClient") -> list[dict[str, Any]]:
    """Every version of `NAME`, newest first: number, aliases, read-out and the linked test metrics."""
    rows = []
    for found in client.search_model_versions(f"name = '{NAME}'", order_by=["version_number DESC"]):
        version = client.get_model_version(NAME, str(found.version))  # a search's versions carry no aliases
        metrics, logged = {}, model_id(version)
        if logged:
            metrics = {m.key: m.value for m in client.get_logged_model(logged).metrics or ()}
        rows.append(
            {
                "version": str(version.version),
                "aliases": sorted(version.aliases),
                "read_out": {k.split(".", 1)[1]: v for k, v in version.tags.items() if k.startswith("export.")},
                "metrics": metrics,
                "run_id": version.run_id,
                "model_id": logged,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows of `version_rows` as a text table: version, test metrics, aliases, read-out."""
    head = ["version", *(title for _, title in SHOWN), "aliases", "read-out"]
    lines = [head]
    for row in rows:
        figures = [f"{row['metrics'][key]:.4g}" if key in row["metrics"] else "-" for key, _ in SHOWN]
        lines.append(
            [
                row["version"],
                *figures,
                " ".join(f"@{a}" for a in row["aliases"]) or "-",
                ", ".join(f"{k} {v}" for k, v in row["read_out"].items()) or "-",
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def promote(client: "MlflowClient", version: str, alias: str = CHAMPION) -> dict[str, Any]:
    """Move ``alias`` to ``version`` of `NAME`; returns that version's row (`version_rows`). ValueError naming
    the versions there are when it does not exist."""
    rows = version_rows(client)
    found = [row for row in rows if row["version"] == str(version)]
    if not found:
        there = ", ".join(row["version"] for row in reversed(rows)) or "none (run `dvc repro` to export one)"
        raise ValueError(f"{NAME} has no version {version}; its versions: {there}")
    client.set_registered_model_alias(NAME, alias, str(version))
    return next(row for row in version_rows(client) if row["version"] == str(version))


def main(argv: list[str] | None = None) -> int:
    """``colorize-promote``: list the versions, or move an alias to one; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="colorize-promote",
        description=f"List the versions of the registered model {NAME!r} with their test metrics, or move an "
        f"alias (@{CHAMPION} by default) to one of them. The tracking store is this project's "
        f"(mlflow.db) or MLFLOW_TRACKING_URI.",
    )
    parser.add_argument("version", nargs="?", help="the version to move the alias to (default: only list them)")
    parser.add_argument("--alias", default=CHAMPION, help=f"the alias to move (default {CHAMPION})")
    args = parser.parse_args(argv)

    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from colorizer.tracking import store

    try:
        store.connect()
        client = MlflowClient()
        if args.version is None:
            rows = version_rows(client)
            print(
                table(rows)
                if rows
                else f"{NAME} has no versions yet in {store.tracking_uri()}: run `dvc repro` to export one"
            )
            return 0
        row = promote(client, args.version, args.alias)
    except (ValueError, MlflowException, store.TrackingUnavailable) as error:
        print(f"colorize-promote: {store.first_line(error)}", file=sys.stderr)
        return 1
    print(table([row]))
    print(f"@{args.alias} -> {NAME} version {row['version']}: models:/{NAME}@{args.alias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
