"""End to end: the real `dvc repro` in a temporary copy of the project, on small generated photographs, logging to
an `mlflow server` (conftest's `repro_project`, shared with test_scale_out.py)."""

import json
import re

import pytest
import yaml
from mlflow.tracking import MlflowClient
from test_model import colour_spread

from colorizer.inference.loading import load_model
from colorizer.native_logs import NATIVE_LOG
from colorizer.tracking import registry
from conftest import run, set_params, venv_env, write_photos

pytestmark = pytest.mark.slow  # end to end: `pytest -m "not slow"` leaves it out


STAGES = {"samples", "prepare", "train", "export", "evaluate", "render"}


def ran(result) -> set[str]:
    return set(re.findall(r"Running stage '(\w+)'", result.stdout))


class Changed:
    """A copy of the shared project to change (params, reruns, experiments), and the tracking server that its
    stages log to, as the first `dvc repro` did."""

    def __init__(self, root, uri):
        self.root, self.uri = root, uri

    def env(self, **extra) -> dict:
        return venv_env(MLFLOW_TRACKING_URI=self.uri, **extra)

    def run(self, cmd, check=True, **extra):
        return run(cmd, self.root, env=self.env(**extra), check=check)


@pytest.fixture(scope="module")
def changed(repro_project, tmp_path_factory):
    """The copy that the tests from `test_only_what_a_change_touches_reruns` on change, in this order."""
    return Changed(
        repro_project.copy(tmp_path_factory.mktemp("e2e-changed") / "project"), repro_project.server.alive().uri
    )


