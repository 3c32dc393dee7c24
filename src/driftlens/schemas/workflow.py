"""The workflow config's cross-key checks: what its JSON schema cannot express, in one function.

Snakemake validates ``config.yaml`` against ``workflow/schemas/config.schema.yaml`` (types, ranges, defaults); then
:func:`check_workflow_config` checks what spans keys: an experiment is trained or imported, its data set exists, the
epochs it names have checkpoints, its warm start suits its method, its layers and channels exist in its model
(:mod:`driftlens.schemas.layers`), keys renamed in this release are read. Every error is a
:class:`~driftlens.errors.ConfigError` that starts with the key. The workflow calls it at parse time, so a bad config
fails the dry run, and ``driftlens fetch`` calls it before it downloads anything.

Example:
    >>> config = {"targets": ["a"], "datasets": {}, "experiments": {}}
    >>> check_workflow_config(config)
    Traceback (most recent call last):
    ...
    driftlens.errors.ConfigError: targets: unknown experiment 'a'; the config has none
"""

import sys
from pathlib import Path

from driftlens.errors import ConfigError
from driftlens.schemas.layers import check_layers


def check_workflow_config(config: dict) -> None:
    """Run every cross-key check of a validated workflow config (renamed keys are moved to their new place first).

    Args:
        config (dict): The config after schema validation with defaults, as Snakemake holds it; changed in place
            only to read renamed keys.

    Raises:
        ConfigError: The first problem, naming its key.

    Example:
        >>> check_workflow_config({"targets": [], "datasets": {"d": {"kind": "imagefolder"}}, "experiments": {}})
        Traceback (most recent call last):
        ...
        driftlens.errors.ConfigError: datasets.d.source: an imagefolder data set needs a source, the folder of its images (one sub-folder per class)
    """
    read_renamed_keys(config)
    check_datasets(config["datasets"])
    for name in config["targets"]:
        if name not in config["experiments"]:
            known = ", ".join(config["experiments"]) or "none"
            raise ConfigError(f"targets: unknown experiment {name!r}; the config has {known}")
    for name, experiment in config["experiments"].items():
        check_experiment(name, experiment, config["datasets"])


WORKFLOW_SCHEMA = "workflow/schemas/config.schema.yaml"
"""The workflow config's JSON schema, relative to the workflow's folder (where the Snakefile and config.yaml are)."""


def read_workflow_config(path, schema=WORKFLOW_SCHEMA) -> dict:
    """Read a workflow config as Snakemake does: the YAML, the schema with its defaults, then every cross-key check.

    Args:
        path (str or Path): The config file, e.g. ``config.yaml``.
        schema (str or Path, optional): The schema. Default: :data:`WORKFLOW_SCHEMA`, relative to the working folder

    Returns:
        dict: The checked config, with the schema's defaults.

    Raises:
        ConfigError: An unreadable file, a missing schema, or a bad key (named first, after the file).

    Example:
        >>> read_workflow_config("config.yaml")["experiments"]["demo"]["model"]  # doctest: +SKIP
        'efficientnet_lite0'
    """
    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from driftlens.errors import schema_error_message

    if not Path(schema).is_file():
        raise ConfigError(f"no workflow schema at {schema}: run this in the workflow's folder (beside its Snakefile)")
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from err
    try:
        validate(config, str(schema), set_default=True)
    except WorkflowError as err:
        raise ConfigError(schema_error_message(err, source=str(path))) from None
    check_workflow_config(config)
    return config


def read_renamed_keys(config: dict) -> None:
    """Keys renamed in this release still work for one release, with a message: ``compare.probe_images`` is
    ``probe_images`` (the section named the workflow's change steps after the user's ``driftlens compare``).

    Example:
        >>> config = {"experiments": {"a": {"compare": {"probe_images": 12}, "probe_images": 256}}}
        >>> read_renamed_keys(config); config["experiments"]["a"]  # doctest: +SKIP
        {'probe_images': 12}
    """
    for name, experiment in config["experiments"].items():
        old = experiment.pop("compare", {})
        if "probe_images" in old:
            print(f"driftlens: experiments.{name}.compare.probe_images is deprecated and will be removed; write "
                  f"experiments.{name}.probe_images: {old['probe_images']}", file=sys.stderr)
            experiment["probe_images"] = old["probe_images"]


