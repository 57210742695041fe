"""Fine-tuning: a training that starts from the weights of a trained network (``train.init_from``) rather than
from random ones.

``train.init_from`` is null (train from scratch), a ``.keras`` file inside the start folder that dvc.yaml
gives train (``models/start``, a dependency of the stage, so a new file there retrains), or an MLflow model
URI: ``models:/colorizer@champion``, ``models:/colorizer/3``, ``models:/colorizer/latest``,
``runs:/<run id>/model``. The file may be train's ``network.keras`` or export's ``colorizer.keras``: they hold
the same layers, and only the learnt weights are copied (`copy_weights`). The read-out (export's
temperature, rebalancing and saturation, and the colour-rarity table that train computes from its own data)
is not learnt, so it stays as a training from scratch would have it.

The network that train's params build must be the parent's: `check_architecture` names the params that
differ (read from the parent's layers, `architecture`), or else the first layer whose weights differ.

train finds the parent (`locate_start`), loads and checks it before any training work (`start_network`),
and names it exactly in what a checkpoint must match to be resumed (`with_parent`).
"""

import contextlib
import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import keras

from colorizer import params as P
from colorizer.inference.predict import takes_hints
from colorizer.tracking import registry
from colorizer.training.cluster import SOLO, Group

# The MLflow model URIs a training can start from (MLflow resolves them against the tracking store).
URI_SCHEMES = ("models:/", "runs:/")
URI_FORMS = "models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/latest or runs:/<run id>/<path>"
# The params that decide the network's layers: what `architecture` reads back from a saved network.
ARCHITECTURE = ("arch", "head", "members", "hints", "global_context", "width")


def is_uri(spec: str) -> bool:
    return spec.startswith(URI_SCHEMES)