def test_repro_runs_every_stage_and_writes_every_output(repro_project):
    root, first = repro_project.root, repro_project.first
    assert ran(first) == STAGES
    # What the stages print is for people: no TensorFlow or CUDA log lines on a CPU machine, no warnings.
    printed = (first.stdout + first.stderr).splitlines()
    noise = [line for line in printed if NATIVE_LOG.match(line.encode()) or "Warning" in line or " INFO " in line]
    assert not noise, noise
    assert len(list((root / "data/samples").glob("*.png"))) == 8
    assert (root / "data/prepared/manifest.csv").exists()
    # The prepared data takes its space once: each file is a hard link into DVC's cache (.dvc/config).
    shards = list((root / "data/prepared").rglob("shard-*.npy"))
    assert shards and all(p.stat().st_nlink == 2 for p in shards)
    assert (root / "models/network.keras").stat().st_nlink == 2
    assert (root / "models/network.keras").stat().st_size > 0
    assert (root / "models/colorizer.keras").stat().st_size > 0
    prepare = json.loads((root / "metrics/prepare.json").read_text())
    assert prepare["used"] == 14 and prepare["skipped"] == 0
    train = json.loads((root / "metrics/train.json").read_text())
    assert train["epochs"] == 2 and train["val_loss"] > 0
    history = (root / "metrics/history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,val_loss,val_ab_mse,kept" and len(history) == 3
    kept = min(history[1:], key=lambda line: float(line.split(",")[2]))  # restore_best: the lowest val_loss
    assert [line.endswith(",1") for line in history[1:]] == [line == kept for line in history[1:]]
    assert train["kept_epoch"] == int(kept.split(",")[0])  # epochs count from 1 in every file
    assert train["val_ab_mse"] == pytest.approx(float(kept.split(",")[3]), rel=1e-4)
    assert train["val_loss"] == pytest.approx(float(kept.split(",")[2]), rel=1e-4)
    assert "seconds" not in train, "a timing differs every run: MLflow's, not a DVC metric"
    evaluation = json.loads((root / "metrics/eval.json").read_text())
    assert list(evaluation) == ["psnr", "ssim", "ab_mse", "colorfulness"]  # DVC's metrics: the model's
    assert all(isinstance(value, float) for value in evaluation.values())
    reference = json.loads((root / "metrics/eval_reference.json").read_text())
    assert set(reference) == {
        "images",
        "colorfulness_truth",
        "baseline_psnr",
        "baseline_ssim",
        "baseline_ab_mse",
        "baseline_colorfulness",
        "hinted_psnr",
        "nearest_point_psnr",
    }
    assert list(reference["hinted_psnr"]) == ["1", "2", "5", "10", "20", "50"]
    assert reference["images"] == prepare["test_images"]
    rows = (root / "metrics/eval_images.csv").read_text().splitlines()
    assert len(rows) == 1 + prepare["test_images"] and rows[0].startswith("image,psnr,ssim,ab_mse")
    gallery = root / "gallery"
    panels = sorted(p.name for p in gallery.glob("0*.png"))
    assert len(panels) == min(3, prepare["test_images"])
    assert (gallery / "contact_sheet.png").exists()
    page = (gallery / "index.html").read_text()
    assert all(name in page for name in panels) and "http" not in page
    run_id = json.loads((root / "models/mlflow-run.json").read_text())["run_id"]
    assert run_id in page and "arch unet, width 4" in page and page.count("PSNR ") == len(panels)
    # Shown at the photographs' own shape (48x40, stored at 32x32): three tiles 38 wide and the gaps.
    from PIL import Image

    assert Image.open(gallery / panels[0]).width == 3 * 38 + 2 * 6
    assert not list(root.glob("**/*.tmp")), "a temporary file was left behind"
    assert not (root / "checkpoints" / "train").exists(), "a finished training leaves no checkpoint"


def test_the_training_is_one_mlflow_run_with_params_metrics_model_and_gallery(repro_project):
    root = repro_project.root
    run_id = json.loads((root / "models/mlflow-run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=repro_project.server.alive().uri)
    found = client.get_run(run_id)
    assert found.data.params["arch"] == "unet" and found.data.params["epochs"] == "2"
    commit = found.data.tags["mlflow.source.git.commit"]
    # Named and described for a reader of the UI, which opens on training runs (not GenAI traces).
    assert found.info.run_name == f"repro-{commit[:7]}"
    assert (
        found.data.tags["mlflow.note.content"] == f"Trained by `dvc repro` at commit {commit[:12]}. "
        "params.yaml as committed."
    )
    experiment = client.get_experiment(found.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert experiment.tags["mlflow.note.content"].startswith("Colorization: one run per training")
    columns = json.loads(experiment.tags["mlflow.sharedViewState.colorizer"])["selectedColumns"]
    assert "metrics.`test_psnr`" in columns and all(
        c.split(".`")[1][:-1] in found.data.metrics for c in columns if c.startswith("metrics.")
    )
    # One point an epoch in each series, at steps 1, 2 as in history.csv (the kept epoch's figures have names of
    # their own); no step-0 copies of validation passes, no optimizer internals among the params.
    assert [[m.step for m in client.get_metric_history(run_id, k)] for k in ("val_loss", "val_ab_mse", "loss")] == [
        [1, 2]
    ] * 3
    assert not [k for k in found.data.metrics if k.startswith("validation_")]
    assert not [k for k in found.data.params if k.startswith("optimizer_")]
    dataset = client.get_run(run_id).inputs.dataset_inputs[0].dataset
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["prepare"]["outs"]
    assert (dataset.name, dataset.digest) == (
        "data/prepared",
        next(o["md5"] for o in lock if o["path"] == "data/prepared"),
    )
    for key in (
        "kept_val_loss",
        "kept_val_ab_mse",
        "kept_epoch",
        "train_seconds",
        "test_psnr",
        "test_ab_mse",
        "test_colorfulness",
        "test_baseline_psnr",
    ):
        assert key in found.data.metrics, key
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"gallery", "evaluation"} <= artifacts
    assert client.list_artifacts(run_id, "gallery")
    models = client.search_logged_models(experiment_ids=[found.info.experiment_id])
    assert any(m.source_run_id == run_id for m in models)


def test_only_what_a_change_touches_reruns(changed):
    root = changed.root
    status = changed.run(["dvc", "status"])
    assert "up to date" in status.stdout
    assert ran(changed.run(["dvc", "repro"])) == set()

    # prepare really reruns on a new training size (DVC's run cache once ignored keys named "size"), then a
    # return to the old one restores the old outputs from the run cache and the rest is up to date again.
    stored = json.loads((root / "metrics/prepare.json").read_text())["train_stored_size"]
    set_params(root, **{"prepare.train_size": [24, 24]})
    assert ran(changed.run(["dvc", "repro", "--single-item", "prepare"])) == {"prepare"}
    assert json.loads((root / "metrics/prepare.json").read_text())["train_stored_size"] == [48, 48] != stored
    set_params(root, **{"prepare.train_size": [32, 32]})
    assert "is cached" in changed.run(["dvc", "repro", "--single-item", "prepare"]).stdout
    assert json.loads((root / "metrics/prepare.json").read_text())["train_stored_size"] == stored
    assert "up to date" in changed.run(["dvc", "status"]).stdout

    set_params(root, **{"render.count": 2})
    assert ran(changed.run(["dvc", "repro"])) == {"render"}
    assert len(list((root / "gallery").glob("0*.png"))) == 2

    before = json.loads((root / "metrics/eval.json").read_text())["colorfulness"]
    set_params(root, **{"export.saturation": 1.5})
    assert ran(changed.run(["dvc", "repro"])) == {"export", "evaluate", "render"}
    assert json.loads((root / "metrics/eval.json").read_text())["colorfulness"] > before

    set_params(root, **{"train.epochs": 3})
    assert ran(changed.run(["dvc", "repro"])) == {"train", "export", "evaluate", "render"}
    assert json.loads((root / "metrics/train.json").read_text())["epochs"] == 3


def test_dvc_metrics_plots_and_experiments_work(changed):
    root = changed.root
    metrics = json.loads(changed.run(["dvc", "metrics", "show", "--json"]).stdout)
    assert "metrics/eval.json" in json.dumps(metrics)
    table = changed.run(["dvc", "metrics", "show"], COLUMNS="120").stdout.splitlines()
    assert table[0].split() == [
        "Path",
        "ab_mse",
        "colorfulness",
        "epochs",
        "kept_epoch",
        "psnr",
        "ssim",
        "val_ab_mse",
        "val_loss",
    ]
    assert max(map(len, table)) <= 120, "dvc metrics show must be readable at 120 columns"
    changed.run(["dvc", "plots", "show", "-o", "plots_out"])
    page = (root / "plots_out/index.html").read_text()
    assert "vegaEmbed(" in page and not re.search(r"<script[^>]+src=", page), "the plots page must work offline"
    plots = json.loads(changed.run(["dvc", "plots", "show", "--json"]).stdout)["data"]
    assert list(plots) == ["loss", "validation colour error", "colour hints"]  # no untitled duplicate
    changed.run(["dvc", "exp", "run", "-S", "train.epochs=1"])
    # The README's command: the metrics, then the params, that differ, at 120 columns (no file hashes).
    table = changed.run(
        ["dvc", "exp", "show", "--no-pager", "--only-changed", "--drop", "Created|epochs|.*/"], COLUMNS="120"
    ).stdout.splitlines()
    header = table[1].split()
    assert max(map(len, table)) <= 120 and header[:5] == ["Experiment", "val_loss", "val_ab_mse", "kept_epoch", "psnr"]
    shown = changed.run(["dvc", "exp", "show", "--json"]).stdout
    assert '"train.epochs": 1' in shown.replace("\n", "") or re.search(r'"epochs":\s*1\b', shown)
    client = MlflowClient(tracking_uri=changed.uri)
    runs = client.search_runs([client.get_experiment_by_name("colorization").experiment_id])
    assert any(r.data.tags.get("dvc.experiment") for r in runs), "the experiment's run is not named after it"


def test_each_export_is_a_candidate_version_with_its_own_figures_and_one_is_promoted(changed):
    """MLflow 3's model lifecycle: every export a version with @candidate, evaluate's figures linked to its
    logged model (never overwritten by a later export), the contact sheet on the model, and `colorize-promote`
    moving @champion, which `colorize --model models:/colorizer@champion` then colours with."""
    root = changed.root
    client = MlflowClient(tracking_uri=changed.uri)
    versions = {str(v.version): v for v in client.search_model_versions("name = 'colorizer'")}
    assert len(versions) >= 3  # the first repro, a re-export at saturation 1.5, a retraining, an experiment
    exported = json.loads((root / "models/mlflow-model.json").read_text())
    newest = versions[max(versions, key=int)]
    assert exported["version"] == str(newest.version) and exported["model_id"] == registry.model_id(newest)
    assert client.get_model_version_by_alias("colorizer", "candidate").version == newest.version
    figures = {}
    for version in versions.values():
        logged = client.get_logged_model(registry.model_id(version))
        linked = {m.key: m for m in logged.metrics}
        assert {"test_psnr", "test_ssim", "test_ab_mse", "test_colorfulness"} <= set(linked), version.version
        assert linked["test_psnr"].dataset_name == "data/prepared (test split)"
        figures[str(version.version)] = (logged.params["saturation"], linked["test_colorfulness"].value)
    # Each model keeps the figures measured on it: saturation 1.5's colourfulness is not the others'.
    assert len({colourful for _, colourful in figures.values()}) >= 2, figures
    evaluation = json.loads((root / "metrics/eval.json").read_text())
    assert figures[str(newest.version)][1] == pytest.approx(evaluation["colorfulness"], abs=1e-3)
    assert [a.path for a in client.list_logged_model_artifacts(registry.model_id(newest), "gallery")] == [
        "gallery/contact_sheet.png"
    ]

    listed = changed.run(["colorize-promote"]).stdout
    assert listed.split()[:6] == ["version", "PSNR", "SSIM", "ab", "MSE", "colourful"] and "@candidate" in listed
    refused = changed.run(["colorize-promote", "99"], check=False)
    assert refused.returncode == 1 and "colorizer has no version 99; its versions: 1, 2" in refused.stderr
    promoted = changed.run(["colorize-promote", "1"]).stdout
    assert "@champion -> colorizer version 1" in promoted
    assert str(client.get_model_version_by_alias("colorizer", "champion").version) == "1"  # a str over REST
    photo = write_photos(root / "mine", 1, size=(40, 48))[0]
    changed.run(["colorize", str(photo), "-o", "coloured", "--model", "models:/colorizer@champion", "-q"])
    assert (root / "coloured" / photo.name).stat().st_size > 0


def test_the_trained_colorizer_gives_a_uniform_photograph_one_colour(repro_project):
    """No fringe along the borders from a trained network either (the issue: within 2 Lab units)."""
    root = repro_project.root
    model = load_model(root / "models/colorizer.keras")
    for lightness in (25.0, 60.0):
        assert colour_spread(model, lightness, size=(96, 128)) < 2.0, lightness