def check_datasets(datasets: dict) -> None:
    """An imagefolder data set names its image tree (``source``, used in place; ``resources/{name}/`` holds only
    what the workflow writes), and only an imagefolder data set takes ``skip_corrupt``.

    Example:
        >>> check_datasets({"t": {"kind": "textures", "skip_corrupt": True}})
        Traceback (most recent call last):
        ...
        driftlens.errors.ConfigError: datasets.t.skip_corrupt: only imagefolder data sets take it, not textures
    """
    for name, data in datasets.items():
        if data["kind"] == "imagefolder" and not data.get("source"):
            raise ConfigError(f"datasets.{name}.source: an imagefolder data set needs a source, the folder of its "
                              f"images (one sub-folder per class)")
        if data.get("skip_corrupt") and data["kind"] != "imagefolder":
            raise ConfigError(f"datasets.{name}.skip_corrupt: only imagefolder data sets take it, not "
                              f"{data['kind']}")


def check_experiment(name: str, experiment: dict, datasets: dict) -> None:
    """One experiment's cross-key checks: its source of checkpoints, its data set, its epochs, its warm start and its
    layers.

    Example:
        >>> check_experiment("a", {"stages": [{"epochs": 2}], "checkpoints": "runs/*.pt"}, {})
        Traceback (most recent call last):
        ...
        driftlens.errors.ConfigError: experiments.a: give stages (driftlens fine-tunes the model) or checkpoints (a run trained elsewhere), exactly one of them
    """
    check_source(name, experiment)
    key = f"experiments.{name}"
    if experiment.get("dataset") is not None and experiment["dataset"] not in datasets:
        raise ConfigError(f"{key}.dataset: {experiment['dataset']!r} is not a key of datasets ({', '.join(datasets)})")
    try:
        epochs = checkpoint_epochs(experiment)  # an imported experiment's files are found and labelled here, once
    except ConfigError as err:
        raise ConfigError(f"{key}.checkpoints: {err}") from None
    for where, listed in (("visualize.epochs", experiment["visualize"]["epochs"]),
                          ("features.epochs", experiment["features"]["epochs"])):
        unknown = sorted(set(listed) - set(epochs)) if isinstance(listed, list) else []
        if unknown:
            raise ConfigError(f"{key}.{where}: {unknown[0]} has no checkpoint (the epochs are {epoch_text(epochs)})")
    chosen = selection_epoch(experiment, epochs)
    if chosen is not None and chosen not in epochs:
        raise ConfigError(f"{key}.visualize.channels.epoch: {chosen} has no checkpoint (the epochs are "
                          f"{epoch_text(epochs)})")
    check_warm_start(name, experiment["visualize"])
    check_layers(name, experiment)