def check_spec(params: dict, section: str, key: str) -> str | None:
    """``init_from`` as params.yaml gives it: None (null, or an empty string) for a training from scratch, a
    ``.keras`` path, or an MLflow model URI (`URI_SCHEMES`)."""
    value = P.get(params, section, key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise P.ParamError(
            f"{section}.{key} must be null, a .keras file or an MLflow model URI ({URI_FORMS}); got {value!r}"
        )
    if is_uri(value):
        rest = value.split(":/", 1)[1].strip("/")
        if not rest or (value.startswith("runs:/") and "/" not in rest):
            raise P.ParamError(
                f"{section}.{key}: {value!r} is not a complete MLflow model URI; expected one of {URI_FORMS}"
            )
        return value
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", value):
        raise P.ParamError(f"{section}.{key}: {value!r}: the MLflow model URIs a training starts from are {URI_FORMS}")
    if not value.endswith(".keras"):
        raise P.ParamError(
            f"{section}.{key} must be a .keras file (models/network.keras or "
            f"models/colorizer.keras copied into models/start/) or an MLflow model URI; got {value!r}"
        )
    return value


def local_file(spec: str, folder: Path | str, section: str = "train", key: str = "init_from") -> Path:
    """The ``.keras`` file ``spec`` names, once it is known to be a file inside ``folder``: the folder dvc.yaml
    tracks as train's dependency, so that changing the parent reruns the training (a file elsewhere would not,
    and this pipeline's own models/*.keras are the training's outputs: depending on them is a cycle)."""
    path, folder = Path(spec), Path(folder)
    inside = path.resolve().is_relative_to(folder.resolve())
    if not inside:
        raise P.ParamError(
            f"{section}.{key}: {spec} is outside {folder.as_posix()}/, the folder dvc.yaml tracks "
            f"as train's dependency (so that a new parent retrains); copy it there: "
            f"cp {spec} {folder.as_posix()}/{path.name} and set {section}.{key}: "
            f"{folder.as_posix()}/{path.name}"
        )
    if not path.is_file():
        raise P.ParamError(f"{section}.{key}: no file {spec}")
    return path


@dataclass
class Parent:
    """The network a training starts from, and what the MLflow run records about it (`tags`)."""

    network: object  # the loaded keras.Model
    tags: dict = field(default_factory=dict)
    model_id: str | None = None  # MLflow's logged model, for the run's model input (lineage)


def sha256(path: Path | str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def from_file(path: Path | str) -> Parent:
    """The parent in a ``.keras`` file (`local_file`)."""
    from colorizer.inference.loading import load_model

    try:
        network = load_model(path)
    except Exception as error:  # Keras raises many types for a file that is not a model
        from colorizer.tracking.store import first_line

        raise P.ParamError(
            f"train.init_from: {path} is not a Keras model this project can load: {first_line(error)}"
        ) from None
    return Parent(network, {"init_from": str(path), "init_from.sha256": sha256(path)})


def resolve_uri(uri: str) -> tuple[str, dict, str | None]:
    """``uri`` pinned to what it names now (an alias or ``latest`` moves; the version it pointed to when the
    training started does not), the tags that say which model that is, and its MLflow logged-model id."""
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    client = MlflowClient()
    tags = {"init_from": uri}
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").partition("/")
        experiment_id = client.get_run(run_id).info.experiment_id  # an unknown run: an error here
        tags["init_from.run_id"] = run_id
        model_id = None
        with contextlib.suppress(Exception):  # a model logged by MLflow 2 has no logged-model entry
            import mlflow

            found = mlflow.search_logged_models(
                experiment_ids=[experiment_id],
                filter_string=f"source_run_id = '{run_id}' AND name = '{path}'",
                order_by=[{"field_name": "creation_time", "ascending": False}],
                max_results=1,
                output_format="list",
            )
            model_id = found[0].model_id if found else None
        if model_id:
            tags["init_from.model_id"] = model_id
        return uri, tags, model_id
    found = get_model_name_and_version(client, uri)
    if len(found) == 1:  # models:/<model id>
        model_id = found[0]
        logged = client.get_logged_model(model_id)
        tags |= {"init_from.model_id": model_id, "init_from.run_id": logged.source_run_id}
        return uri, tags, model_id
    name, version = found
    registered = client.get_model_version(name, version)
    tags |= {
        "init_from.model_name": name,
        "init_from.model_version": str(version),
        "init_from.run_id": registered.run_id,
    }
    model_id = registry.model_id(registered)
    if model_id:
        tags["init_from.model_id"] = model_id
    return f"models:/{name}/{version}", tags, model_id


def from_mlflow(uri: str) -> Parent:
    """The parent logged in MLflow at ``uri``: export's pyfunc model, whose artifact ``network`` is the
    ``.keras`` file (`colorizer.tracking.logged_model.log_model`). Downloaded to a temporary folder (the
    tracking URI set already), loaded, the download removed. An unknown model or one without a Keras network is
    a `ParamError`."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from colorizer.tracking.store import first_line

    try:
        pinned, tags, model_id = resolve_uri(uri)
    except MlflowException as error:
        raise P.ParamError(
            f"train.init_from: no model {uri} in {mlflow.get_tracking_uri()}: {first_line(error)}"
        ) from None
    folder = Path(tempfile.mkdtemp(prefix="colorizer-parent-"))
    try:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=pinned, dst_path=str(folder)))
        except MlflowException as error:
            raise P.ParamError(f"train.init_from: cannot download {pinned}: {first_line(error)}") from None
        network = network_file(local, uri)
        if network.parent != local:
            tags["init_from.artifact"] = network.relative_to(local).as_posix()
        parent = from_file(network)
        tags = {**parent.tags, **tags}
        return Parent(parent.network, tags, model_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def network_file(model_dir: Path, uri: str) -> Path:
    """The ``.keras`` file of a downloaded MLflow model: the pyfunc model's artifact ``network`` (export's), or
    a model folder that is a bare ``.keras`` file."""
    if model_dir.is_file() and model_dir.suffix == ".keras":
        return model_dir
    from mlflow.models import Model

    try:
        flavors = Model.load(model_dir).flavors
    except Exception:
        flavors = {}
    artifact = flavors.get("python_function", {}).get("artifacts", {}).get("network", {}).get("path")
    if artifact and (model_dir / artifact).is_file():
        return model_dir / artifact
    raise P.ParamError(
        f"train.init_from: {uri} is not a colorizer logged by export (a pyfunc model whose "
        f"artifact 'network' is a .keras file)"
    )


def architecture(network: keras.Model) -> dict:
    """The params of train that built ``network``, read from its layers: ``arch``, ``head``, ``members``,
    ``hints``, ``global_context`` and (unet) ``width``."""
    from colorizer.network.readout import has_distribution_head

    names = [layer.name for layer in network.layers]
    if network.name == "seed":
        return {"arch": "seed", "head": "regression", "members": 1, "hints": False, "global_context": False}
    convs = [layer for layer in network.layers if type(layer).__name__ == "Conv2D"]
    members = sum(1 for name in names if re.fullmatch(r"m\d+_logits", name)) or 1
    return {
        "arch": "unet",
        "head": "distribution" if has_distribution_head(network) else "regression",
        "members": members,
        "hints": takes_hints(network),
        "global_context": any(name.endswith("context_mean") for name in names),
        "width": int(convs[0].filters) if convs else None,
    }


def wanted(cfg: dict) -> dict:
    """The part of `architecture` that train's checked params ``cfg`` give."""
    found = {key: cfg[key] for key in ARCHITECTURE}
    if cfg["arch"] == "seed":
        del found["width"]  # the article's network has its own widths
    return found


def _yaml(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def learnt_layers(network: keras.Model) -> list[keras.layers.Layer]:
    """``network``'s layers that have weights, in the order the network's code builds them."""
    return [layer for layer in network.layers if layer.weights]


def check_architecture(cfg: dict, parent: keras.Model, built: keras.Model, source: str) -> None:
    """A `ParamError` unless ``built`` (the network train's params ``cfg`` build) has ``parent``'s layers: the
    params that differ, by name, when they do; else the first layer whose weights differ."""
    theirs, ours = architecture(parent), wanted(cfg)
    different = [key for key in ours if theirs.get(key) != ours[key]]
    if different:
        was = ", ".join(f"train.{key}: {_yaml(theirs.get(key))}" for key in different)
        now = ", ".join(f"train.{key}: {_yaml(ours[key])}" for key in different)
        raise P.ParamError(
            f"train.init_from: {source} is a network of another architecture: it was trained with "
            f"{was}, but params.yaml has {now}; set those to the parent's, or train from scratch "
            f"with train.init_from: null"
        )
    mine, its = learnt_layers(built), learnt_layers(parent)
    for index, (a, b) in enumerate(zip(mine, its)):
        shapes_a, shapes_b = [tuple(w.shape) for w in a.weights], [tuple(w.shape) for w in b.weights]
        if type(a) is not type(b) or shapes_a != shapes_b:
            raise P.ParamError(
                f"train.init_from: {source} has other layers than the network train's params build: "
                f"its layer {b.name!r} ({type(b).__name__}, weights {shapes_b}) stands where train "
                f"builds {type(a).__name__} with weights {shapes_a} (learnt layer {index + 1} of "
                f"{len(mine)})"
            )
    if len(mine) != len(its):
        raise P.ParamError(
            f"train.init_from: {source} has {len(its)} layers with weights, the network train's "
            f"params build has {len(mine)}"
        )


def copy_weights(parent: keras.Model, network: keras.Model) -> int:
    """Set ``network``'s learnt (trainable) weights to ``parent``'s, layer by layer in build order (layer names
    differ between a saved network and one built in a process that built others); the read-out weights, which
    are not learnt, stay ``network``'s. Returns the number of arrays copied. The layers must match
    (`check_architecture`)."""
    copied = 0
    for mine, theirs in zip(learnt_layers(network), learnt_layers(parent)):
        for variable, value in zip(mine.weights, theirs.weights):
            if variable.trainable:
                variable.assign(value.numpy() if hasattr(value, "numpy") else value)
                copied += 1
    return copied


def locate_start(cfg: dict, folder: Path | str, group: Group = SOLO) -> Path | str | None:
    """Where the training starts from: None (from scratch), the ``.keras`` file inside ``folder`` (the start
    folder dvc.yaml tracks) or the MLflow model URI. Only the chief reaches MLflow, so a training of several
    processes starts from a file, which every process reads."""
    spec = cfg["init_from"]
    if spec is None:
        return None
    if is_uri(spec):
        if group.count > 1:
            raise P.ParamError(
                f"train.init_from: {spec}: a training of several processes starts from a file "
                f"every process can read; download the model's network into {Path(folder).as_posix()}/ "
                f"first (docs/fine-tuning.md)"
            )
        return spec
    return local_file(spec, folder)


def start_network(cfg: dict, source: Path | str) -> Parent:
    """The trained network ``cfg["init_from"]`` names, loaded and checked against the network train's params
    build (`check_architecture`), before any training work: ``source`` is the file (`local_file`) or the MLflow
    model URI (the tracking store connected already)."""
    from colorizer.network.builder import build

    parent = from_file(source) if isinstance(source, Path) else from_mlflow(source)
    built = build(
        cfg["arch"], cfg["width"], cfg["head"], cfg["global_context"], cfg["members"], with_hints=cfg["hints"]
    )
    check_architecture(cfg, parent.network, built, cfg["init_from"])
    return parent


def with_parent(cfg: dict, parent: Parent | Path | None) -> dict:
    """``cfg`` with ``init_from`` naming the parent exactly, for the fingerprint a checkpoint must match: a file
    by its content, a URI by the model version it resolved to."""
    if parent is None:
        return cfg
    if isinstance(parent, Path):
        return {**cfg, "init_from": f"{cfg['init_from']} sha256:{sha256(parent)}"}
    return {**cfg, "init_from": " ".join(f"{k}={v}" for k, v in sorted(parent.tags.items()))}


def start_line(cfg: dict, parent: Parent) -> str:
    """What the training starts from, in a line: the parent (and its registered version) and the learning
    rate of a fine-tuning."""
    version = parent.tags.get("init_from.model_version")
    return (
        f"starting from {cfg['init_from']}"
        + (f" (version {version})" if version is not None else "")
        + f", learning rate {cfg['init_learning_rate']:g}"
    )