def check_source(name: str, experiment: dict) -> None:
    """An experiment is trained here (stages and a dataset) or imported (checkpoints, and a dataset or a probe
    folder), never both, with only the keys its kind takes (its files are found by :func:`check_experiment`).

    Example:
        >>> check_source("a", {"stages": [{"epochs": 1}], "reference": "imagenet", "key": None, "probe": None})
        Traceback (most recent call last):
        ...
        driftlens.errors.ConfigError: experiments.a.reference: only an experiment with checkpoints takes it
    """
    key = f"experiments.{name}"
    if ("stages" in experiment) == ("checkpoints" in experiment):
        raise ConfigError(f"{key}: give stages (driftlens fine-tunes the model) or checkpoints (a run trained "
                          f"elsewhere), exactly one of them")
    if "stages" in experiment:
        needless = [option for option in ("reference", "key", "probe") if experiment.get(option) is not None]
        if needless:
            raise ConfigError(f"{key}.{needless[0]}: only an experiment with checkpoints takes it")
        if "dataset" not in experiment:
            raise ConfigError(f"{key}.dataset: an experiment with stages trains on a data set; name one")
        return
    if ("dataset" in experiment) == (experiment.get("probe") is not None):
        raise ConfigError(f"{key}: give the probe images as dataset (its validation images) or as probe (a folder), "
                          f"exactly one of them")
    if experiment.get("probe") is not None and not Path(experiment["probe"]).expanduser().is_dir():
        raise ConfigError(f"{key}.probe: {experiment['probe']} is not a folder")
    if experiment["visualize"]["method"] == "maco" and "dataset" not in experiment:
        raise ConfigError(f"{key}.visualize.method: maco needs a data set's spectrum; give a dataset or another method")
    training_only = [option for option in ("batch_size", "augment", "seed", "num_workers") if option in experiment]
    if training_only:
        raise ConfigError(f"{key}.{training_only[0]}: a training setting; an experiment with checkpoints takes none")


def check_warm_start(name: str, visualize: dict) -> None:
    """A warm start only for a method that can continue from given images (torch is imported only to check one).

    Example:
        >>> check_warm_start("a", {"warm_start": False, "method": "maco"})
    """
    if visualize["warm_start"]:
        from driftlens.optvis.methods import WARM_START_METHODS

        if visualize["method"] not in WARM_START_METHODS:
            raise ConfigError(f"experiments.{name}.visualize.warm_start: {visualize['method']} renders cannot "
                              f"continue from earlier renders; warm starts are for {', '.join(WARM_START_METHODS)}")


def imported_series(experiment: dict) -> dict:
    """``{epoch: file or "imagenet"}`` of an imported experiment (the rule is :mod:`driftlens.checkpoints.series`).

    Example:
        >>> imported_series({"checkpoints": ["a/epoch_1.pt", "a/epoch_2.pt"], "reference": None})  # doctest: +SKIP
        {0: 'a/epoch_1.pt', 2: 'a/epoch_2.pt'}
    """
    from driftlens.checkpoints.series import checkpoint_series, find_checkpoints

    return checkpoint_series(find_checkpoints(experiment["checkpoints"]), experiment["reference"])


def checkpoint_epochs(experiment: dict) -> list[int]:
    """Every epoch with a checkpoint: 0 to the end of the last stage, or an imported experiment's series'.

    Example:
        >>> checkpoint_epochs({"stages": [{"epochs": 2}, {"epochs": 1}]})
        [0, 1, 2, 3]
    """
    if "checkpoints" in experiment:
        return list(imported_series(experiment))
    return list(range(sum(stage["epochs"] for stage in experiment["stages"]) + 1))


def epoch_text(epochs) -> str:
    """``0 to N`` for consecutive epochs from 0, else the list.

    Example:
        >>> epoch_text([0, 1, 2]), epoch_text([0, 5, 9])
        ('0 to 2', '0, 5, 9')
    """
    epochs = list(epochs)
    return f"0 to {epochs[-1]}" if epochs == list(range(epochs[-1] + 1)) else ", ".join(map(str, epochs))


def selection_epoch(experiment: dict, epochs=None) -> int | None:
    """The screen epoch that most_changed channels are chosen from (default: the last of ``epochs``, which default
    to :func:`checkpoint_epochs`), or None for other specs.

    Example:
        >>> selection_epoch({"stages": [{"epochs": 3}], "visualize": {"channels": {"most_changed": 2,
        ...                                                                       "least_changed": 1}}})
        3
    """
    channels = experiment["visualize"]["channels"]
    if not isinstance(channels, dict) or "most_changed" not in channels:
        return None
    if "epoch" in channels:
        return channels["epoch"]
    return (checkpoint_epochs(experiment) if epochs is None else epochs)[-1]
